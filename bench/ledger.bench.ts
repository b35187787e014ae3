/**
 * Ledger benchmark (issue 2): the claim reservation path against raw single-row SQLite insert
 * transactions with the same durability (WAL, synchronous=FULL), measured in the same run,
 * interleaved, on an empty ledger and on one with 1,000,000 claims already in it.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addDays, ManualClock } from '../protocol/index.ts';
import { Ledger } from '../edge/ledger/ledger.ts';
import { QuotaLedger } from '../edge/ledger/quota-ledger.ts';
import { fmt, type BenchContext, type BenchRow } from './lib.ts';

// Short alternating slices, so drift in fsync latency (a noisy VM) hits both sides alike.
const PHASE_MS = 250;
const ROUNDS = 16;
const T0 = Date.parse('2026-11-23T02:00:00.000Z');

/**
 * Each timed slice, on either side, starts from a checkpointed WAL that is written again from
 * its start (RESTART keeps the file's size, as the daemon's automatic checkpoints do). A WAL
 * truncated to zero before one side only made that side pay for growing the file on every
 * fsync, which cost it ~5–10 % of the ratio.
 */
function resetWal(db: Ledger['db']): void {
  db.pragma('wal_checkpoint(RESTART)');
}

/**
 * The baseline: the same claim row inserted raw — one autocommit INSERT, no reads, no decision —
 * into a copy of the ledger's claims table (same columns and indexes) in the ledger's own
 * database file, so both sides share the file, its WAL, checkpoints and page cache. The ratio
 * therefore measures what the ledger adds: the quota decision, the transaction, the ids.
 */
function rawInsertRate(ledger: Ledger): () => number {
  const db = ledger.db;
  const ddl = db
    .prepare("SELECT sql FROM sqlite_master WHERE tbl_name = 'claims' AND sql IS NOT NULL ORDER BY type DESC")
    .all() as Array<{ sql: string }>;
  for (const { sql } of ddl) {
    db.exec(
      sql
        .replace(/^CREATE (UNIQUE )?(TABLE|INDEX) (\w+)/, (_m, u: string | undefined, kind: string, name: string) => `CREATE ${u ?? ''}${kind} IF NOT EXISTS raw_${name}`)
        .replace(/ ON claims /, ' ON raw_claims '),
    );
  }
  const ins = db.prepare(
    `INSERT INTO raw_claims (id, rider_id, day, slot, compartment, dispenser_id, sponsor, status, created_ts, updated_ts, expires_at)
     VALUES (?, ?, '2026-11-23', 0, 'cold', 'disp-1', NULL, 'dispensing', ?, ?, ?)`,
  );
  let n = 0;
  return () => {
    resetWal(db);
    const start = performance.now();
    let count = 0;
    while (performance.now() - start < PHASE_MS) {
      ins.run(randomUUID(), `r-${n}`, T0, T0, T0 + 10_000);
      n++;
      count++;
    }
    return (count / (performance.now() - start)) * 1000;
  };
}

