/**
 * The cloud's configuration (SPEC §11): one validated, frozen object passed down.
 * Start-up is refused with one message per bad key, each naming its path.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { AlertsConfigSchema, NotifyChannelSchema, channelName } from './notify/channelConfig.ts';
import { DEFAULT_TIMEZONE, DeviceListEntry, STATION_ID_PATTERN, TokenHash, isValidTimeZone } from '../protocol/index.ts';

const Sha256 = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'lowercase hex SHA-256' });

export const StationEntry = Type.Object(
  {
    id: Type.String({ pattern: STATION_ID_PATTERN }),
    tokenSha256: Sha256,
    timezone: Type.String({ default: DEFAULT_TIMEZONE }),
    zone: Type.String({ minLength: 1, maxLength: 64, default: 'default' }),
    /** Maintenance token hashes this station accepts; synced in its config doc (SPEC §9). */
    maintenanceTokens: Type.Array(TokenHash, { default: [] }),
    devices: Type.Array(DeviceListEntry, { default: [] }),
  },
  { additionalProperties: false },
);

/** Roles of cloud tokens (SPEC §17): what each may see is decided in `Auth.requireRole`. */
export const ROLES = ['admin', 'office', 'maintenance', 'sponsor'] as const;
export type Role = (typeof ROLES)[number];

export const AdminTokenEntry = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64 }),
    sha256: Sha256,
    role: Type.Union(ROLES.map((r) => Type.Literal(r)), { default: 'admin' }),
    /** For `role: "sponsor"`: the sponsor whose statement this token may read. */
    sponsorId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);

const QuotaScope = Type.Union([Type.Literal('station'), Type.Literal('zone')], { default: 'station' });

/** One zone's quota policy (SPEC §13); each key absent here is the cloud-wide one. */
export const ZonePolicy = Type.Object(
  {
    windowDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 366 })),
    claimsPerDay: Type.Optional(Type.Integer({ minimum: 1, maximum: 24 })),
    scope: Type.Optional(Type.Union([Type.Literal('station'), Type.Literal('zone')])),
  },
  { additionalProperties: false },
);

