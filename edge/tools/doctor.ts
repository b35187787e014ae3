/**
 * `waystation-edge doctor --config <file>` (SPEC §16): one line per check, for an installer at
 * the box — the config, each serial path (opens, and its configured boards answer), the MQTT
 * port (free, or the running station's broker), disk free, the clock against the cloud's, and
 * the cloud reachable with the station token accepted. Exit 1 if any check fails.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { lockBoardProfile } from '../../protocol/index.ts';
import { diskFreeBytes } from '../api/station-health.ts';
import type { StationConfig } from '../config.ts';
import type { BindingInterface } from '../drivers/lockbus/open-port.ts';
import { openSerialPort } from '../drivers/lockbus/open-port.ts';
import { serialOpenHint } from '../drivers/reopening-port.ts';
import { joinUrl } from '../sync/syncLedger.ts';
import { describeBoard, probeBus } from './probe.ts';

export interface DoctorLine {
  check: string;
  status: 'ok' | 'fail' | 'skip';
  detail: string;
}

export interface DoctorOptions {
  binding?: BindingInterface;
  fetch?: typeof fetch;
  boardTimeoutMs?: number;
  /** Below this the disk check fails (default 500 MB). */
  minDiskFreeBytes?: number;
  /** Clock skew against the cloud that fails the check (default 60 s). */
  maxClockSkewMs?: number;
  now?: () => number;
}

const line = (check: string, status: DoctorLine['status'], detail: string): DoctorLine => ({ check, status, detail });

async function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

async function serialLines(config: StationConfig, o: DoctorOptions): Promise<DoctorLine[]> {
  const out: DoctorLine[] = [];
  for (const bus of config.lockBuses) {
    const profile = lockBoardProfile(bus.profile);
    const r = await probeBus({ path: bus.path, baudRate: bus.baudRate, profile, timeoutMs: o.boardTimeoutMs ?? 500, addresses: bus.boards.map((b) => b.address), ...(o.binding ? { binding: o.binding } : {}) });
    if (!r.ok) {
      out.push(line(`lock bus ${bus.path}`, 'fail', `${r.reason}: ${r.hint}`));
      continue;
    }
    const answered = new Map(r.boards.map((b) => [b.address, b]));
    const silent = bus.boards.filter((b) => !answered.has(b.address)).map((b) => b.address);
    const heard = bus.boards.filter((b) => answered.has(b.address)).map((b) => describeBoard(answered.get(b.address)!, b.locks));
    if (silent.length === 0) out.push(line(`lock bus ${bus.path}`, 'ok', heard.join('; ')));
    else
      out.push(line(`lock bus ${bus.path}`, 'fail', `board ${silent.join(', ')} did not answer: check its power, the RS-485 A/B wires and its DIP address (waystation-edge probe --path ${bus.path} lists the boards that answer)${heard.length ? `; answered: ${heard.join('; ')}` : ''}`));
  }
  if (config.scanner) {
    try {
      const p = await openSerialPort({ path: config.scanner.path, baudRate: config.scanner.baudRate, binding: o.binding });
      await new Promise<void>((resolve) => p.close(() => resolve()));
      out.push(line(`scanner ${config.scanner.path}`, 'ok', 'opens'));
    } catch (e) {
      const h = serialOpenHint(config.scanner.path, e);
      out.push(line(`scanner ${config.scanner.path}`, 'fail', `${h.reason}: ${h.hint}`));
    }
  }
  return out;
}

async function mqttLine(config: StationConfig, f: typeof fetch): Promise<DoctorLine> {
  const { host, port } = config.mqtt;
  if (port === 0) return line('mqtt port', 'ok', 'port 0: any free port is taken at start');
  if (await portFree(host, port)) return line('mqtt port', 'ok', `${host}:${port} is free for the station's broker`);
  // In use: fine if it is this station running (its HTTP liveness answers).
  try {
    const res = await f(`http://${config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host}:${config.http.port}/healthz`, { signal: AbortSignal.timeout(2000) });
    if (res.ok) return line('mqtt port', 'ok', `${host}:${port} is in use by the running station (its broker is up)`);
  } catch {
    /* not the station */
  }
  return line('mqtt port', 'fail', `${host}:${port} is in use by another program (another MQTT broker? ss -ltnp 'sport = :${port}'); stop it or set mqtt.port`);
}

