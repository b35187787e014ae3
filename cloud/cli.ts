/**
 * `waystation-cloud` (SPEC §11). `npm run cloud -- --config <file>` serves; subcommands manage
 * riders, credentials and signing keys directly in the store (safe while the server runs).
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { DEFAULT_TIMEZONE, isValidTimeZone, sha256Hex, STATION_ID_PATTERN, systemClock } from '../protocol/index.ts';
import { ConfigError, loadCloudConfig, quotaPolicyOf, type CloudConfig } from './config.ts';
import { ApiError } from './errors.ts';
import { RiderRegistry } from './riders/riderRegistry.ts';
import { cloudLogger, openStore, PortInUseError, startCloud } from './server.ts';
import { StationRegistry } from './stations/stationRegistry.ts';
import { CloudKeyError, newCloudKeyText } from './store/keyCipher.ts';
import type { CloudStore } from './store/store.ts';

const USAGE = `usage: waystation-cloud [serve] --config <file>
       waystation-cloud rider add --config <file> --group <courier|food_delivery|outdoor_worker|other> [--platform <name>] [--ttl-days <n>]
       waystation-cloud rider show <riderId> --config <file>
       waystation-cloud rider revoke <riderId> --config <file> [--reason <text>]
       waystation-cloud credential issue <riderId> --config <file> [--ttl-days <n>]
       waystation-cloud keys list --config <file>
       waystation-cloud keys rotate --config <file>
       waystation-cloud station add <id> --config <file> [--zone <zone>] [--timezone <IANA zone>]
       waystation-cloud station list --config <file>
       waystation-cloud station token <id> --config <file>      (a new token; the old one stops at once)
       waystation-cloud station disable|enable <id> --config <file>
       waystation-cloud station readmit <id> --from-seq <n> --config <file>
                           (after a stolen token: a new token, the events from seq n on dropped, rollups rebuilt)
       waystation-cloud key new            (a key for WAYSTATION_CLOUD_KEY or keyFile, SPEC §12)
       waystation-cloud token new          (a random token and the SHA-256 to put in a config)
       waystation-cloud token hash <token>
add --json for machine-readable output.`;

const out = (s: string): void => {
  process.stdout.write(`${s}\n`);
};
const fail = (msg: string, code = 2): never => {
  process.stderr.write(`${msg}\n`);
  process.exit(code);
};

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      group: { type: 'string' },
      platform: { type: 'string' },
      'ttl-days': { type: 'string' },
      reason: { type: 'string' },
      'from-seq': { type: 'string' },
      zone: { type: 'string' },
      timezone: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return out(USAGE);
  const [cmd = 'serve', sub, arg] = positionals;
  const print = (human: string, obj: unknown): void => out(values.json ? JSON.stringify(obj) : human);

  if (cmd === 'token') {
    if (sub === 'new') {
      const token = randomBytes(24).toString('base64url');
      return print(`token:  ${token}\nsha256: ${sha256Hex(token)}`, { token, sha256: sha256Hex(token) });
    }
    if (sub === 'hash' && arg) return print(sha256Hex(arg), { sha256: sha256Hex(arg) });
    return fail(USAGE);
  }

  if (cmd === 'key' && sub === 'new') {
    const key = newCloudKeyText();
    return print(key, { key });
  }

  if (!values.config) return fail(`--config <file> is required\n${USAGE}`);
  let config: CloudConfig;
  try {
    config = loadCloudConfig(values.config);
  } catch (e) {
    if (e instanceof ConfigError) return fail(e.message);
    throw e;
  }

  if (cmd === 'serve') {
    let cloud;
    try {
      cloud = await startCloud(config);
    } catch (e) {
      if (e instanceof PortInUseError || e instanceof CloudKeyError) return fail(e.message, 1);
      throw e;
    }
    out(`waystation cloud at ${cloud.url} — dashboard ${cloud.url}/dashboard — data in ${config.dataDir}`);
    const stop = () => void cloud.stop().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    return;
  }

  const ttl = values['ttl-days'] === undefined ? undefined : Number(values['ttl-days']);
  if (ttl !== undefined && !(Number.isInteger(ttl) && ttl >= 1 && ttl <= 3660)) return fail('--ttl-days must be a whole number of days, 1 to 3660');
  let store: CloudStore;
  try {
    store = await openStore(config);
  } catch (e) {
    if (e instanceof CloudKeyError) return fail(e.message, 1);
    throw e;
  }
  const riders = new RiderRegistry(store, systemClock, config.credentials, cloudLogger('warn'));
  try {
    if (cmd === 'station') {
      const stations = new StationRegistry(store, systemClock, cloudLogger('warn'), (zone) => quotaPolicyOf(config.quota, zone).scope);
      await stations.applyConfig(config.stations);
      if (sub === 'add' && arg) {
        const tz = values.timezone ?? DEFAULT_TIMEZONE;
        if (!isValidTimeZone(tz)) return fail(`--timezone ${tz} is not an IANA time zone; use one like Asia/Shanghai`);
        if (!new RegExp(STATION_ID_PATTERN).test(arg)) return fail('the station id must be lowercase letters, digits, - and _ (like dn-001)');
        const { station, token } = await stations.provision({ id: arg, timezone: tz, zone: values.zone ?? 'default' }, 'cli');
        return print(`station: ${station.id}\nzone:    ${station.zone}\ntoken:   ${token}\n(the token is shown only now: put it in the station's config, cloud.token)`, {
          id: station.id,
          token,
          timezone: station.timezone,
          zone: station.zone,
        });
      }
      if (sub === 'list') {
        const list = await stations.list();
        return print(
          list.map((s) => `${s.id}  ${s.zone}  ${s.enabled ? 'enabled ' : 'disabled'}  seq ${s.sync.ackedSeq}  ${s.sync.lastUploadAt ? new Date(s.sync.lastUploadAt).toISOString() : 'never synced'}`).join('\n') || '(no stations)',
          list,
        );
      }
      if (sub === 'token' && arg) {
        const token = await stations.rotateToken(arg, 'cli');
        return print(`token: ${token}\n(the old token stopped working; put this one in the station's config)`, { id: arg, token });
      }
      if (sub === 'readmit' && arg) {
        const from = Number(values['from-seq']);
        if (!(Number.isInteger(from) && from >= 1)) return fail('--from-seq must be the first seq to drop, a whole number from 1');
        const r = await stations.readmit(arg, from, 'cli');
        return print(
          `dropped: ${r.dropped} events of ${arg} from seq ${from} on; the cloud holds it up to seq ${r.ackedSeq}\ntoken:   ${r.token}\n(the old token stopped working: put this one in the real station's config, cloud.token; its next upload continues from seq ${r.ackedSeq + 1})`,
          { id: arg, ...r },
        );
      }
      if ((sub === 'disable' || sub === 'enable') && arg) {
        const s = await stations.update(arg, { enabled: sub === 'enable' }, 'cli');
        return print(`${s.id} ${s.enabled ? 'enabled' : 'disabled'}`, s);
      }
      return fail(USAGE);
    }
    if (cmd === 'rider' && sub === 'add') {
      const groups = ['courier', 'food_delivery', 'outdoor_worker', 'other'];
      if (!values.group || !groups.includes(values.group)) return fail(`--group must be one of ${groups.join(', ')}`);
      if (values.platform !== undefined && !/^[a-z0-9][a-z0-9_.-]{0,63}$/.test(values.platform)) return fail('--platform must be a short lowercase name like meituan');
      const rider = await riders.register({ group: values.group, platform: values.platform ?? null });
      const issued = await riders.issue(rider.riderId, ttl);
      return print(
        `riderId:    ${rider.riderId}\ncredential: ${issued.credential}\nkid:        ${issued.kid}\nexpires:    ${new Date(issued.expiresAt).toISOString()}`,
        { ...rider, credential: issued.credential, kid: issued.kid, expiresAt: issued.expiresAt },
      );
    }
    if (cmd === 'rider' && sub === 'show' && arg) {
      const r = await riders.get(arg);
      return print(JSON.stringify(r, null, 2), r);
    }
    if (cmd === 'rider' && sub === 'revoke' && arg) {
      const r = await riders.revoke(arg, values.reason ?? null);
      return print(`revoked ${r.riderId} at ${new Date(r.revokedAt!).toISOString()}`, r);
    }
    if (cmd === 'credential' && sub === 'issue' && arg) {
      const issued = await riders.issue(arg, ttl);
      return print(issued.credential, issued);
    }
    if (cmd === 'keys' && sub === 'list') {
      const keys = await riders.keyList();
      return print(
        keys.map((k) => `${k.kid}  ${k.retiredAt === null ? 'active ' : 'retired'}  ${k.published ? 'published' : 'expired'}`).join('\n') || '(no keys)',
        keys,
      );
    }
    if (cmd === 'keys' && sub === 'rotate') {
      const k = await riders.rotate();
      return print(`new active key ${k.kid}`, { kid: k.kid });
    }
    return fail(USAGE);
  } catch (e) {
    if (e instanceof ApiError) return fail(`${e.code}: ${e.message}`, 1);
    throw e;
  } finally {
    await store.close();
  }
}

main(process.argv.slice(2)).catch((e: unknown) => fail(`waystation-cloud: ${(e as Error).stack ?? String(e)}`, 1));
