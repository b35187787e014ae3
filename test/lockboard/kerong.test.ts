/**
 * The LockBus driver and the simulated boards speaking the Kerong CU16-style profile
 * (SPEC §6: a second board family is a profile, not a rewrite) over a mock serial line:
 * probe, unlock, query, query-all polling and retries, with the bytes on the wire checked in
 * both directions; and a station driven from the config's `lockBuses[].profile` key (its validation: test/edge/config.test.ts).
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../protocol/time.ts';
import { PROFILE_KERONG_CU16, hex, type LockRequest } from '../../protocol/lockboard/index.ts';
import { Ledger } from '../../edge/ledger/ledger.ts';
import { DeviceHealth } from '../../edge/core/health.ts';
import { silentLogger } from '../../edge/log.ts';
import { boardDeviceId } from '../../protocol/index.ts';
import { LockBus, type LockBusEvent, type LockBusTimeouts } from '../../edge/drivers/lockbus.ts';
import { resolveConfig } from '../../edge/config.ts';
import { createMockLine, type ByteLink, type MockLine } from '../../firmware-sim/lockboard/link.ts';
import { LockBoardSim, type LockBoardSimOptions } from '../../firmware-sim/lockboard/sim.ts';
import { tempDir } from '../helpers/tmp.ts';
import { startStation } from '../../edge/station.ts';
import type { BindingInterface } from '../../edge/drivers/lockbus/open-port.ts';
import { FAST } from './harness.ts';
import { busTimeouts } from '../helpers/defaults.ts';

const K = PROFILE_KERONG_CU16;

interface KerongRig {
  line: MockLine;
  sim: LockBoardSim;
  bus: LockBus;
  health: DeviceHealth;
  /** Hex of every write, host → boards (`tx`) and boards → host (`rx`), in order. */
  wire: Array<{ dir: 'tx' | 'rx'; bytes: string }>;
  close(): Promise<void>;
}

/** The lock-board rig of harness.ts with both ends on the Kerong profile, and a wire tap. */
async function kerongRig(opts: { boards?: LockBoardSimOptions['boards']; timeouts?: Partial<LockBusTimeouts>; poll?: boolean } = {}): Promise<KerongRig> {
  const { dir, cleanup } = tempDir('waystation-kerong-');
  const boards = opts.boards ?? [{ address: 1 }];
  const line = createMockLine();
  const wire: KerongRig['wire'] = [];
  const tapped: ByteLink = {
    write(bytes) {
      wire.push({ dir: 'rx', bytes: hex(bytes) });
      line.device.write(bytes);
    },
    onData(listener) {
      return line.device.onData((chunk) => {
        wire.push({ dir: 'tx', bytes: hex(chunk) });
        listener(chunk);
      });
    },
  };
  const sim = new LockBoardSim({ profile: K, boards, latencyMs: 0, closeAfterMs: null, lateReplyMs: 150 });
  sim.attach(tapped);
  const logger = silentLogger();
  const ledger = Ledger.open({ path: join(dir, 'station.db'), clock: systemClock, timezone: 'Asia/Shanghai', logger });
  const health = new DeviceHealth({ ledger, clock: systemClock, logger });
  const bus = new LockBus({
    path: line.path,
    binding: line.binding,
    profile: K,
    boards,
    logger,
    health,
    clock: systemClock,
    timeouts: busTimeouts({ ...FAST, ...opts.timeouts }),
    poll: opts.poll ?? false,
  });
  await bus.start();
  return {
    line,
    sim,
    bus,
    health,
    wire,
    async close() {
      await bus.stop();
      sim.stop();
      ledger.close();
      cleanup();
    },
  };
}

let r: KerongRig | undefined;
afterEach(async () => {
  await r?.close();
  r = undefined;
});

const counters = (rr: KerongRig, board = 1) => rr.health.get(boardDeviceId(board))!.counters;

function requestsSeen(rr: KerongRig): LockRequest[] {
  const seen: LockRequest[] = [];
  rr.sim.on((e) => e.type === 'request' && seen.push(e.request));
  return seen;
}

