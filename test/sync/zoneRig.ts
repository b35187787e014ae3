/**
 * A zone of real stations and a real cloud (SPEC §13) for the zone tests, chaos run and bench:
 * the cloud (SQLite store, quota scope "zone") on port 0, and each station an in-process
 * `startStation` with the dispenser simulator (test/chaos/rig.ts). Each station reaches the
 * cloud through its own TCP link on port 0 that a test can cut (a partition: open connections
 * are destroyed, new ones refused) and mend, and that follows the cloud when it restarts on
 * another port. Nothing of ours is mocked.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { pino } from 'pino';
import { parseCloudConfig, type CloudConfig } from '../../cloud/config.ts';
import { startCloud, type RunningCloud } from '../../cloud/server.ts';
import { systemClock, type Clock } from '../../protocol/index.ts';
import { tempDir } from '../helpers/tmp.ts';
import { sha256, startRig, waitFor, type Rig, type RigOptions } from '../chaos/rig.ts';

export const ADMIN_TOKEN = 'zone-admin-token-0123456789';
export const tokenOf = (stationId: string): string => `zone-station-token-${stationId}-0123456789`;

/** A TCP link from a station to the cloud that a test can cut and mend. */
export class CloudLink {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  cut = false;
  port = 0;

  constructor(public target: number) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      if (this.cut) {
        client.destroy();
        return;
      }
      const upstream = connect(this.target, '127.0.0.1');
      this.sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** Partition: every open connection is cut and new ones are refused. */
  partition(): void {
    this.cut = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  heal(): void {
    this.cut = false;
  }

  async stop(): Promise<void> {
    this.partition();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

export interface ZoneOptions {
  stations: string[];
  zone?: string;
  /** A station's own zone where it is not `zone`. */
  zones?: Record<string, string>;
  clock?: Clock;
  /** Cloud config overrides (e.g. quota). */
  cloud?: Record<string, unknown>;
  /** Per-station rig options (config keys are merged). */
  rig?: Omit<RigOptions, 'clock'>;
  /** How long the cloud may hold one feed poll (the station's `cloud.zoneFeedWaitMs`). */
  zoneFeedWaitMs?: number;
  /** What to wait for before answering: every feed's first answer (default), or only the config pull. */
  ready?: 'feed' | 'config';
}

export interface Zone {
  cloud: RunningCloud;
  cloudConfig: CloudConfig;
  stations: Record<string, Rig>;
  links: Record<string, CloudLink>;
  /** Stop the cloud (its data stays) and start it again on a new port; the links follow. */
  stopCloud(): Promise<void>;
  startCloud(): Promise<void>;
  admin(path: string, init?: { method: string; body: unknown }): Promise<{ status: number; body: Record<string, unknown> }>;
  /** Every station's log acknowledged by the cloud. */
  synced(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const silent = pino({ level: 'silent' });

export async function startZone(o: ZoneOptions): Promise<Zone> {
  const clock = o.clock ?? systemClock;
  const zone = o.zone ?? 'daning';
  const dir = tempDir('waystation-zone-cloud-');
  const cloudConfig = parseCloudConfig(
    {
      http: { host: '127.0.0.1', port: 0 },
      dataDir: dir.dir,
      stations: o.stations.map((id) => ({ id, tokenSha256: sha256(tokenOf(id)), timezone: 'Asia/Shanghai', zone: o.zones?.[id] ?? zone })),
      adminTokens: [{ name: 'street-office', sha256: sha256(ADMIN_TOKEN) }],
      quota: { scope: 'zone' },
      logLevel: 'silent',
      ...o.cloud,
    },
    { baseDir: dir.dir },
  );
  let cloud: RunningCloud | undefined = await startCloud(cloudConfig, { clock, logger: silent });
  const links: Record<string, CloudLink> = {};
  const stations: Record<string, Rig> = {};
  try {
    for (const id of o.stations) {
      const link = new CloudLink(cloud.port);
      await link.start();
      links[id] = link;
      stations[id] = await startRig({
        boards: 0,
        ...o.rig,
        clock,
        config: {
          stationId: id,
          cloud: { url: `http://127.0.0.1:${link.port}`, token: tokenOf(id), zoneFeedWaitMs: o.zoneFeedWaitMs ?? 20_000 },
          ...o.rig?.config,
        },
      });
    }
    // The config pull brings the zone and scope; then the feed bootstraps.
    for (const id of o.stations) {
      const st = stations[id]!.station;
      if (o.ready === 'config') await waitFor(() => st.configPuller?.status().lastSuccessAt != null, 15_000, `${id}'s config pull`);
      else await waitFor(() => st.zoneFeed?.status().lastOkAt != null, 15_000, `${id}'s zone feed`);
    }
  } catch (e) {
    for (const r of Object.values(stations)) await r.stop().catch(() => {});
    for (const l of Object.values(links)) await l.stop();
    await cloud.stop();
    dir.cleanup();
    throw e;
  }
  const z: Zone = {
    get cloud() {
      return cloud!;
    },
    cloudConfig,
    stations,
    links,
    async stopCloud() {
      await cloud?.stop();
      cloud = undefined;
    },
    async startCloud() {
      cloud = await startCloud(cloudConfig, { clock, logger: silent });
      for (const l of Object.values(links)) l.target = cloud.port;
    },
    async admin(path, init) {
      const res = await fetch(`${cloud!.url}${path}`, {
        method: init?.method ?? 'GET',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(init ? { 'content-type': 'application/json' } : {}) },
        ...(init ? { body: JSON.stringify(init.body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    },
    async synced(timeoutMs = 20_000) {
      for (const [id, r] of Object.entries(stations)) {
        r.station.uploader?.nudge();
        await waitFor(() => r.station.ledger.backlog() === 0, timeoutMs, `${id} synced`);
      }
    },
    async stop() {
      for (const r of Object.values(stations)) await r.stop().catch(() => {});
      for (const l of Object.values(links)) await l.stop();
      await cloud?.stop();
      dir.cleanup();
    },
  };
  return z;
}
