/**
 * `npm run fleet [-- --stations 200 --days 1 --backend postgres|sqlite --instances 2 --pace 10 --postgres <url>]`:
 * a simulated fleet syncing to the cloud (scripts/fleet/runFleet.ts), with a progress bar; prints
 * ingest throughput, upload latency p50/p99, errors and the weekly report's time.
 * Without --postgres it starts a throwaway PostgreSQL cluster (Debian's, as the tests do).
 */
import { parseArgs } from 'node:util';
import { createDatabase, startCluster, type PgCluster } from '../test/helpers/postgres.ts';
import { runFleet } from './fleet/runFleet.ts';

const { values } = parseArgs({
  options: {
    stations: { type: 'string', default: '100' },
    days: { type: 'string', default: '1' },
    backend: { type: 'string', default: 'postgres' },
    instances: { type: 'string', default: '2' },
    batch: { type: 'string', default: '500' },
    pace: { type: 'string' },
    postgres: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const int = (name: keyof typeof values, min: number, max: number): number => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min || n > max) {
    process.stderr.write(`--${name} takes a whole number from ${min} to ${max}\n`);
    process.exit(2);
  }
  return n;
};
const backend = values.backend === 'sqlite' ? 'sqlite' : values.backend === 'postgres' ? 'postgres' : null;
if (!backend) {
  process.stderr.write('--backend is postgres or sqlite\n');
  process.exit(2);
}
const pace = values.pace === undefined ? null : Number(values.pace);
if (pace !== null && !(pace > 0)) {
  process.stderr.write('--pace takes a positive number (10 = ten times real time); leave it out to send every log at once\n');
  process.exit(2);
}

function bar(done: number, total: number, ms: number): void {
  const w = 30;
  const f = Math.round((done / total) * w);
  const rate = done / Math.max(0.001, ms / 1000);
  process.stderr.write(`\r[${'#'.repeat(f)}${'.'.repeat(w - f)}] ${((100 * done) / total).toFixed(0).padStart(3)}% ${done}/${total} events ${Math.round(rate)} ev/s `);
}

let cluster: PgCluster | null = null;
try {
  let pgUrl = values.postgres;
  if (backend === 'postgres' && !pgUrl) {
    cluster = await startCluster({ maxConnections: 300 });
    pgUrl = (await createDatabase(cluster.adminUrl, 'fleet')).url;
  }
  const r = await runFleet({
    stations: int('stations', 1, 100_000),
    days: int('days', 1, 366),
    backend,
    ...(pgUrl ? { pgUrl } : {}),
    instances: int('instances', 1, 16),
    batchSize: int('batch', 1, 1000),
    pace,
    onProgress: bar,
  });
  process.stderr.write('\n');
  if (values.json) process.stdout.write(`${JSON.stringify(r)}\n`);
  else {
    process.stdout.write(
      [
        `${r.stations} stations, ${r.events} events on ${backend}${backend === 'postgres' ? ` through ${values.instances} instances` : ''}${pace ? ` at ${pace}× real pace` : ' (every log at once)'}`,
        `  ingest:        ${Math.round(r.eventsPerSecond)} events/s (${r.seconds.toFixed(1)} s)`,
        `  upload:        ${r.uploads} uploads, p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, ${r.errors} errors, ${r.gaps} gap answers`,
        `  weekly report: ${r.weeklyReportMs.toFixed(1)} ms over the fleet`,
        '',
      ].join('\n'),
    );
  }
} finally {
  await cluster?.stop();
}
