/**
 * Dispense round trip through the embedded aedes broker (issue 3): `driver.dispense` →
 * `cmd/dispense` → simulator (0 ms motor) → `evt/dispense` → driver, over TCP loopback with
 * no-delay everywhere; against a plain aedes echo (an MQTT client that republishes each request
 * on another topic, the same mqtt.js client as the simulator's) measured in the same run, in
 * alternating rounds with the dispenses. Also the same echo with Nagle left on, the
 * ~40–90 ms a station would add to every bottle without TCP_NODELAY, and a whole claim
 * (reserve → send → dispense → settle, three fsynced ledger transactions).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes, type AedesPublishPacket } from 'aedes';
import { MqttClient } from 'mqtt';
import { systemClock } from '../protocol/index.ts';
import { ClaimService } from '../edge/core/claims.ts';
import { DeviceHealth } from '../edge/core/health.ts';
import { Broker } from '../edge/drivers/broker.ts';
import { DispenserDriver } from '../edge/drivers/dispensers.ts';
import { Ledger } from '../edge/ledger/ledger.ts';
import { QuotaLedger } from '../edge/ledger/quota-ledger.ts';
import { silentLogger } from '../edge/log.ts';
import { DispenserSimulator } from '../firmware-sim/dispenser/simulator.ts';
import { claimPolicy, driverTimings } from '../test/helpers/defaults.ts';
import { fmt, percentile, type BenchContext, type BenchRow } from './lib.ts';

const WARMUP = 200;
const SAMPLES = 3000;
/** Dispense and echo rounds alternate (SAMPLES / ROUNDS samples each per round). */
const ROUNDS = 10;
const NAGLE_SAMPLES = 40;
const CLAIM_SAMPLES = 300;

function ms(x: number): string {
  return `${fmt(x, 3)} ms`;
}

/**
 * A plain aedes broker with no hooks, handed the sockets directly; the requester publishes and
 * listens in-process like the driver, the responder is an mqtt.js client as the simulator is.
 */