describe('lock bus on Kerong CU16-style boards', () => {
  it('probes a board with 02 01 00 53 03 59 and gets the six bytes echoed', async () => {
    r = await kerongRig();
    expect(await r.bus.probe(1)).toEqual({ ok: true, value: true });
    expect(r.wire).toEqual([
      { dir: 'tx', bytes: '02 01 00 53 03 59' },
      { dir: 'rx', bytes: '02 01 00 53 03 59' },
    ]);
    expect(r.bus.isReachable(1)).toBe(true);
    expect(r.health.get(boardDeviceId(1))!.state).toBe('online');
  });

  it('gives 16 locks to a board whose lock count is not configured', async () => {
    r = await kerongRig();
    expect(r.bus.locksOf(1)).toBe(16);
    expect(r.sim.door(1, 16)).toBe('closed');
  });

  it('unlocks a lock and confirms the open door with a query, in Kerong bytes', async () => {
    r = await kerongRig();
    expect(await r.bus.unlock(1, 5)).toEqual({ kind: 'opened', confirmedBy: 'query' });
    expect(r.sim.door(1, 5)).toBe('open');
    expect(r.sim.unlockCount(1, 5)).toBe(1);
    expect(r.wire).toEqual([
      { dir: 'tx', bytes: '02 01 05 51 03 5C' }, // unlock lock 5
      { dir: 'rx', bytes: '02 01 05 51 01 03 5D' }, // status 01: open
      { dir: 'tx', bytes: '02 01 05 52 03 5D' }, // query lock 5
      { dir: 'rx', bytes: '02 01 05 52 01 03 5E' },
    ]);
    expect(r.bus.doorState(1, 5)).toBe('open');
  });

  it('reports a jammed latch as stayed shut (status 00)', async () => {
    r = await kerongRig();
    r.sim.setLockFault(1, 4, 'jammed');
    expect(await r.bus.unlock(1, 4)).toEqual({ kind: 'stayed_shut', unlockReplied: true });
    expect(r.bus.doorState(1, 4)).toBe('closed');
  });

  it('queries one lock: shut, then open after it was forced', async () => {
    r = await kerongRig();
    expect(await r.bus.query(1, 16)).toEqual({ ok: true, value: false });
    r.sim.forceOpen(1, 16);
    expect(await r.bus.query(1, 16)).toEqual({ ok: true, value: true });
    expect(r.wire.at(-1)).toEqual({ dir: 'rx', bytes: '02 01 10 52 01 03 69' });
  });

  it('reads every door of a board with query-all and its 2-byte bitmap', async () => {
    r = await kerongRig({ boards: [{ address: 1 }, { address: 15 }] });
    r.sim.forceOpen(1, 1);
    r.sim.forceOpen(1, 16);
    r.sim.forceOpen(15, 9);
    const events: LockBusEvent[] = [];
    r.bus.on((e) => events.push(e));
    await r.bus.pollNow();
    expect(r.wire.filter((w) => w.dir === 'rx').map((w) => w.bytes)).toEqual([
      '02 01 00 50 80 01 03 D7', // S9-16 = 80 (lock 16), S1-8 = 01 (lock 1); bit set = open
      '02 0F 00 50 01 00 03 65', // lock 9 of board 15
    ]);
    const opened = (board: number) =>
      events.flatMap((e) => (e.type === 'doors' && e.board === board ? [e.open.flatMap((o, i) => (o ? [i + 1] : []))] : []));
    expect(opened(1)).toEqual([[1, 16]]);
    expect(opened(15)).toEqual([[9]]);
    expect(r.bus.doorState(1, 2)).toBe('closed');
  });

  it('sees a door opened by force on its own polling timer', async () => {
    r = await kerongRig({ poll: true, timeouts: { pollIntervalMs: 20 } });
    const changes: number[][] = [];
    r.bus.on((e) => e.type === 'doors' && e.source === 'poll' && e.changed.length > 0 && changes.push(e.changed));
    for (let i = 0; i < 100 && r.bus.doorState(1, 1) === 'unknown'; i++) await new Promise((res) => setTimeout(res, 5));
    r.sim.forceOpen(1, 7);
    for (let i = 0; i < 100 && r.bus.doorState(1, 7) !== 'open'; i++) await new Promise((res) => setTimeout(res, 5));
    expect(r.bus.doorState(1, 7)).toBe('open');
    expect(changes.at(-1)).toEqual([7]);
  });

  it('retries a query-all answered with a bad SUM, and counts the bad checksums', async () => {
    r = await kerongRig();
    r.sim.inject(1, 'bad_bcc', { times: 2 });
    const seen = requestsSeen(r);
    const res = await r.bus.queryAll(1);
    expect(res.ok && res.value).toEqual(new Array<boolean>(16).fill(false));
    expect(seen.map((q) => q.kind)).toEqual(['queryAll', 'queryAll', 'queryAll']);
    expect(counters(r).badChecksums).toBe(2);
    expect(counters(r).timeouts ?? 0).toBe(0); // a bad SUM is retried at once, not at the timeout
  });

  it('retries a single-lock query answered with a bad SUM', async () => {
    r = await kerongRig();
    r.sim.inject(1, 'bad_bcc', { times: 1 });
    r.sim.forceOpen(1, 1);
    expect(await r.bus.query(1, 1)).toEqual({ ok: true, value: true });
    expect(counters(r).badChecksums).toBe(1);
  });

  it('finds a reply behind noise with an STX in it, and counts the noise as garbage', async () => {
    r = await kerongRig();
    r.sim.inject(1, 'garbage', { times: 1 });
    expect((await r.bus.queryAll(1)).ok).toBe(true);
    expect(r.wire.find((w) => w.dir === 'rx')!.bytes.startsWith('13 02 7F 00 02 01')).toBe(true);
    expect(counters(r).garbageBytes).toBe(4);
  });

  it('reassembles a reply split into single bytes', async () => {
    r = await kerongRig();
    r.sim.inject(1, 'split');
    r.sim.forceOpen(1, 12);
    const res = await r.bus.queryAll(1);
    expect(res.ok && res.value[11]).toBe(true);
    expect(counters(r).timeouts ?? 0).toBe(0);
  });

  it('ignores and counts a reply from the wrong address, then retries', async () => {
    r = await kerongRig({ boards: [{ address: 1 }, { address: 2 }] });
    r.sim.inject(1, 'wrong_address', { times: 1 });
    r.sim.forceOpen(2, 1);
    const res = await r.bus.queryAll(1);
    expect(res.ok && res.value.some(Boolean)).toBe(false);
    expect(counters(r).wrongAddress).toBe(1);
  });

  it('marks a board that stops answering offline, after the query retries', async () => {
    r = await kerongRig();
    r.sim.inject(1, 'offline');
    const seen = requestsSeen(r);
    expect(await r.bus.queryAll(1)).toEqual({ ok: false, error: 'timeout' });
    expect(seen).toHaveLength(4); // SPEC §6: retried up to 3 times
    expect(r.bus.isReachable(1)).toBe(false);
    expect(r.health.get(boardDeviceId(1))!.state).toBe('offline');
  });
});

