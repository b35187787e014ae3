/** The simulator's pure vend decision, its memory and its fault profiles. */
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFaultProfile, RandomFaults, ScriptedFaults, VEND_FAULTS, type VendFault } from '../../firmware-sim/dispenser/faults.ts';
import { InMemoryStore, JsonFileStore, VendMemory, type VendRecord } from '../../firmware-sim/dispenser/memory.ts';
import { decideVend, type MachineView } from '../../firmware-sim/dispenser/vending.ts';

const idle: MachineView = {
  vending: null,
  stock: { hot: 3, cold: 3 },
  door: 'closed',
  temperatureOk: { hot: true, cold: true },
  stuck: new Set(),
};
const cmd = (id: string, expiresAt = 2000) => ({ id, compartment: 'hot' as const, expiresAt });

describe('the vend decision (SPEC §5 rules)', () => {
  it('repeats the stored outcome of an id seen before, whatever the machine state', () => {
    const seen: VendRecord = { id: 'a', compartment: 'hot', state: 'dropped', ts: 0 };
    expect(decideVend(cmd('a'), seen, { ...idle, vending: 'b', door: 'open' }, 5000, 'jam')).toEqual({ kind: 'repeat', record: seen });
  });

  it('refuses in the order busy, expired, door, temperature, stock', () => {
    expect(decideVend(cmd('a'), undefined, { ...idle, vending: 'b' }, 0, undefined)).toEqual({ kind: 'reject', reason: 'busy' });
    expect(decideVend(cmd('a', 10), undefined, { ...idle, door: 'open' }, 11, undefined)).toEqual({ kind: 'reject', reason: 'expired' });
    expect(decideVend(cmd('a'), undefined, { ...idle, door: 'open' }, 0, undefined)).toEqual({ kind: 'reject', reason: 'door_open' });
    expect(decideVend(cmd('a'), undefined, { ...idle, temperatureOk: { hot: false, cold: true } }, 0, undefined)).toEqual({ kind: 'reject', reason: 'temperature' });
    expect(decideVend(cmd('a'), undefined, { ...idle, stock: { hot: 0, cold: 3 } }, 0, undefined)).toEqual({ kind: 'reject', reason: 'out_of_stock' });
    expect(decideVend(cmd('a'), undefined, idle, 2000, undefined)).toEqual({ kind: 'run', result: { dropped: true } });
  });

  it('runs the motor at most once per id over any sequence of commands and faults (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd'), fc.option(fc.constantFrom(...VEND_FAULTS), { nil: undefined }), fc.boolean()), { maxLength: 60 }),
        (steps) => {
          const memory = new Map<string, VendRecord>();
          const runs = new Map<string, number>();
          let vending: string | null = null;
          for (const [id, fault, finishFirst] of steps) {
            if (finishFirst && vending) {
              memory.set(vending, { ...memory.get(vending)!, state: 'dropped' });
              vending = null;
            }
            const d = decideVend(cmd(id), memory.get(id), { ...idle, vending, stock: { hot: 99, cold: 99 } }, 0, fault as VendFault | undefined);
            if (d.kind === 'reject') memory.set(id, { id, compartment: 'hot', state: 'rejected', reason: d.reason, ts: 0 });
            if (d.kind === 'run') {
              runs.set(id, (runs.get(id) ?? 0) + 1);
              memory.set(id, { id, compartment: 'hot', state: 'dispensing', ts: 0 });
              vending = id;
            }
          }
          for (const n of runs.values()) expect(n).toBe(1);
        },
      ),
    );
  });
});

describe('vend memory', () => {
  it('survives a restart in a JSON file and keeps ids at least 24 h', () => {
    const dir = mkdtempSync(join(tmpdir(), 'waystation-mem-'));
    try {
      const store = new JsonFileStore(join(dir, 'm.json'));
      const m = new VendMemory(store, 24 * 3600_000);
      m.put({ id: 'x', compartment: 'cold', state: 'dispensing', ts: 0 }, 0);
      const after = new VendMemory(new JsonFileStore(join(dir, 'm.json')), 24 * 3600_000);
      expect(after.get('x')?.state).toBe('dispensing');
      after.put({ id: 'y', compartment: 'hot', state: 'dropped', ts: 24 * 3600_000 }, 24 * 3600_000);
      expect(after.get('x')).toBeDefined();
      const later = 24 * 3600_000 + 60_000; // pruning runs at most once a minute
      after.put({ id: 'z', compartment: 'hot', state: 'dropped', ts: later }, later);
      expect(after.get('x')).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to remember ids for less than 24 h', () => {
    expect(() => new VendMemory(new InMemoryStore(), 3600_000)).toThrow(/24 h/);
  });
});

describe('fault profiles', () => {
  it('replays a random profile exactly from its seed, at about its rate', () => {
    const draw = (p: RandomFaults) => Array.from({ length: 2000 }, () => p.nextVendFault());
    const a = draw(new RandomFaults(0.1, 42));
    expect(draw(new RandomFaults(0.1, 42))).toEqual(a);
    const rate = a.filter((f) => f !== undefined).length / a.length;
    expect(rate).toBeGreaterThan(0.07);
    expect(rate).toBeLessThan(0.13);
  });

  it('parses the shared profile grammar: none, flaky, random, switches on every vend', () => {
    expect(parseFaultProfile(undefined).nextVendFault()).toBeUndefined();
    expect(parseFaultProfile('random:0.5@3').describe()).toBe('random:0.5@3');
    const flaky = parseFaultProfile('flaky@9');
    const draws = Array.from({ length: 1000 }, () => flaky.nextVendFault()).filter(Boolean).length;
    expect(draws).toBeGreaterThan(60);
    expect(draws).toBeLessThan(140);
    const jammed = parseFaultProfile('jam,busy');
    expect([jammed.nextVendFault(), jammed.nextVendFault(), jammed.nextVendFault()]).toEqual(['jam', 'busy', 'jam']);
    expect(() => parseFaultProfile('random:2')).toThrow(/rate/);
    expect(() => parseFaultProfile('gremlins')).toThrow(/unknown fault "gremlins"/);
    const s = new ScriptedFaults(['jam', 'ok', 'busy']);
    expect([s.nextVendFault(), s.nextVendFault(), s.nextVendFault(), s.nextVendFault()]).toEqual(['jam', undefined, 'busy', undefined]);
  });
});
