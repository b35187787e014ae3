/**
 * One cloud instance of the fleet in a process of its own (`runFleet` with `processes`), as
 * instances run behind a load balancer: its own event loop, so the instances and the simulated
 * stations do not share one. The config comes as a JSON file named by argv[2], the cloud key in the
 * environment. Over IPC: `{url}` once listening; `{simFromEpochMs}` starts the simulated clock
 * (FLEET_START + pace × the time since then, as the parent's); `{stop: true}` stops and exits.
 */
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { parseCloudConfig } from '../../cloud/config.ts';
import { startCloud } from '../../cloud/server.ts';
import type { Clock } from '../../protocol/index.ts';
import { FLEET_START } from './fleetTime.ts';

const config = parseCloudConfig(JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Record<string, unknown>);
const pace = Number(process.argv[3]);
let simFrom: number | null = null;
const clock: Clock = {
  now: () => (simFrom === null ? FLEET_START : FLEET_START + Math.floor((Date.now() - simFrom) * pace)),
  monotonic: () => performance.now(),
};
const cloud = await startCloud(config, { logger: pino({ level: process.env.FLEET_DEBUG ? 'error' : 'silent' }), env: process.env, ...(pace > 0 ? { clock } : {}) });
process.on('message', (m: { simFromEpochMs?: number; stop?: boolean }) => {
  if (m.simFromEpochMs !== undefined) simFrom = m.simFromEpochMs;
  if (m.stop) void cloud.stop().then(() => process.exit(0));
});
process.send!({ url: cloud.url });
