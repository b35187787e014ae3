/**
 * `npm run fleet [-- --stations 200 --days 1 --hours 24 --backend postgres|sqlite --instances 2 --pace 10 --postgres <url> --processes]`:
 * a simulated fleet syncing to the cloud (scripts/fleet/runFleet.ts), with a progress bar; prints
 * ingest throughput, upload latency p50/p99, errors and the weekly report's time. With a pace the
 * logs are streamed (each station holds only its unsent events), so 10,000 stations fit; `--hours`
 * simulates only the first hours of the day (a full day at 10× takes 2.4 hours).
 * `--processes` runs each PostgreSQL instance in a process of its own (as behind a load balancer).
 * Without --postgres it starts a throwaway PostgreSQL cluster (Debian's, as the tests do).
 */
import { parseArgs } from 'node:util';
import { createDatabase, startCluster, type PgCluster } from '../test/helpers/postgres.ts';
import { runFleet, type FleetProgress } from './fleet/runFleet.ts';

const { values } = parseArgs({
  options: {
    stations: { type: 'string', default: '100' },
    days: { type: 'string', default: '1' },
    backend: { type: 'string', default: 'postgres' },
    instances: { type: 'string', default: '2' },
    batch: { type: 'string', default: '500' },
    pace: { type: 'string' },
    hours: { type: 'string' },
    postgres: { type: 'string' },
    json: { type: 'boolean', default: false },
    processes: { type: 'boolean', default: false },
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

function bar(p: FleetProgress): void {
  const w = 30;
  const f = Math.round(Math.min(1, p.fraction) * w);
  const rate = p.acked / Math.max(0.001, p.elapsedMs / 1000);
  process.stderr.write(`\r[${'#'.repeat(f)}${'.'.repeat(w - f)}] ${(100 * Math.min(1, p.fraction)).toFixed(0).padStart(3)}% ${p.acked}/${p.released} events acknowledged, ${Math.round(rate)} ev/s `);
}

function hoursArg(): number {
  const h = Number(values.hours);
  if (!(h > 0) || h > 24 * int('days', 1, 366)) {
    process.stderr.write('--hours takes a positive number up to 24 × --days; it needs --pace\n');
    process.exit(2);
  }
  if (pace === null) {
    process.stderr.write('--hours needs --pace (without a pace every log is sent at once)\n');
    process.exit(2);
  }
  return h;
}

const fmtCpu = (c: { instances: number; postgres: number | null; fleet: number; total: number }) =>
  `${c.total.toFixed(2)} ms per upload of the whole machine: instances ${c.instances.toFixed(2)}, PostgreSQL ${c.postgres === null ? 'not measured' : c.postgres.toFixed(2)}, fleet (this process) ${c.fleet.toFixed(2)}`;

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
    ...(values.hours !== undefined ? { hours: hoursArg() } : {}),
    processes: values.processes,
    onProgress: bar,
  });
  process.stderr.write('\n');
  if (values.json) process.stdout.write(`${JSON.stringify(r)}\n`);
  else {
    process.stdout.write(
      [
        `${r.stations} stations, ${r.events} events on ${backend}${backend === 'postgres' ? ` through ${values.instances} instances` : ''}${pace ? ` at ${pace}× real pace` : ' (every log at once)'}`,
        `  ingest:        ${Math.round(r.eventsPerSecond)} events/s (${r.seconds.toFixed(1)} s${pace ? ` for ${r.simulatedHours} simulated hours; kept up: ${r.keptUp ? 'yes' : 'no'}` : ''})`,
        `  upload:        ${r.uploads} uploads (${Math.round(r.uploads / r.seconds)}/s), p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, ${r.errors} errors${r.errors ? ` (by status: ${JSON.stringify(r.errorsByStatus)})` : ''}, ${r.gaps} gap answers`,
        `  cpu:           ${r.cpuMsPerUpload.toFixed(2)} ms of this process (${values.processes && backend === 'postgres' ? 'the stations; the instances run in their own' : 'instances and stations'}) per upload; load average ${r.loadAverage.toFixed(1)} at the end`,
        `  cpu by process: ${fmtCpu(r.cpuPerUpload)}`,
        `  weekly report: ${r.weeklyReportMs.toFixed(1)} ms over the fleet`,
        '',
      ].join('\n'),
    );
  }
} finally {
  await cluster?.stop();
}
