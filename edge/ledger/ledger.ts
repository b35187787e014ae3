/**
 * The station ledger: SQLite (better-sqlite3, WAL, synchronous=FULL) holding state and the
 * hash-chained event log in one file. Every state change and its event are written in one
 * transaction (the transactional outbox, SPEC §9); a commit is fsynced before it returns, so
 * nothing is sent to a device before its record is on disk.
 */
import Database, { type Database as Db, type Statement } from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  GENESIS_HASH,
  MAX_EVENT_JSON_BYTES,
  canonicalJson,
  hashEvent,
  serviceDayOf,
  verifyChain,
  type Clock,
  type EventDataOf,
  type EventType,
  type ServiceDay,
  type StationEvent,
} from '../../protocol/index.ts';
import type { Logger } from '../log.ts';
import { Emitter } from '../emitter.ts';
import { migrate } from './migrations.ts';

/** Raised when the ledger cannot record: the station must refuse, never act unrecorded. */
export class LedgerUnavailableError extends Error {
  readonly code = 'ledger_unavailable';
  constructor(
    readonly sqliteCode: string,
    cause: unknown,
  ) {
    super(ledgerMessage(sqliteCode), { cause });
  }
}

function ledgerMessage(code: string): string {
  if (code === 'SQLITE_FULL') return 'the station disk is full, so nothing can be recorded; free disk space on the station';
  if (code.startsWith('SQLITE_READONLY')) return 'the station database is read-only; check the data directory permissions and mount';
  return `the station database cannot write (${code}); check the disk and the data directory`;
}

/**
 * Raised inside a transaction when an event would be larger than the cloud takes (SPEC §9: one
 * event at most MAX_EVENT_JSON_BYTES of JSON, else 413 `event_too_large`). Written, it would stop
 * the upload at that seq for good; thrown, it rolls the whole change back: nothing happened.
 */
export class EventTooLargeError extends Error {
  readonly code = 'event_too_large';
  constructor(
    readonly type: string,
    readonly bytes: number,
  ) {
    super(`a ${type} event would be ${bytes} bytes of JSON, more than the ${MAX_EVENT_JSON_BYTES} the cloud takes; nothing was changed`);
  }
}

/** UTF-8 bytes of the event as the uploader sends it (`JSON.stringify` of the stored event), from its canonical data. */
export function eventJsonBytes(e: { seq: number; type: string; ts: number; day: string; hash: string }, dataJson: string): number {
  const envelope = JSON.stringify({ seq: e.seq, type: e.type, ts: e.ts, day: e.day, data: 0, hash: e.hash });
  return Buffer.byteLength(envelope, 'utf8') - 1 + Buffer.byteLength(dataJson, 'utf8');
}

/** The ledger connection's page cache, KiB (`PRAGMA cache_size`, negative = KiB). */
export const LEDGER_CACHE_KIB = 2048;

const UNAVAILABLE = /^SQLITE_(FULL|READONLY|IOERR|CANTOPEN|CORRUPT|NOTADB|PERM)/;

/** Turn storage failures into LedgerUnavailableError; rethrow everything else. */
export function asLedgerError(e: unknown): unknown {
  const code = (e as { code?: unknown })?.code;
  if (typeof code === 'string' && UNAVAILABLE.test(code)) return new LedgerUnavailableError(code, e);
  return e;
}

export interface LedgerOptions {
  path: string;
  clock: Clock;
  timezone: string;
  logger?: Logger;
  /** Open without write access (inspection tools). */
  readonly?: boolean;
}

export interface AppendOptions {
  /** Service day; defaults to the day of `ts` in the station's timezone. */
  day?: ServiceDay;
}

/** What a transaction body gets: the database and the event appender. */
export interface LedgerTx {
  readonly db: Db;
  /** Wall-clock ms read once for the whole transaction. */
  readonly now: number;
  readonly day: ServiceDay;
  append<T extends EventType>(type: T, data: EventDataOf<T>, opts?: AppendOptions): StationEvent;
}

interface EventRow {
  seq: number;
  type: string;
  ts: number;
  day: string;
  data: string;
  hash: string;
}

function rowToEvent(r: EventRow): StationEvent {
  return { seq: r.seq, type: r.type, ts: r.ts, day: r.day, data: JSON.parse(r.data) as Record<string, unknown>, hash: r.hash };
}

export class Ledger {
  readonly db: Db;
  readonly clock: Clock;
  readonly timezone: string;
  readonly path: string;
  private readonly logger: Logger | undefined;
  private readonly stmts: {
    head: Statement;
    insertEvent: Statement;
    eventsAfter: Statement;
    getMeta: Statement;
    setMeta: Statement;
    firstEvent: Statement;
  };
  /** After each committed event; a listener that throws is logged and counted, the commit stands. */
  private readonly committed: Emitter<[StationEvent]>;
  /** One transaction wrapper, made once (better-sqlite3 wraps BEGIN IMMEDIATE … COMMIT). */
  private readonly runTx: ReturnType<Db['transaction']>;
  /** Events refused at append for their size, by type (`waystation_events_refused_total`). */
  private readonly oversized = new Map<string, number>();
  /** Service day of the current minute: a zone's offset never changes inside a minute. */
  private dayCache = { minute: -1, day: '' };

