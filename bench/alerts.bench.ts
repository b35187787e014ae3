/**
 * Device goes silent → notification received (SPEC §15), end to end: a real station (edge
 * daemon, broker, dispenser simulator) syncing to a real cloud whose WeCom channel points at a
 * local receiver. Each run pulls the dispenser's plug and times until the firing message
 * arrives, then powers it back and waits for the resolved one. The baseline is the offline
 * threshold itself (the alert must not fire before it): the ratio says what sync, evaluation
 * and sending add on top.
 */
import { startCloud } from '../cloud/server.ts';
import { startHarness } from '../test/helpers/station.ts';
import { silent, testConfig, TOKENS } from '../test/cloud/helpers.ts';
import { receiver } from '../test/cloud/notifyReceiver.ts';
import { fmt, percentile, type BenchContext, type BenchRow } from './lib.ts';

const RUNS = 20;
const OFFLINE_AFTER_MS = 1000;

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export default async function run(ctx: BenchContext): Promise<BenchRow[]> {
  // A channel takes at most 20 messages a minute (SPEC §15) and each run costs two: the runs go
  // round three stations, each with its own channel, so the rate limit never holds one back.
  const stations = ['dn-001', 'dn-002', 'jd-003'] as const;
  const rxs = await Promise.all(stations.map((s) => receiver(`/wecom?key=${s}`)));
  const cloud = await startCloud(
    testConfig(undefined, {
      alerts: { deviceOfflineAfterMs: OFFLINE_AFTER_MS, evaluateIntervalMs: 100, notifyPollMs: 100 },
      notify: stations.map((s, i) => ({ kind: 'wecom', url: rxs[i]!.url, stations: [s] })),
    }),
    { logger: silent },
  );
  const hs = [];
  for (const s of stations) hs.push(await startHarness({ locks: 0, config: { stationId: s, cloud: { url: cloud.url, token: TOKENS[s] } } }));
  const samples: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const h = hs[i % stations.length]!;
      const rx = rxs[i % stations.length]!;
      const before = rx.received.length;
      const t0 = Date.now();
      h.dispenser!.powerLoss(null);
      await until(() => rx.received.length > before, OFFLINE_AFTER_MS + 10_000, 'the firing message');
      samples.push(rx.received[before]!.at - t0);
      await h.dispenser!.start();
      await until(() => rx.received.length > before + 1, 10_000, 'the resolved message');
      if ((i + 1) % 5 === 0) ctx.progress(`${i + 1}/${RUNS} runs`);
    }
  } finally {
    for (const h of hs) await h.stop();
    await cloud.stop();
    for (const rx of rxs) await rx.close();
  }
  const p50 = percentile(samples, 50);
  const p99 = percentile(samples, 99);
  const ratio = (x: number) => `${fmt(x / OFFLINE_AFTER_MS, 2)}× the ${fmt(OFFLINE_AFTER_MS)} ms offline threshold`;
  return [
    { name: `device silent → firing message received, p50 (${RUNS} runs)`, value: `${fmt(p50)} ms`, ratio: ratio(p50) },
    { name: `device silent → firing message received, p99 (${RUNS} runs)`, value: `${fmt(p99)} ms`, ratio: `${ratio(p99)} (SPEC §15 proof: ≤ threshold + 10 s)` },
  ];
}
