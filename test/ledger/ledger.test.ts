import { chmodSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, verifyChain, type StationEvent } from '../../protocol/index.ts';
import { LEDGER_CACHE_KIB, Ledger, LedgerUnavailableError } from '../../edge/ledger/ledger.ts';
import { QuotaLedger } from '../../edge/ledger/quota-ledger.ts';
import { tempDir } from '../helpers/tmp.ts';
import { bigHeartbeat, heartbeat } from '../helpers/events.ts';

// 2026-11-23 10:00 in Shanghai.
const T0 = Date.parse('2026-11-23T02:00:00.000Z');
const DAY = 86_400_000;

let tmp: ReturnType<typeof tempDir>;
let clock: ManualClock;
let ledger: Ledger;
let quota: QuotaLedger;

beforeEach(() => {
  tmp = tempDir();
  clock = new ManualClock(T0);
  ledger = Ledger.open({ path: `${tmp.dir}/station.db`, clock, timezone: 'Asia/Shanghai' });
  quota = new QuotaLedger(ledger);
});

afterEach(() => {
  ledger.close();
  tmp.cleanup();
});

const claimReq = (riderId: string) => ({ riderId, compartment: 'cold' as const, dispenserId: 'disp-1', commandTtlMs: 10_000 });

function allEvents(): StationEvent[] {
  return ledger.eventsAfter(0, 1_000_000);
}

