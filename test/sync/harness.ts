/** A real edge Ledger and a real cloud (startCloud on port 0) for sync tests. */
import { join } from 'node:path';
import { ManualClock, systemClock } from '../../protocol/index.ts';
import { Ledger } from '../../edge/ledger/ledger.ts';
import { startCloud, type RunningCloud } from '../../cloud/server.ts';
import type { CloudConfig } from '../../cloud/config.ts';
import { silent, tempDir, testConfig } from '../cloud/helpers.ts';

export const START_MS = Date.parse('2026-11-23T01:00:00Z'); // Monday 09:00 in Shanghai

export function openLedger(clock = new ManualClock(START_MS), dir = tempDir('ws-edge-')): { ledger: Ledger; clock: ManualClock; path: string } {
  const path = join(dir, 'station.db');
  return { ledger: Ledger.open({ path, clock, timezone: 'Asia/Shanghai', logger: silent }), clock, path };
}

export async function cloudOn(config: CloudConfig, port?: number): Promise<RunningCloud> {
  const c = port === undefined ? config : { ...config, http: { ...config.http, port } };
  return startCloud(c, { clock: systemClock, logger: silent });
}

export function cloudConfig(): CloudConfig {
  return testConfig(tempDir('ws-cloud-'));
}

export async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