async function openEcho(noDelay: boolean): Promise<{ round(samples: number, out: number[] | null): Promise<void>; close(): Promise<void> }> {
  const aedes = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server: Server = createServer({ noDelay }, (s) => {
    s.setNoDelay(noDelay);
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    aedes.handle(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const echo = new MqttClient(
    () => {
      const s = netConnect({ host: '127.0.0.1', port, noDelay });
      s.setNoDelay(noDelay);
      return s;
    },
    { clientId: 'echo', reconnectPeriod: 0 },
  );
  await new Promise<void>((r) => echo.once('connect', () => r()));
  await echo.subscribeAsync('bench/req', { qos: 1 });
  echo.on('message', (_t, payload) => echo.publish('bench/rep', payload, { qos: 1 }));
  const waiting = new Map<string, () => void>();
  await new Promise<void>((r) =>
    aedes.subscribe(
      'bench/rep',
      (p: AedesPublishPacket, cb: () => void) => {
        waiting.get(Buffer.from(p.payload).toString())?.();
        cb();
      },
      () => r(),
    ),
  );
  let n = 0;
  return {
    async round(samples, out) {
      for (let i = 0; i < samples; i++) {
        const id = `req-${n++}`;
        const t0 = performance.now();
        await new Promise<void>((resolve) => {
          waiting.set(id, resolve);
          // The same shape of payload as a dispense command.
          aedes.publish({ cmd: 'publish', topic: 'bench/req', payload: Buffer.from(id), qos: 1, retain: false, dup: false }, () => {});
        });
        waiting.delete(id);
        out?.push(performance.now() - t0);
      }
    },
    async close() {
      await echo.endAsync(true);
      await new Promise<void>((r) => aedes.close(() => r()));
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export default async function dispenserBench(ctx: BenchContext): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'waystation-bench-disp-'));
  const logger = silentLogger();
  const ledger = Ledger.open({ path: join(dir, 'station.db'), clock: systemClock, timezone: 'Asia/Shanghai', logger });
  const quota = new QuotaLedger(ledger);
  const health = new DeviceHealth({ ledger, clock: systemClock, logger });
  const broker = new Broker({ port: 0, devices: [{ id: 'disp-1', password: 'bench-secret' }], logger, health });
  const rows: BenchRow[] = [];
  try {
    const { port } = await broker.start();
    const driver = new DispenserDriver({ bus: broker, health, logger, dispensers: [{ id: 'disp-1' }], ...driverTimings({ dispenseTimeoutMs: 5000 }) });
    await driver.start();
    const sim = new DispenserSimulator({
      url: `mqtt://127.0.0.1:${port}`,
      id: 'disp-1',
      password: 'bench-secret',
      motorMs: 0,
      telemetryIntervalMs: 0,
      stock: 1_000_000,
    });
    await sim.start();
    const until = Date.now() + 3000;
    while (!health.usable('disp-1') && Date.now() < until) await new Promise((r) => setTimeout(r, 5));

    // The dispenses and the echo in alternating rounds, so both see the same machine: on a
    // shared VM a neighbour's burst lands in one side's samples otherwise.
    ctx.progress(`dispense round trips and plain aedes echo, no-delay (${SAMPLES} each, ${ROUNDS} alternating rounds)`);
    const echoBroker = await openEcho(true);
    let n = 0;
    const dispenseRound = async (samples: number, out: number[] | null): Promise<void> => {
      for (let i = 0; i < samples; i++, n++) {
        const t0 = performance.now();
        const a = await driver.dispense({ id: `bench-${n}`, dispenserId: 'disp-1', compartment: n % 2 ? 'hot' : 'cold', expiresAt: Date.now() + 60_000 });
        if (a.result !== 'dropped') throw new Error(`bench dispense ${n}: ${JSON.stringify(a)}`);
        out?.push(performance.now() - t0);
      }
    };
    const dispense: number[] = [];
    const echo: number[] = [];
    await dispenseRound(WARMUP, null);
    await echoBroker.round(WARMUP, null);
    // Each round's own p99 too: their median says whether a pooled p99 is one burst's.
    const roundP99 = { dispense: [] as number[], echo: [] as number[] };
    for (let r = 0; r < ROUNDS; r++) {
      const d: number[] = [];
      const e: number[] = [];
      // Which side goes first alternates too.
      const sides = [() => dispenseRound(SAMPLES / ROUNDS, d), () => echoBroker.round(SAMPLES / ROUNDS, e)];
      for (const side of r % 2 ? sides.reverse() : sides) await side();
      dispense.push(...d);
      echo.push(...e);
      roundP99.dispense.push(percentile(d, 99));
      roundP99.echo.push(percentile(e, 99));
    }
    await echoBroker.close();

    ctx.progress(`whole claims through the ledger (${CLAIM_SAMPLES})`);
    const claims = new ClaimService({ quota, driver, health, logger, resolveOnReconnect: false, ...claimPolicy() });
    await claims.start();
    const claim: number[] = [];
    for (let i = 0; i < CLAIM_SAMPLES; i++) {
      const rider = `bench-rider-${i}`;
      quota.checkin(rider);
      const t0 = performance.now();
      const out = await claims.claim(rider, 'hot');
      if (out.kind !== 'committed') throw new Error(`bench claim ${i}: ${out.kind}`);
      claim.push(performance.now() - t0);
    }
    await claims.stop();
    await sim.stop();
    await driver.stop();

    ctx.progress(`plain aedes echo, Nagle on (${NAGLE_SAMPLES})`);
    const nagleBroker = await openEcho(false);
    await nagleBroker.round(5, null);
    const nagle: number[] = [];
    await nagleBroker.round(NAGLE_SAMPLES, nagle);
    await nagleBroker.close();

    const e50 = percentile(echo, 50);
    const e99 = percentile(echo, 99);
    const d50 = percentile(dispense, 50);
    const d99 = percentile(dispense, 99);
    rows.push(
      { name: 'dispense round trip p50 (aedes, TCP, 0 ms motor)', value: ms(d50), ratio: `${fmt(d50 / e50, 2)}× echo p50` },
      {
        name: 'dispense round trip p99',
        value: ms(d99),
        ratio: `${fmt(d99 / e99, 2)}× echo p99 (target ≤ 1 ms); median of the ${ROUNDS} rounds' own p99s ${ms(percentile(roundP99.dispense, 50))}, echo's ${ms(percentile(roundP99.echo, 50))}`,
      },
      { name: 'baseline: plain aedes echo request/reply p50', value: ms(e50) },
      { name: 'baseline: plain aedes echo request/reply p99', value: ms(e99) },
      {
        name: 'same echo with Nagle on (no TCP_NODELAY) p50',
        value: ms(percentile(nagle, 50)),
        ratio: `${fmt(percentile(nagle, 50) / e50, 0)}× no-delay echo p50`,
      },
      {
        name: 'whole claim p50 (reserve + send + dispense + settle, 3 fsynced commits)',
        value: ms(percentile(claim, 50)),
        ratio: `${fmt(percentile(claim, 50) / d50, 1)}× dispense p50`,
      },
      { name: 'whole claim p99', value: ms(percentile(claim, 99)) },
    );
  } finally {
    await broker.stop();
    health.stop();
    ledger.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