describe('the station ledger', () => {
  it('opens a seven-day window on check-in and answers already_checked_in inside it', () => {
    const first = quota.checkin('r1');
    expect(first.outcome).toEqual({ kind: 'opened', window: { from: '2026-11-23', to: '2026-11-29' } });
    clock.advance(3 * DAY);
    expect(quota.checkin('r1').outcome).toEqual({ kind: 'already_checked_in', window: { from: '2026-11-23', to: '2026-11-29' } });
    clock.advance(4 * DAY); // 2026-11-30 = d+7: a new window may open
    expect(quota.checkin('r1').outcome).toEqual({ kind: 'opened', window: { from: '2026-11-30', to: '2026-12-06' } });
    expect(allEvents().map((e) => e.type)).toEqual(['checkin', 'checkin']);
  });

  it('refuses a claim without a check-in and a second claim on the same day', () => {
    expect(quota.reserve(claimReq('r1')).kind).toBe('not_checked_in');
    quota.checkin('r1');
    const r = quota.reserve(claimReq('r1'));
    expect(r.kind).toBe('granted');
    expect(quota.reserve(claimReq('r1')).kind).toBe('already_claimed_today');
    clock.advance(DAY);
    expect(quota.reserve(claimReq('r1')).kind).toBe('granted');
  });

  it('stores the reservation as reserved, durably, and dispensing before anything is sent', () => {
    quota.checkin('r1');
    const r = quota.reserve(claimReq('r1'));
    if (r.kind !== 'granted') throw new Error('expected granted');
    // A second connection (another process would see the same) reads the committed row.
    const other = new Database(`${tmp.dir}/station.db`, { readonly: true });
    const row = other.prepare('SELECT status, expires_at FROM claims WHERE id = ?').get(r.claim.id) as { status: string; expires_at: number };
    expect(row).toEqual({ status: 'reserved', expires_at: T0 + 10_000 });
    expect(quota.markSent(r.claim.id)).toBe(true);
    expect(other.prepare('SELECT status FROM claims WHERE id = ?').get(r.claim.id)).toEqual({ status: 'dispensing' });
    expect(quota.markSent(r.claim.id)).toBe(false); // sent once only
    other.close();
    expect(ledger.db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    expect(ledger.db.pragma('journal_mode', { simple: true })).toBe('wal');
  });

  it("keeps SQLite's own 2 MiB page cache, not better-sqlite3's 16 MiB build default (resident memory, docs/performance.md)", () => {
    expect(LEDGER_CACHE_KIB).toBe(2048);
    expect(ledger.db.pragma('cache_size', { simple: true })).toBe(-LEDGER_CACHE_KIB);
    // A plain better-sqlite3 connection has the build's default: the pragma above is what bounds it.
    const plain = new Database(':memory:');
    expect(plain.pragma('cache_size', { simple: true })).toBe(-16000);
    plain.close();
    const reader = Ledger.open({ path: `${tmp.dir}/station.db`, clock, timezone: 'Asia/Shanghai', readonly: true });
    expect(reader.db.pragma('cache_size', { simple: true })).toBe(-LEDGER_CACHE_KIB);
    reader.close();
  });

  it('gives the quota back when a claim is released, and holds it when committed or unknown', () => {
    quota.checkin('r1');
    const a = quota.reserve(claimReq('r1'));
    if (a.kind !== 'granted') throw new Error('expected granted');
    quota.settle(a.claim.id, 'released', { reason: 'jam' });
    const b = quota.reserve(claimReq('r1'));
    expect(b.kind).toBe('granted');
    if (b.kind !== 'granted') return;
    quota.markSent(b.claim.id);
    quota.settle(b.claim.id, 'unknown');
    expect(quota.reserve(claimReq('r1')).kind).toBe('already_claimed_today');
    expect(allEvents().map((e) => e.type)).toEqual(['checkin', 'claim.released', 'claim.unknown']);
  });

  it('settles an unknown claim once, with claim.resolved and the committed event on the claim day', () => {
    quota.checkin('r1');
    const a = quota.reserve(claimReq('r1'));
    if (a.kind !== 'granted') throw new Error('expected granted');
    quota.markSent(a.claim.id);
    quota.settle(a.claim.id, 'unknown');
    clock.advance(DAY); // the late report arrives the next day
    expect(quota.settle(a.claim.id, 'committed', { by: 'query' }).kind).toBe('settled');
    expect(quota.settle(a.claim.id, 'committed').kind).toBe('unchanged');
    expect(quota.settle(a.claim.id, 'released').kind).toBe('unchanged');
    const events = allEvents();
    expect(events.map((e) => e.type)).toEqual(['checkin', 'claim.unknown', 'claim.resolved', 'claim.committed']);
    expect(events.at(-1)!.day).toBe('2026-11-23');
    expect(events.at(-1)!.data).toEqual({ claimId: a.claim.id, riderId: 'r1', compartment: 'cold', dispenserId: 'disp-1' });
  });

  it('keeps an unbroken hash chain with contiguous sequence numbers', () => {
    for (let i = 0; i < 50; i++) {
      quota.checkin(`r${i}`);
      ledger.append('station.heartbeat', heartbeat({ uptimeS: i }));
    }
    const events = allEvents();
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(verifyChain(events).ok).toBe(true);
    expect(ledger.verifyStoredChain()).toEqual({ ok: true, events: 100, headSeq: 100 });
  });

  it('rolls back the state change and its event together when the transaction fails', () => {
    quota.checkin('r1');
    expect(() =>
      ledger.tx((t) => {
        t.append('station.heartbeat', heartbeat());
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(ledger.head().seq).toBe(1);
    ledger.append('station.heartbeat', heartbeat());
    expect(ledger.verifyStoredChain().ok).toBe(true);
  });

  it('never prunes an event the cloud has not acknowledged, and keeps the chain checkable', () => {
    for (let i = 0; i < 10; i++) ledger.append('station.heartbeat', heartbeat({ uptimeS: i }));
    clock.advance(40 * DAY);
    expect(ledger.pruneAcknowledged(clock.now())).toBe(0);
    ledger.setAckedSeq(6);
    expect(ledger.pruneAcknowledged(clock.now())).toBe(6);
    expect(ledger.eventsAfter(0, 100).map((e) => e.seq)).toEqual([7, 8, 9, 10]);
    ledger.setAckedSeq(10);
    expect(ledger.pruneAcknowledged(clock.now())).toBe(3); // the newest event always stays
    ledger.append('station.heartbeat', heartbeat());
    expect(ledger.head().seq).toBe(11);
    expect(ledger.verifyStoredChain()).toEqual({ ok: true, events: 2, headSeq: 11 });
  });

  it('acknowledgements only move forward and never past the head', () => {
    ledger.append('station.heartbeat', heartbeat());
    ledger.setAckedSeq(5);
    expect(ledger.ackedSeq()).toBe(1);
    ledger.setAckedSeq(0);
    expect(ledger.ackedSeq()).toBe(1);
    expect(ledger.backlog()).toBe(0);
  });

  it('refuses new claims with ledger_unavailable when the disk is full, recording nothing', () => {
    for (let i = 0; i < 400; i++) quota.checkin(`rider-${i}`);
    // SQLite's own page limit makes the database behave exactly like a full disk (SQLITE_FULL).
    ledger.db.pragma(`max_page_count = ${ledger.db.pragma('page_count', { simple: true }) as number}`);
    const granted: string[] = [];
    let err: unknown;
    for (let i = 0; i < 400 && !err; i++) {
      try {
        const r = quota.reserve(claimReq(`rider-${i}`));
        if (r.kind === 'granted') granted.push(r.claim.id);
      } catch (e) {
        err = e;
      }
    }
    expect(err).toBeInstanceOf(LedgerUnavailableError);
    expect((err as LedgerUnavailableError).code).toBe('ledger_unavailable');
    expect((err as LedgerUnavailableError).message).toMatch(/disk is full/);
    // Every claim that was granted is on disk; the refused one left nothing behind.
    expect(quota.countByStatus().reserved).toBe(granted.length);
    for (const id of granted) expect(quota.getClaim(id)?.status).toBe('reserved');
    expect(() => ledger.append('station.heartbeat', bigHeartbeat(5000))).toThrow(LedgerUnavailableError);
    expect(ledger.verifyStoredChain().ok).toBe(true);
  });

  it('refuses new claims with ledger_unavailable on a read-only database', () => {
    quota.checkin('r1');
    ledger.close();
    ledger = Ledger.open({ path: `${tmp.dir}/station.db`, clock, timezone: 'Asia/Shanghai', readonly: true });
    quota = new QuotaLedger(ledger);
    let err: unknown;
    try {
      quota.reserve(claimReq('r1'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LedgerUnavailableError);
    expect((err as LedgerUnavailableError).message).toMatch(/read-only/);
  });

  it('re-opening applies no migration twice and keeps the data', () => {
    quota.checkin('r1');
    ledger.close();
    ledger = Ledger.open({ path: `${tmp.dir}/station.db`, clock, timezone: 'Asia/Shanghai' });
    quota = new QuotaLedger(ledger);
    expect(quota.windowsOf('r1')).toEqual([{ from: '2026-11-23', to: '2026-11-29' }]);
    const versions = ledger.db.prepare('SELECT COUNT(*) AS n, COUNT(DISTINCT version) AS d FROM schema_migrations').get() as { n: number; d: number };
    expect(versions.n).toBe(versions.d);
  });

  it('makes a backup that opens as a consistent ledger', async () => {
    for (let i = 0; i < 30; i++) quota.checkin(`r${i}`);
    await ledger.backup(`${tmp.dir}/backup/station.db`);
    const copy = Ledger.open({ path: `${tmp.dir}/backup/station.db`, clock, timezone: 'Asia/Shanghai' });
    expect(copy.verifyStoredChain()).toEqual({ ok: true, events: 30, headSeq: 30 });
    copy.close();
  });

  it('keeps its folder, database and backups to the owner (0700 / 0600), whatever the umask', async () => {
    const old = process.umask(0o022);
    try {
      const other = Ledger.open({ path: `${tmp.dir}/private/station.db`, clock, timezone: 'Asia/Shanghai' });
      other.append('station.heartbeat', heartbeat());
      await other.backup(`${tmp.dir}/nightly/station.db`);
      other.close();
      const mode = (p: string) => statSync(`${tmp.dir}/${p}`).mode & 0o777;
      expect([mode('private'), mode('private/station.db'), mode('nightly'), mode('nightly/station.db')]).toEqual([0o700, 0o600, 0o700, 0o600]);
      for (const f of readdirSync(`${tmp.dir}/private`)) expect(mode(`private/${f}`), f).toBe(0o600);
    } finally {
      process.umask(old);
    }
  });

  it('leaves a shared sticky folder such as /tmp open to others when a ledger or backup is put straight in it', async () => {
    mkdirSync(`${tmp.dir}/shared`);
    chmodSync(`${tmp.dir}/shared`, 0o1777);
    const other = Ledger.open({ path: `${tmp.dir}/shared/station.db`, clock, timezone: 'Asia/Shanghai' });
    await other.backup(`${tmp.dir}/shared/backup.db`);
    other.close();
    expect(statSync(`${tmp.dir}/shared`).mode & 0o7777).toBe(0o1777);
    expect(statSync(`${tmp.dir}/shared/station.db`).mode & 0o777).toBe(0o600);
  });
});
