/**
 * `waystation-edge check` warnings (SPEC §16): what a valid config can still get wrong on a real
 * box — secrets left as in the example (`change-me-*`), a config or data folder others can
 * read, no keys to check rider codes with, no cloud. `--strict` turns them into a refusal.
 * Each warning has a stable code and says what to do.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '../../protocol/index.ts';
import type { StationConfig } from '../config.ts';

export interface CheckWarning {
  code: 'example_secret' | 'readable_by_others' | 'no_signing_keys' | 'no_cloud';
  message: string;
}

/** What `--strict` refuses; `no_cloud` stays advice, since a station may run alone (SPEC §11). */
export function refusedByStrict(w: CheckWarning): boolean {
  return w.code !== 'no_cloud';
}

const EXAMPLE_PREFIX = 'change-me-';
/** The example config's maintenance token (edge/station.example.json). */
const EXAMPLE_TOKEN_HASHES = new Set([sha256Hex('change-me-maintenance-token')]);

function othersCanRead(path: string): boolean | null {
  try {
    return (statSync(path).mode & 0o004) !== 0;
  } catch {
    return null;
  }
}

export function checkWarnings(config: StationConfig, configFile: string): CheckWarning[] {
  const out: CheckWarning[] = [];
  for (const d of config.dispensers) {
    if (d.password.startsWith(EXAMPLE_PREFIX))
      out.push({ code: 'example_secret', message: `/dispensers/${d.id}/password is still the example "${EXAMPLE_PREFIX}…"; set a long random secret here and on the device` });
  }
  if (config.cloud?.token.startsWith(EXAMPLE_PREFIX))
    out.push({ code: 'example_secret', message: '/cloud/token is still the example; put the station token the cloud issued' });
  for (const t of config.maintenanceTokens) {
    if (EXAMPLE_TOKEN_HASHES.has(t.sha256))
      out.push({ code: 'example_secret', message: `/maintenanceTokens/${t.name} is the example token "change-me-maintenance-token"; make a new one (printf %s "$T" | waystation-edge token-hash)` });
  }
  const paths: Array<[string, string]> = [
    ['the config file', configFile],
    ['the data folder', config.dataDir],
    ['the station database', join(config.dataDir, 'station.db')],
  ];
  if (config.maintenance?.tls) paths.push(['the TLS key', config.maintenance.tls.keyFile]);
  for (const [what, path] of paths) {
    if (othersCanRead(path))
      out.push({ code: 'readable_by_others', message: `${what} ${path} can be read by every user of this machine (it holds secrets or riders' records); chmod o-rwx ${path}` });
  }
  if (config.credentials.jwks.keys.length === 0 && !config.cloud)
    out.push({ code: 'no_signing_keys', message: '/credentials/jwks/keys is empty and no cloud syncs keys: every rider code will be refused; add the cloud\'s public key or a cloud link' });
  if (!config.cloud)
    out.push({ code: 'no_cloud', message: 'no /cloud: the station runs alone — its log is kept but nobody is told when a device breaks; add the cloud URL and station token' });
  return out;
}