export const CloudConfigSchema = Type.Object(
  {
    http: Type.Object(
      {
        host: Type.String({ default: '127.0.0.1' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 8090 }),
        /** Upper bound of a sync upload body. */
        bodyLimitBytes: Type.Integer({ minimum: 65_536, maximum: 64 * 1024 * 1024, default: 8 * 1024 * 1024 }),
        /**
         * Behind a load balancer: the addresses (IPs or CIDRs, comma-separated) whose
         * X-Forwarded-For is believed, so a rider's own address counts for the enrolment limit,
         * not the balancer's. Unset: the connection's address.
         */
        trustProxy: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, pattern: '^[0-9A-Fa-f.:/]+(\\s*,\\s*[0-9A-Fa-f.:/]+)*$' })),
      },
      { additionalProperties: false, default: {} },
    ),
    dataDir: Type.String({ minLength: 1 }),
    /** SQLite in dataDir by default; `url` (postgres://user:password@host:port/database) keeps everything in PostgreSQL (SPEC §12). */
    storage: Type.Object(
      {
        url: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
        /** Connections per instance in the PostgreSQL pool. */
        poolSize: Type.Integer({ minimum: 1, maximum: 200, default: 10 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** File holding the 32-byte key that seals signing keys at rest (SPEC §12); or set WAYSTATION_CLOUD_KEY. */
    keyFile: Type.Optional(Type.String({ minLength: 1 })),
    stations: Type.Array(StationEntry, { default: [] }),
    adminTokens: Type.Array(AdminTokenEntry, { default: [] }),
    credentials: Type.Object(
      {
        /** Lifetime of an issued rider credential. */
        ttlDays: Type.Integer({ minimum: 1, maximum: 3660, default: 365 }),
        /**
         * The longest lifetime an admin or the CLI may ask for (default: ttlDays). Sent to
         * stations as `maxLifetimeDays` (SPEC §4): they refuse credentials that live longer.
         */
        maxTtlDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3660 })),
        /** Stations accept only rotating, device-signed codes (SPEC §14); sent with the config pull. */
        requireDeviceBound: Type.Boolean({ default: false }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Riders' own codes (SPEC §14): the enrolment page, its notice, and its limits. */
    riders: Type.Object(
      {
        /** The address riders reach the cloud at, for invite URLs (`{publicUrl}/r/?invite=`); else the request's host. */
        publicUrl: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 256 })),
        /** Who riders contact about their data, shown in the notice (zh / en). */
        privacyContact: Type.String({ minLength: 1, maxLength: 200, default: '所在街道办事处服务窗口 / the service desk of your street office' }),
        /** How long check-ins and bottles are kept, as the notice says. */
        keepDays: Type.Integer({ minimum: 1, maximum: 3660, default: 730 }),
        /** Enrolments per client address per window. */
        enrolPerAddress: Type.Integer({ minimum: 1, maximum: 10_000, default: 20 }),
        enrolWindowMs: Type.Integer({ minimum: 1000, maximum: 86_400_000, default: 3_600_000 }),
        /** Hazard reports (SPEC §17) one rider may file per service day (Asia/Shanghai). */
        hazardsPerDay: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
        /** Largest hazard photo accepted, in bytes (the page sends a JPEG of at most 1280 px). */
        hazardPhotoMaxBytes: Type.Integer({ minimum: 16_384, maximum: 4_194_304, default: 614_400 }),
      },
      { additionalProperties: false, default: {} },
    ),
    quota: Type.Object(
      {
        windowDays: Type.Integer({ minimum: 1, maximum: 366, default: 7 }),
        claimsPerDay: Type.Integer({ minimum: 1, maximum: 24, default: 1 }),
        /** SPEC §13: `station` keeps §3 per station; `zone` holds it across the stations of a zone. */
        scope: QuotaScope,
        /** Per-zone policies (SPEC §13 `quota.zones: {zone: policy}`); a key left out comes from above. */
        zones: Type.Record(Type.String({ minLength: 1, maxLength: 64 }), ZonePolicy, { default: {}, maxProperties: 10_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** SPEC §13 zone feed: bounds of the long poll. */
    zoneFeed: Type.Object(
      {
        /** Entries in one answer; a full answer means "ask again at once". */
        maxEntries: Type.Integer({ minimum: 1, maximum: 5000, default: 500 }),
        /** Open long polls of one station; one more answers the oldest at once. */
        maxPollsPerStation: Type.Integer({ minimum: 1, maximum: 16, default: 2 }),
        /** Open long polls of this process; past it a poll is answered at once. */
        maxPolls: Type.Integer({ minimum: 1, maximum: 100_000, default: 5000 }),
        /** A waiting poll looks at the store this often even without a wake-up (a lost NOTIFY). */
        fallbackPollMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 2000 }),
        /**
         * Days of feed rows kept (by service day); older ones are deleted hourly. A row older than
         * the longest window plus two days can no longer decide anything at a station.
         */
        keepDays: Type.Integer({ minimum: 3, maximum: 3660, default: 14 }),
      },
      { additionalProperties: false, default: {} },
    ),
    health: Type.Object(
      {
        /** A station whose last heartbeat is older than this is offline (heartbeats come every minute, SPEC §6b). */
        stationOfflineAfterMs: Type.Integer({ minimum: 10_000, maximum: 86_400_000, default: 180_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** SPEC §15 alert thresholds and the notifier's timing. */
    alerts: AlertsConfigSchema,
    /** SPEC §15 notification channels. */
    notify: Type.Array(NotifyChannelSchema, { default: [], maxItems: 64 }),
    /** Where people open the dashboard; messages link to it. */
    publicUrl: Type.Optional(Type.String({ pattern: '^https?://', maxLength: 2048 })),
    logLevel: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
      { default: 'info' },
    ),
  },
  { additionalProperties: false },
);
export type CloudConfig = Readonly<Static<typeof CloudConfigSchema>>;
export type StationConfig = Static<typeof StationEntry>;

export class ConfigError extends Error {
  readonly code = 'invalid_config';
  constructor(readonly problems: string[]) {
    super(`invalid cloud config:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** Validate a parsed config (defaults filled in); throws ConfigError listing each bad key. */
export function parseCloudConfig(input: unknown, opts: { baseDir?: string } = {}): CloudConfig {
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw new ConfigError(['/: the config must be a JSON object']);
  const value = Value.Default(CloudConfigSchema, structuredClone(input)) as Static<typeof CloudConfigSchema>;
  const byPath = new Map<string, string>();
  for (const e of Value.Errors(CloudConfigSchema, value)) {
    const path = e.path || '/';
    // One message per bad key: the first (most specific) one TypeBox reports.
    if (!byPath.has(path)) byPath.set(path, e.message);
  }
  const problems = [...byPath].map(([p, m]) => `${p}: ${m}`);
  if (problems.length === 0) {
    const seen = new Set<string>();
    value.stations.forEach((s, i) => {
      if (seen.has(s.id)) problems.push(`/stations/${i}/id: duplicate station id ${s.id}`);
      seen.add(s.id);
      if (!isValidTimeZone(s.timezone)) problems.push(`/stations/${i}/timezone: unknown IANA time zone ${s.timezone}`);
    });
    const tokens = new Set<string>();
    value.stations.forEach((s, i) => {
      if (tokens.has(s.tokenSha256)) problems.push(`/stations/${i}/tokenSha256: two stations share one token`);
      tokens.add(s.tokenSha256);
    });
    const names = new Set<string>();
    value.notify.forEach((c, i) => {
      const n = channelName(c, i);
      if (names.has(n)) problems.push(`/notify/${i}/name: two channels are named ${n}`);
      names.add(n);
    });
    const longest = Math.max(value.quota.windowDays, ...Object.values(value.quota.zones).map((z) => z.windowDays ?? 0));
    if (value.zoneFeed.keepDays < longest + 2) {
      problems.push(`/zoneFeed/keepDays: ${value.zoneFeed.keepDays} days is less than the longest quota window (${longest} days) plus 2; raise it to at least ${longest + 2}`);
    }
    value.adminTokens.forEach((a, i) => {
      if (a.role === 'sponsor' && !a.sponsorId) problems.push(`/adminTokens/${i}/sponsorId: a sponsor token needs the sponsorId it may read`);
      if (a.role !== 'sponsor' && a.sponsorId) problems.push(`/adminTokens/${i}/sponsorId: only a sponsor token has a sponsorId`);
    });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  value.dataDir = resolve(opts.baseDir ?? process.cwd(), value.dataDir);
  if (value.keyFile !== undefined) value.keyFile = resolve(opts.baseDir ?? process.cwd(), value.keyFile);
  return deepFreeze(value);
}

/** Read and validate a config file. A relative `dataDir` is taken from the config file's folder. */
export function loadCloudConfig(path: string): CloudConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError([`cannot read config file ${path}: ${(e as Error).message}`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError([`${path} is not valid JSON: ${(e as Error).message}`]);
  }
  // A relative dataDir is the config file's neighbour, as for the edge: the CLI run from any
  // folder then opens the same database as the server.
  const config = parseCloudConfig(json, { baseDir: dirname(resolve(path)) });
  // Until 2026-11-29 it was taken from the working directory. Never start a new, empty database
  // beside one that holds the fleet's data (every station would be refused with a gap).
  const raw = (json as { dataDir?: unknown }).dataDir;
  if (typeof raw === 'string' && !isAbsolute(raw)) {
    const before = resolve(process.cwd(), raw);
    if (before !== config.dataDir && !existsSync(join(config.dataDir, 'cloud.db')) && existsSync(join(before, 'cloud.db'))) {
      throw new ConfigError([
        `/dataDir: "${raw}" is now taken from the config file's folder (${config.dataDir}), which has no cloud.db; ` +
          `the database is at ${before} (from the working directory, as before). Set dataDir to "${before}" or move the database there.`,
      ]);
    }
  }
  return config;
}

export type QuotaScope = 'station' | 'zone';
export interface QuotaPolicy {
  windowDays: number;
  claimsPerDay: number;
  scope: QuotaScope;
}

/** The policy that holds in `zone` (SPEC §13): its own keys over the cloud-wide ones. */
export function quotaPolicyOf(quota: CloudConfig['quota'], zone: string): QuotaPolicy {
  const z = Object.hasOwn(quota.zones, zone) ? quota.zones[zone]! : {};
  return {
    windowDays: z.windowDays ?? quota.windowDays,
    claimsPerDay: z.claimsPerDay ?? quota.claimsPerDay,
    scope: z.scope ?? quota.scope,
  };
}

/** The longest credential lifetime this cloud issues, in days (SPEC §4): never below ttlDays. */
export function maxCredentialDays(c: { ttlDays: number; maxTtlDays?: number | undefined }): number {
  return Math.max(c.ttlDays, c.maxTtlDays ?? c.ttlDays);
}
