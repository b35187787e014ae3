/**
 * The dispenser's vend memory (SPEC §5 rule 2): every command id it has seen, with its state,
 * kept at least 24 h and written *before* the motor is powered. It lives in a store that
 * survives a simulated power loss: an in-memory object (tests) or a JSON file (the CLI).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Compartment } from '../../protocol/index.ts';

export type VendState = 'dispensing' | 'dropped' | 'failed' | 'rejected' | 'indeterminate';

export interface VendRecord {
  id: string;
  compartment: Compartment | null;
  state: VendState;
  reason?: string;
  /** Wall-clock ms when the id was first seen (for pruning). */
  ts: number;
}

/** Non-volatile storage of the records: `put` and `remove` must be durable when they return. */
export interface MemoryStore {
  load(): VendRecord[];
  put(record: VendRecord): void;
  remove(ids: readonly string[]): void;
}

/** "Flash" that survives a simulated restart of the same process (tests). */
export class InMemoryStore implements MemoryStore {
  private readonly records = new Map<string, VendRecord>();
  load(): VendRecord[] {
    return [...this.records.values()].map((r) => ({ ...r }));
  }
  put(record: VendRecord): void {
    this.records.set(record.id, { ...record });
  }
  remove(ids: readonly string[]): void {
    for (const id of ids) this.records.delete(id);
  }
}

/** A JSON file, replaced atomically (write to a temporary file, then rename) on every change. */
export class JsonFileStore implements MemoryStore {
  private records: Map<string, VendRecord> | undefined;
  constructor(readonly path: string) {}
  load(): VendRecord[] {
    let list: VendRecord[] = [];
    try {
      const parsed = JSON.parse(readFileSync(this.path, 'utf8')) as { records?: VendRecord[] };
      list = Array.isArray(parsed.records) ? parsed.records : [];
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    this.records = new Map(list.map((r) => [r.id, r]));
    return list.map((r) => ({ ...r }));
  }
  put(record: VendRecord): void {
    if (!this.records) this.load();
    this.records!.set(record.id, { ...record });
    this.write();
  }
  remove(ids: readonly string[]): void {
    if (!this.records) this.load();
    for (const id of ids) this.records!.delete(id);
    this.write();
  }
  private write(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify({ records: [...this.records!.values()] }), { flush: true });
    renameSync(tmp, this.path);
  }
}

/** The records in RAM, written through to the store on every change. */
export class VendMemory {
  private readonly byId = new Map<string, VendRecord>();
  private prunedAt = -Infinity;

  constructor(
    private readonly store: MemoryStore,
    /** How long ids are kept; SPEC §5 asks for at least 24 h. */
    private readonly retainMs: number,
  ) {
    if (retainMs < 24 * 3600_000) throw new RangeError('a dispenser must remember ids for at least 24 h (SPEC §5)');
    for (const r of store.load()) this.byId.set(r.id, r);
  }

  get(id: string): VendRecord | undefined {
    return this.byId.get(id);
  }

  all(): VendRecord[] {
    return [...this.byId.values()];
  }

  /** Write (or overwrite) a record and make it durable before returning. */
  put(record: VendRecord, now: number): void {
    this.byId.set(record.id, { ...record });
    this.store.put(record);
    // Forget ids older than the retention, at most once a minute of clock time.
    if (now - this.prunedAt >= 60_000) {
      this.prunedAt = now;
      const old = [...this.byId.values()].filter((r) => now - r.ts > this.retainMs).map((r) => r.id);
      for (const id of old) this.byId.delete(id);
      if (old.length > 0) this.store.remove(old);
    }
  }
}