describe('simulated Kerong boards', () => {
  it('refuses a board that does not fit the profile', () => {
    expect(() => new LockBoardSim({ profile: K, boards: [{ address: 16 }] })).toThrow(RangeError);
    expect(() => new LockBoardSim({ profile: K, boards: [{ address: 1, locks: 24 }] })).toThrow(/1–16 locks/);
  });
});

describe('a station on Kerong boards', () => {
  it('drives lockBuses[].profile "kerong-cu16" end to end: a rider deposits and retrieves', async () => {
    const { dir, cleanup } = tempDir('waystation-kerong-station-');
    const line = createMockLine();
    const sim = new LockBoardSim({ profile: K, boards: [{ address: 1 }], latencyMs: 1, closeAfterMs: null });
    sim.attach(line.device);
    const config = resolveConfig(
      {
        stationId: 'dn-kerong',
        timezone: 'Asia/Shanghai',
        dataDir: './data',
        http: { host: '127.0.0.1', port: 0 },
        mqtt: { host: '127.0.0.1', port: 0 },
        credentials: { jwks: { keys: [] }, revokedRiders: [] },
        maintenanceTokens: [],
        dispensers: [],
        lockBuses: [{ path: line.path, profile: 'kerong-cu16', boards: [{ address: 1 }] }],
        lockers: { pollIntervalMs: 100 },
        logLevel: 'silent',
      },
      dir,
    );
    const station = await startStation(config, {
      logger: silentLogger(),
      scheduleJobs: false,
      bindings: { [line.path]: line.binding as unknown as BindingInterface },
      lockBusTimeouts: { replyTimeoutMs: 200, queryRetries: 1 },
    });
    try {
      expect(station.lockers.compartments()).toHaveLength(16);
      // Up to 5 s: on a loaded machine the first poll of a fresh station can take a while.
      for (let i = 0; i < 250 && !station.health.usable('lockboard-1'); i++) await new Promise((r) => setTimeout(r, 20));
      expect(station.health.usable('lockboard-1')).toBe(true);
      expect(await station.lockers.deposit('rider-k')).toEqual({ kind: 'deposited', compartment: '1-1' });
      expect(sim.door(1, 1)).toBe('open');
      sim.closeDoor(1, 1);
      await new Promise((r) => setTimeout(r, 300));
      expect(await station.lockers.retrieve('rider-k')).toEqual({ kind: 'retrieved', compartment: '1-1' });
      expect(sim.unlockCount(1, 1)).toBe(2);
    } finally {
      await station.stop();
      cleanup();
    }
  });
});