  private constructor(db: Db, opts: LedgerOptions) {
    this.db = db;
    this.clock = opts.clock;
    this.timezone = opts.timezone;
    this.path = opts.path;
    this.logger = opts.logger;
    this.committed = new Emitter('ledger', opts.logger);
    this.runTx = db.transaction((body: () => unknown) => body());
    this.stmts = {
      head: db.prepare('SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1'),
      insertEvent: db.prepare('INSERT INTO events (seq, type, ts, day, data, hash) VALUES (?, ?, ?, ?, ?, ?)'),
      eventsAfter: db.prepare('SELECT seq, type, ts, day, data, hash FROM events WHERE seq > ? ORDER BY seq LIMIT ?'),
      getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      firstEvent: db.prepare('SELECT seq, type, ts, day, data, hash FROM events ORDER BY seq LIMIT 1'),
    };
  }

  static open(opts: LedgerOptions): Ledger {
    if (opts.path !== ':memory:' && !opts.readonly) privateFile(opts.path);
    let db: Db;
    try {
      db = new Database(opts.path, { readonly: opts.readonly ?? false });
      db.pragma('busy_timeout = 5000');
      // SQLite's own default page cache, 2 MiB. better-sqlite3 builds SQLite with 16 MiB, which
      // the daemon filled as the ledger grew: +14 MiB of resident memory over its first ~15,000
      // claims, for pages the operating system's file cache holds anyway. A claim reads a few
      // index pages and appends; its commits wait on fsync, not on these reads (docs/performance.md).
      db.pragma(`cache_size = -${LEDGER_CACHE_KIB}`);
      if (!opts.readonly) {
        db.pragma('journal_mode = WAL');
        // FULL: every commit is fsynced before it returns (SPEC §3 rule 4: no bottle without its record).
        db.pragma('synchronous = FULL');
        db.pragma('foreign_keys = ON');
        migrate(db);
      }
    } catch (e) {
      throw asLedgerError(e);
    }
    return new Ledger(db, opts);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  serviceDay(ms: number = this.clock.now()): ServiceDay {
    const minute = Math.floor(ms / 60_000);
    if (minute !== this.dayCache.minute) this.dayCache = { minute, day: serviceDayOf(ms, this.timezone) };
    return this.dayCache.day;
  }

  /**
   * Run `fn` in one IMMEDIATE transaction (the write lock is taken at BEGIN, so two writers
   * serialise instead of failing at commit). Events appended inside commit with the change.
   */
  tx<T>(fn: (tx: LedgerTx) => T): T {
    const appended: StationEvent[] = [];
    const now = this.clock.now();
    const today = this.serviceDay(now);
    const body = () => {
      let head: { seq: number; hash: string } | undefined;
      const ctx: LedgerTx = {
        db: this.db,
        now,
        day: today,
        append: (type, data, opts) => {
          head ??= this.readHead();
          const unhashed = { seq: head.seq + 1, type, ts: now, day: opts?.day ?? today, data };
          const event: StationEvent = { ...unhashed, hash: hashEvent(head.hash, unhashed) };
          // Data is stored (and so uploaded) in canonical key order: the cloud's chain check then
          // serialises it with plain JSON.stringify (protocol's verifyChain).
          const dataJson = canonicalJson(event.data);
          const bytes = eventJsonBytes(event, dataJson);
          if (bytes > MAX_EVENT_JSON_BYTES) {
            this.oversized.set(type, (this.oversized.get(type) ?? 0) + 1);
            this.logger?.error({ type, bytes, limit: MAX_EVENT_JSON_BYTES }, 'refused to write an event larger than the cloud takes; the change was rolled back');
            throw new EventTooLargeError(type, bytes);
          }
          this.stmts.insertEvent.run(event.seq, event.type, event.ts, event.day, dataJson, event.hash);
          head = { seq: event.seq, hash: event.hash };
          appended.push(event);
          return event;
        },
      };
      return fn(ctx);
    };
    let result: T;
    try {
      result = this.runTx.immediate(body) as T;
    } catch (e) {
      const err = asLedgerError(e);
      if (err instanceof LedgerUnavailableError) this.logger?.error({ err: e }, err.message);
      throw err;
    }
    for (const e of appended) this.committed.emit(e);
    return result;
  }

  /** Append one event in its own transaction. */
  append<T extends EventType>(type: T, data: EventDataOf<T>, opts?: AppendOptions): StationEvent {
    return this.tx((t) => t.append(type, data, opts));
  }

  /** Events refused for their size since start, by type. */
  refusedOversized(): Array<{ type: string; count: number }> {
    return [...this.oversized].map(([type, count]) => ({ type, count }));
  }

  /** Listener calls that threw since start (logged; the commits they followed stand). */
  get listenerErrors(): number {
    return this.committed.errors;
  }

  /** Called after each committed event (the uploader's nudge, metrics); a listener that throws cannot undo or fail the commit. */
  onEvent(listener: (e: StationEvent) => void): () => void {
    return this.committed.on(listener);
  }

  private readHead(): { seq: number; hash: string } {
    const row = this.stmts.head.get() as { seq: number; hash: string } | undefined;
    if (row) return row;
    // Everything pruned never happens (the newest event is always kept), so an empty log is a new one.
    return { seq: 0, hash: GENESIS_HASH };
  }

  head(): { seq: number; hash: string } {
    return this.readHead();
  }

  eventsAfter(seq: number, limit: number): StationEvent[] {
    return (this.stmts.eventsAfter.all(seq, limit) as EventRow[]).map(rowToEvent);
  }

  getMeta(key: string): string | undefined {
    return (this.stmts.getMeta.get(key) as { value: string } | undefined)?.value;
  }

  setMeta(key: string, value: string): void {
    try {
      this.stmts.setMeta.run(key, value);
    } catch (e) {
      throw asLedgerError(e);
    }
  }

  /** Highest seq the cloud has acknowledged (SPEC §9 `ackedSeq`). */
  ackedSeq(): number {
    return Number(this.getMeta('sync.ackedSeq') ?? 0);
  }

  /** Record the cloud's acknowledgement; monotonic and never beyond the head. */
  setAckedSeq(seq: number): void {
    const capped = Math.min(seq, this.readHead().seq);
    if (capped > this.ackedSeq()) this.setMeta('sync.ackedSeq', String(capped));
  }

  backlog(): number {
    return Math.max(0, this.readHead().seq - this.ackedSeq());
  }

  /**
   * Delete events the cloud acknowledged and that are older than `olderThanTs`
   * (SPEC §9: nothing is deleted before the cloud acknowledged it). The newest event is always
   * kept, and the hash of the last deleted one is remembered so the chain stays checkable.
   */
  pruneAcknowledged(olderThanTs: number): number {
    const acked = this.ackedSeq();
    return this.tx((t) => {
      const head = this.readHead();
      const last = t.db
        .prepare('SELECT seq, hash FROM events WHERE seq <= ? AND seq < ? AND ts < ? ORDER BY seq DESC LIMIT 1')
        .get(acked, head.seq, olderThanTs) as { seq: number; hash: string } | undefined;
      if (!last) return 0;
      const n = t.db.prepare('DELETE FROM events WHERE seq <= ?').run(last.seq).changes;
      t.db
        .prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
        .run('chain.pruned', JSON.stringify({ seq: last.seq, hash: last.hash }));
      return n;
    });
  }

  /** Verify the stored chain from the first kept event to the head. */
  verifyStoredChain(): { ok: true; events: number; headSeq: number } | { ok: false; seq: number; reason: string } {
    const pruned = this.getMeta('chain.pruned');
    let prev = pruned ? (JSON.parse(pruned) as { seq: number; hash: string }) : { seq: 0, hash: GENESIS_HASH };
    let count = 0;
    for (;;) {
      const batch = this.eventsAfter(prev.seq, 5000);
      if (batch.length === 0) break;
      const check = verifyChain(batch, prev.seq, prev.hash);
      if (!check.ok) return { ok: false, seq: check.seq, reason: check.reason };
      count += batch.length;
      prev = { seq: check.lastSeq, hash: check.lastHash };
    }
    return { ok: true, events: count, headSeq: prev.seq };
  }

  /** Online backup to `destPath` (SQLite backup API; safe while the station runs). */
  async backup(destPath: string, onProgress?: (remaining: number, total: number) => void): Promise<void> {
    privateFile(destPath);
    await this.db.backup(destPath, {
      progress: ({ totalPages, remainingPages }) => {
        onProgress?.(remainingPages, totalPages);
        return 200;
      },
    });
  }

  /** Size of the database file and its WAL, in bytes. */
  sizeBytes(): number {
    const row = this.db.prepare('SELECT page_count * page_size AS bytes FROM pragma_page_count(), pragma_page_size()').get() as {
      bytes: number;
    };
    return row.bytes;
  }
}

/**
 * The ledger holds riders' ids and the station's secrets' effects: its folder is the owner's
 * only (0700) and its file 0600 (issue 11), whatever the umask. SQLite gives the -wal and -shm
 * files the database file's permissions.
 */
function privateFile(path: string): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // A shared folder with the sticky bit (/tmp, /var/tmp) is not the station's to close: making
  // it 0700 would lock every other user out of it (PostgreSQL's own user among them).
  if ((statSync(dir).mode & 0o1000) === 0) chmodSync(dir, 0o700);
  if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
}