function reservationRate(ledger: Ledger, quota: QuotaLedger, prefix: string): () => number {
  let n = 0;
  return () => {
    // Windows for the riders of this phase, written in bulk beforehand: only reservations are timed.
    const batch = 5_000;
    const from = n;
    ledger.db.transaction(() => {
      const ins = ledger.db.prepare('INSERT OR IGNORE INTO windows (rider_id, day_from, day_to, created_ts) VALUES (?, ?, ?, ?)');
      for (let i = from; i < from + batch; i++) ins.run(`${prefix}-${i}`, '2026-11-20', '2026-11-26', T0);
    })();
    resetWal(ledger.db);
    const start = performance.now();
    let count = 0;
    while (performance.now() - start < PHASE_MS && n < from + batch) {
      const r = quota.reserve({ riderId: `${prefix}-${n}`, compartment: 'cold', dispenserId: 'disp-1', commandTtlMs: 10_000 });
      if (r.kind !== 'granted') throw new Error(`unexpected ${r.kind}`);
      n++;
      count++;
    }
    return (count / (performance.now() - start)) * 1000;
  };
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function fillClaims(ledger: Ledger, count: number, ctx: BenchContext): void {
  const ins = ledger.db.prepare(
    `INSERT INTO claims (id, rider_id, day, slot, compartment, dispenser_id, sponsor, status, created_ts, updated_ts, expires_at)
     VALUES (?, ?, ?, 0, 'cold', 'disp-1', NULL, 'committed', ?, ?, ?)`,
  );
  const chunk = 100_000;
  for (let done = 0; done < count; done += chunk) {
    ledger.db.transaction(() => {
      for (let i = done; i < Math.min(count, done + chunk); i++) {
        const day = addDays('2024-01-01', i % 1000);
        ins.run(`hist-${i}`, `hist-rider-${Math.floor(i / 1000)}`, day, T0, T0, T0);
      }
    })();
    ctx.progress(`history: ${fmt(Math.min(count, done + chunk))} / ${fmt(count)} claims`);
  }
  ledger.db.pragma('wal_checkpoint(TRUNCATE)');
}

/** Raw inserts and reservations on one ledger file, in alternating slices; mean rates of each. */
function measurePair(ledger: Ledger, prefix: string, label: string, ctx: BenchContext): { raw: number; ledger: number } {
  const raw = rawInsertRate(ledger);
  const resv = reservationRate(ledger, new QuotaLedger(ledger), prefix);
  const rawRates: number[] = [];
  const ledgerRates: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    // Alternate which side goes first, so neither always inherits the other's checkpoint.
    if (i % 2 === 0) {
      rawRates.push(raw());
      ledgerRates.push(resv());
    } else {
      ledgerRates.push(resv());
      rawRates.push(raw());
    }
    ctx.progress(`${label}, round ${i + 1}/${ROUNDS}`);
  }
  return { raw: mean(rawRates), ledger: mean(ledgerRates) };
}

export default async function ledgerBench(ctx: BenchContext): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'waystation-bench-ledger-'));
  try {
    const clock = new ManualClock(T0);
    const ledger = Ledger.open({ path: join(dir, 'ledger.db'), clock, timezone: 'Asia/Shanghai' });
    const empty = measurePair(ledger, 'empty', 'empty ledger', ctx);
    ledger.close();

    const big = Ledger.open({ path: join(dir, 'big.db'), clock, timezone: 'Asia/Shanghai' });
    fillClaims(big, 1_000_000, ctx);
    const full = measurePair(big, 'late', '1M-claim ledger', ctx);
    big.close();

    const { raw: r0, ledger: l0 } = empty;
    const { raw: r1, ledger: l1 } = full;
    return [
      { name: 'raw single-row claim insert transactions (same file and schema, WAL, fsync) — baseline', value: `${fmt(r0)} /s`, ratio: '1.00×' },
      { name: 'claim reservations through the ledger, empty', value: `${fmt(l0)} /s`, ratio: `${(l0 / r0).toFixed(2)}× raw (target ≥ 0.8)` },
      { name: 'raw single-row claim insert transactions in the 1M-claim file — baseline', value: `${fmt(r1)} /s`, ratio: '1.00×' },
      { name: 'claim reservations with 1,000,000 claims in the ledger', value: `${fmt(l1)} /s`, ratio: `${(l1 / r1).toFixed(2)}× raw` },
      {
        name: 'slowdown at 1M claims vs empty (each against its own baseline)',
        value: `${((l0 / r0) / (l1 / r1)).toFixed(2)}×`,
        ratio: 'target ≤ 1.2×',
      },
      {
        name: 'slowdown at 1M claims vs empty, absolute (reservations/s empty ÷ at 1M)',
        value: `${(l0 / l1).toFixed(2)}×`,
        ratio: `raw inserts alone: ${(r0 / r1).toFixed(2)}× (the bigger file's own cost)`,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
