import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../protocol/index.ts';
import { Ledger } from '../../edge/ledger/ledger.ts';
import { tempDir } from '../helpers/tmp.ts';

const WRITER = new URL('./fixtures/writer.ts', import.meta.url).pathname;

function runWriter(path: string, prefix: string, mode = 'mixed'): { child: ReturnType<typeof spawn>; ready: Promise<void>; output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, path, prefix, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const ready = new Promise<void>((resolve, reject) => {
    const check = () => (out.includes('ready') ? resolve() : undefined);
    child.stdout!.on('data', check);
    child.on('exit', (code) => (mode === 'contend' ? resolve() : reject(new Error(`writer exited ${code}: ${err}`))));
  });
  return { child, ready, output: () => out };
}

function exited(child: ReturnType<typeof spawn>): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
}

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir('waystation-crash-');
});
afterAll(() => tmp.cleanup());

describe('the ledger across crashes', () => {
  it('reopens consistent with an unbroken chain after kill -9 at random moments', async () => {
    const path = `${tmp.dir}/crash.db`;
    let lastHead = 0;
    for (let round = 0; round < 6; round++) {
      const w = runWriter(path, `round${round}`);
      await w.ready;
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 300));
      w.child.kill('SIGKILL');
      await exited(w.child);

      const ledger = Ledger.open({ path, clock: systemClock, timezone: 'Asia/Shanghai' });
      const chain = ledger.verifyStoredChain();
      expect(chain.ok).toBe(true);
      if (!chain.ok) return;
      expect(chain.headSeq).toBeGreaterThan(lastHead);
      lastHead = chain.headSeq;
      expect(ledger.db.pragma('integrity_check', { simple: true })).toBe('ok');
      // Every committed / released / unknown claim has exactly one matching event, and no event
      // names a claim whose state disagrees: state and events were committed together.
      const settled = ledger.db
        .prepare("SELECT id, status FROM claims WHERE status IN ('committed','released','unknown')")
        .all() as Array<{ id: string; status: string }>;
      const events = ledger.eventsAfter(0, 10_000_000).filter((e) => e.type.startsWith('claim.'));
      const byClaim = new Map<string, string[]>();
      for (const e of events) {
        const id = String(e.data.claimId);
        byClaim.set(id, [...(byClaim.get(id) ?? []), e.type]);
      }
      for (const c of settled) expect(byClaim.get(c.id)).toEqual([`claim.${c.status}`]);
      expect(byClaim.size).toBe(settled.length);
      // Windows and check-in events agree one to one.
      const windows = (ledger.db.prepare('SELECT COUNT(*) AS n FROM windows').get() as { n: number }).n;
      const checkins = ledger.eventsAfter(0, 10_000_000).filter((e) => e.type === 'checkin').length;
      expect(windows).toBe(checkins);
      ledger.close();
    }
  }, 120_000);

  it('never grants two claims for one rider-day to concurrent processes', async () => {
    const path = `${tmp.dir}/contend.db`;
    Ledger.open({ path, clock: systemClock, timezone: 'Asia/Shanghai' }).close();
    const writers = [0, 1, 2].map(() => runWriter(path, 'shared', 'contend'));
    await Promise.all(writers.map((w) => exited(w.child)));
    const granted = writers.flatMap((w) => w.output().split('\n').filter((l) => l.startsWith('granted')));
    const perRiderDay = new Map<string, number>();
    for (const g of granted) {
      const [, rider, day] = g.split(' ');
      perRiderDay.set(`${rider} ${day}`, (perRiderDay.get(`${rider} ${day}`) ?? 0) + 1);
    }
    expect(perRiderDay.size).toBeGreaterThan(0);
    for (const n of perRiderDay.values()) expect(n).toBe(1);
    const db = new Database(path, { readonly: true });
    const dup = db.prepare("SELECT rider_id, day, COUNT(*) AS n FROM claims WHERE status <> 'released' GROUP BY rider_id, day HAVING n > 1").all();
    db.close();
    expect(dup).toEqual([]);
  }, 120_000);
});
