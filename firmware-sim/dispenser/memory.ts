/**
 * The dispenser's vend memory (SPEC §5 rule 2): every command id it has seen, with its state,
 * kept at least 24 h and written *before* the motor is powered. It lives in a store that
 * survives a simulated power loss: an in-memory object (tests) or a JSON file (the CLI).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Compartment } from '../../protocol/index';

export type VendState = 'dispensing' | 'dropped' | 'failed' | 'rejected' | 'indeterminate';

export interface VendRecord {
  id: string;
  compartment: Compartment | null;
  state: VendState;
  reason?: string;
  /** Wall-clock ms when the id was first seen (for pruning). */
  ts: number;
}

/** Non-volatile storage of the records: `save` must be durable when it returns. */
export interface MemoryStore {
  load(): VendRecord[];
  save(records: readonly VendRecord[]): void;
}

/** "Flash" that survives a simulated restart of the same process (tests). */
export class InMemoryStore implements MemoryStore {
  private records: VendRecord[] = [];
  load(): VendRecord[] {
    return this.records.map((r) => ({ ...r }));
  }
  save(records: readonly VendRecord[]): void {
    this.records = records.map((r) => ({ ...r }));
  }
}

/** A JSON file, replaced atomically (write to a temporary file, then rename). */
export class JsonFileStore implements MemoryStore {
  constructor(readonly path: string) {}
  load(): VendRecord[] {
    try {
      const parsed = JSON.parse(readFileSync(this.path, 'utf8')) as { records?: VendRecord[] };
      return Array.isArray(parsed.records) ? parsed.records : [];
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }
  save(records: readonly VendRecord[]): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify({ records }), { flush: true });
    renameSync(tmp, this.path);
  }
}

/** The records in RAM, written through to the store on every change. */
export class VendMemory {
  private readonly byId = new Map<string, VendRecord>();

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
    for (const [id, r] of this.byId) if (now - r.ts > this.retainMs) this.byId.delete(id);
    this.store.save([...this.byId.values()]);
  }
}