function diskLine(config: StationConfig, min: number): DoctorLine {
  let dir = config.dataDir;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  const free = diskFreeBytes(dir);
  if (free === null) return line('disk free', 'fail', `cannot read the disk of ${dir}`);
  const mb = Math.floor(free / 1_000_000);
  return free >= min ? line('disk free', 'ok', `${mb} MB free for ${config.dataDir}`) : line('disk free', 'fail', `only ${mb} MB free for ${config.dataDir}; free space (old backups, logs: journalctl --vacuum-size=200M)`);
}

async function cloudLines(config: StationConfig, f: typeof fetch, o: DoctorOptions): Promise<DoctorLine[]> {
  if (!config.cloud) return [line('clock', 'skip', 'no cloud to compare with; check timedatectl shows "System clock synchronized: yes"'), line('cloud', 'skip', 'no cloud configured')];
  const url = joinUrl(config.cloud.url, `/v1/stations/${encodeURIComponent(config.stationId)}/config`);
  const sent = (o.now ?? Date.now)();
  let res: Response;
  try {
    res = await f(url, { headers: { authorization: `Bearer ${config.cloud.token}` }, signal: AbortSignal.timeout(5000) });
  } catch (e) {
    const why = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
    return [line('clock', 'fail', 'cannot compare: the cloud is unreachable'), line('cloud', 'fail', `${config.cloud.url} unreachable (${why}): check the network, DNS and the URL`)];
  }
  const got = (o.now ?? Date.now)();
  const date = Date.parse(res.headers.get('date') ?? '');
  let clock: DoctorLine;
  if (Number.isNaN(date)) clock = line('clock', 'skip', 'the cloud sent no Date header');
  else {
    // The Date header has 1 s resolution: compare against the middle of the exchange.
    const skew = Math.round((got + sent) / 2 - date);
    const max = o.maxClockSkewMs ?? 60_000;
    clock = Math.abs(skew) <= max + 1000
      ? line('clock', 'ok', `within ${Math.ceil(Math.abs(skew) / 1000)} s of the cloud`)
      : line('clock', 'fail', `${Math.round(skew / 1000)} s ${skew > 0 ? 'ahead of' : 'behind'} the cloud: turn on network time (timedatectl set-ntp true)`);
  }
  await res.arrayBuffer().catch(() => undefined);
  if (res.status === 200) return [clock, line('cloud', 'ok', `${config.cloud.url} reachable, station token accepted`)];
  if (res.status === 401 || res.status === 403) return [clock, line('cloud', 'fail', `${config.cloud.url} refused the station token (${res.status}): put the token the cloud issued for ${config.stationId} in /cloud/token`)];
  if (res.status === 404) return [clock, line('cloud', 'fail', `${config.cloud.url} does not know station ${config.stationId} (404): add it to the cloud's stations or fix /stationId`)];
  return [clock, line('cloud', 'fail', `${config.cloud.url} answered ${res.status}: check the URL, or the cloud's own logs`)];
}

export async function runDoctor(config: StationConfig, o: DoctorOptions = {}): Promise<DoctorLine[]> {
  const f = o.fetch ?? globalThis.fetch;
  return [
    line('config', 'ok', `station ${config.stationId}, data in ${config.dataDir}`),
    ...(await serialLines(config, o)),
    await mqttLine(config, f),
    diskLine(config, o.minDiskFreeBytes ?? 500_000_000),
    ...(await cloudLines(config, f, o)),
  ];
}

export function formatDoctorLine(l: DoctorLine): string {
  return `${l.status === 'ok' ? 'ok  ' : l.status === 'fail' ? 'FAIL' : 'skip'}  ${l.check}: ${l.detail}`;
}
