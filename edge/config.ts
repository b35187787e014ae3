/**
 * The station config (SPEC §11, contract): one TypeBox schema is the source of truth for the
 * file's shape, its defaults and its types (STYLE.md §3–4). `loadConfig` answers a frozen,
 * fully-defaulted object or throws `ConfigError` with one message per bad key and its path.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { Type, type Static, type TOptional, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import { DEVICE_EVENT_BUDGET, DEVICE_STATE_HOLD_MS } from './core/health.ts';
import { BROKER_LIMITS } from './drivers/mqtt-guard.ts';
import {
  DEFAULT_BAUD_RATE,
  DEFAULT_TIMEZONE,
  DEVICE_ID_PATTERN,
  STATION_ID_PATTERN,
  LOCK_BOARD_PROFILE_NAMES,
  isValidTimeZone,
  lockBoardProfile,
  type LockBoardProfileName,
} from '../protocol/index.ts';

/** `hint` is the message an installer reads when the key is wrong (see `explain`). */
function int(min: number, max: number, opts: Record<string, unknown> = {}) {
  return Type.Integer({ minimum: min, maximum: max, hint: `must be an integer ${min}–${max}`, ...opts });
}

const Port = int(0, 65535);
const Host = Type.String({ minLength: 1, maxLength: 255, hint: 'must be a host name or address, e.g. "127.0.0.1"' });
const DeviceId = Type.String({ pattern: DEVICE_ID_PATTERN, hint: 'must be 1–64 letters, digits, "_", "." or "-"' });
const BaudRate = Type.Integer({ minimum: 1200, maximum: 921600, default: DEFAULT_BAUD_RATE, hint: 'must be a baud rate 1200–921600' });
const Hex64 = Type.String({ pattern: '^[0-9a-f]{64}$', hint: 'must be the lowercase hex SHA-256 (64 characters); see `waystation-edge token-hash`' });

const Jwk = Type.Object(
  { kty: Type.String({ hint: 'must be a JWK key type, e.g. "OKP"' }), kid: Type.Optional(Type.String()) },
  { additionalProperties: true, hint: 'must be a public JWK object' },
);

const DispenserEntry = Type.Object(
  { id: DeviceId, password: Type.String({ minLength: 1, maxLength: 256, hint: 'must be the device secret (non-empty)' }) },
  { additionalProperties: false },
);

// `locks` has no schema default: it defaults to the bus profile's lock count (resolveConfig).
// The ranges here are the widest of all profiles (8A80); semanticProblems checks the bus's own.
const Board = Type.Object(
  { address: int(1, 31, { hint: 'must be a board address 1–31 (DIP switch)' }), locks: Type.Optional(int(1, 24)) },
  { additionalProperties: false },
);

/** The board family of a bus (SPEC §6: the protocol is a data profile); absent = "8a80". */
const LockBoardProfileKey = Type.Union(
  LOCK_BOARD_PROFILE_NAMES.map((n) => Type.Literal(n)),
  { hint: `must be a lock-board profile: ${LOCK_BOARD_PROFILE_NAMES.map((n) => `"${n}"`).join(' or ')}` },
);

const LockBus = Type.Object(
  {
    path: Type.String({ minLength: 1, hint: 'must be a serial device path, e.g. "/dev/ttyUSB0"' }),
    baudRate: Type.Optional(BaudRate),
    profile: Type.Optional(LockBoardProfileKey),
    boards: Type.Array(Board, { minItems: 1, maxItems: 31, hint: 'must list 1–31 boards' }),
  },
  { additionalProperties: false },
);

function TemperatureRange(min: number, max: number) {
  const celsius = (d: number) => Type.Number({ minimum: -40, maximum: 120, default: d, hint: 'must be a temperature in °C, −40 to 120' });
  return Type.Object({ min: Type.Optional(celsius(min)), max: Type.Optional(celsius(max)) }, { additionalProperties: false, default: {} });
}

/** Tuning keys: optional, defaulted, units in names; every timeout has a range. */
const Tuning = {
  quota: Type.Object(
    { windowDays: Type.Optional(int(1, 366, { default: 7 })), claimsPerDay: Type.Optional(int(1, 24, { default: 1 })) },
    { additionalProperties: false, default: {} },
  ),
  lockers: Type.Object(
    {
      storageLimitMs: Type.Optional(int(1_000, 30 * 86_400_000, { default: 86_400_000 })),
      doorLeftOpenMs: Type.Optional(int(1_000, 3_600_000, { default: 120_000 })),
      pollIntervalMs: Type.Optional(int(100, 60_000, { default: 1_000 })),
      timerCheckIntervalMs: Type.Optional(int(100, 600_000, { default: 5_000 })),
      /** Unlocks of one door for one deposit, retrieve or forced opening before it counts as stuck (SPEC §6a: retried once). */
      unlockAttempts: Type.Optional(int(1, 5, { default: 2 })),
      /** After an unlock without a confirmed opening, a door found open within this is ours, not forced. */
      unlockGraceMs: Type.Optional(int(0, 600_000, { default: 30_000 })),
      /** Compartments tried for one deposit before it answers `no_free_compartment`. */
      maxCompartmentsPerDeposit: Type.Optional(int(1, 24, { default: 3 })),
      /** A lock board's reply, per attempt (SPEC §6: within 1 s). */
      replyTimeoutMs: Type.Optional(int(10, 10_000, { default: 1_000 })),
      /** Extra attempts of a query after a timeout or a bad frame (SPEC §6: up to 3). */
      queryRetries: Type.Optional(int(0, 3, { default: 3 })),
      /** How often a board that stopped answering is asked again (once, no retries). */
      offlinePollIntervalMs: Type.Optional(int(0, 600_000, { default: 5_000 })),
      /** The shortest time between one rider's locker actions (issue 11); 0 turns it off. */
      riderCooldownMs: Type.Optional(int(0, 60_000, { default: 2_000 })),
      /** What is printed on each door, by compartment name (`{"1-5": "A05"}`); the name otherwise. */
      labels: Type.Optional(
        Type.Record(Type.String({ pattern: '^[0-9]{1,2}-[0-9]{1,2}$' }), Type.String({ minLength: 1, maxLength: 16 }), {
          default: {}, hint: 'must map compartment names "{board}-{lock}" to door labels of 1–16 characters',
        }),
      ),
    },
    { additionalProperties: false, default: {} },
  ),
  dispense: Type.Object(
    {
      /** How long a dispense waits for the final `evt/dispense` (SPEC §5); also the command's lifetime. */
      timeoutMs: Type.Optional(int(100, 300_000, { default: 8_000 })),
      /** How long a `cmd/query` waits for the stored outcome. */
      queryTimeoutMs: Type.Optional(int(100, 300_000, { default: 3_000 })),
      /** An `unknown` claim the device never saw is released this long after its command expired (a margin for the device's clock). */
      neverReceivedMarginMs: Type.Optional(int(0, 86_400_000, { default: 600_000 })),
      /** Readings outside these ranges raise `temp_out_of_range_{compartment}` (SPEC §6b). */
      temperatureRangeC: Type.Optional(
        Type.Object(
          {
            hot: Type.Optional(TemperatureRange(70, 98)),
            cold: Type.Optional(TemperatureRange(1, 12)),
          },
          { additionalProperties: false, default: {} },
        ),
      ),
    },
    { additionalProperties: false, default: {} },
  ),
  lowStockThreshold: int(0, 10_000, { default: 5 }),
  /**
   * Hysteresis of device reachability (issue 11, docs/station.md): a device flapping online/offline
   * reports a change only once the new state has held this long (a steady device's first change
   * is reported at once); 0 reports every change.
   */
  deviceStateHoldMs: int(0, 600_000, { default: DEVICE_STATE_HOLD_MS }),
  /** Reopening a serial port (a lock bus, the scanner) that failed or vanished: first and longest wait of the backoff. */
  serialReopenInitialMs: int(10, 60_000, { default: 500 }),
  serialReopenMaxMs: int(10, 600_000, { default: 10_000 }),
  /** Health events one device may cause per window before it is `flapping` (issue 11, docs/station.md). */
  deviceEventBudget: Type.Object(
    {
      events: Type.Optional(int(4, 10_000, { default: DEVICE_EVENT_BUDGET.events })),
      windowMs: Type.Optional(int(10_000, 86_400_000, { default: DEVICE_EVENT_BUDGET.windowMs })),
    },
    { additionalProperties: false, default: {} },
  ),
  rateLimit: Type.Object(
    {
      perCredentialPerMinute: Type.Optional(int(1, 1_000_000, { default: 30 })),
      perAddressPerMinute: Type.Optional(int(1, 1_000_000, { default: 300 })),
    },
    { additionalProperties: false, default: {} },
  ),
  retentionDays: int(1, 3650, { default: 30 }),
  heartbeatIntervalMs: int(100, 600_000, { default: 10_000 }),
  bodyLimitBytes: int(256, 1_048_576, { default: 16_384 }),
  clockJumpThresholdMs: int(1_000, 86_400_000, { default: 300_000 }),
  unknownClaimRetryMs: int(100, 3_600_000, { default: 30_000 }),
  shutdownDrainMs: int(0, 120_000, { default: 25_000 }),
  kiosk: Type.Object(
    {
      /** Who may subscribe to scanned codes (they are rider credentials): the kiosk screen's own address. */
      allowedAddresses: Type.Optional(
        Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 32, default: ['127.0.0.1', '::1', '::ffff:127.0.0.1'] }),
      ),
      idleResetMs: Type.Optional(int(5_000, 600_000, { default: 60_000 })),
      /**
       * Host names the kiosk page and rider API answer under (the Host header, port left out): a
       * page the kiosk browser opens elsewhere cannot rebind its own name to the station (DNS
       * rebinding). Maintenance routes (bearer tokens) are not limited by it.
       */
      allowedHosts: Type.Optional(
        Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { maxItems: 32, default: ['127.0.0.1', 'localhost', '[::1]'] }),
      ),
      /** SHA-256 of a kiosk device token: a kiosk on a separate screen sends it (`X-Kiosk-Token`) instead of being on `allowedAddresses`. */
      tokenSha256: Type.Optional(Hex64),
      /** After a locker opens the session ends sooner, with a countdown, so the next person cannot use it. */
      afterLockerResetMs: Type.Optional(int(3_000, 120_000, { default: 15_000 })),
      /** The enrolment poster's URL, drawn as a QR code on the idle screen ("how to get a code"). */
      enrolUrl: Type.Optional(Type.String({ pattern: '^https?://', maxLength: 512, hint: 'must be an http(s) URL' })),
      /** A help line shown on every screen, e.g. "服务电话 / Help: 021-5555 0000". */
      helpLine: Type.Optional(Type.String({ minLength: 1, maxLength: 120 })),
    },
    { additionalProperties: false, default: {} },
  ),
  /** Who may be named as a restock's sponsor (the console's picker; docs/maintenance.md); empty = any. */
  sponsors: Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: 64, default: [], hint: 'must be a list of up to 64 sponsor names' }),
  logLevel: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info', hint: 'must be one of fatal, error, warn, info, debug, trace, silent' },
  ),
};

type TuningKey = keyof typeof Tuning;
const optionalTuning = Object.fromEntries(Object.entries(Tuning).map(([k, s]) => [k, Type.Optional(s)])) as {
  [K in TuningKey]: TOptional<(typeof Tuning)[K]>;
};

export const StationConfigFile = Type.Object(
  {
    stationId: Type.String({ pattern: STATION_ID_PATTERN, hint: 'must be 1–64 lowercase letters, digits, "_" or "-" (the cloud knows the station by it)' }),
    timezone: Type.String({ default: DEFAULT_TIMEZONE, hint: 'must be an IANA time zone, e.g. "Asia/Shanghai"' }),
    dataDir: Type.String({ minLength: 1, hint: 'must be a folder path (relative to the config file or absolute)' }),
    http: Type.Object({ host: Host, port: Port }, { additionalProperties: false }),
    mqtt: Type.Object(
      {
        host: Host,
        port: Port,
        // What one client may make the broker hold (issue 11; edge/drivers/mqtt-guard.ts).
        maxConnections: Type.Optional(int(1, 10_000, { default: BROKER_LIMITS.maxConnections })),
        preConnectMaxBytes: Type.Optional(int(512, 1_048_576, { default: BROKER_LIMITS.preConnectMaxBytes })),
        maxPacketBytes: Type.Optional(int(1_024, 16_777_216, { default: BROKER_LIMITS.maxPacketBytes })),
        connectTimeoutMs: Type.Optional(int(500, 60_000, { default: BROKER_LIMITS.connectTimeoutMs })),
      },
      { additionalProperties: false },
    ),
    credentials: Type.Object(
      {
        jwks: Type.Object({ keys: Type.Array(Jwk, { maxItems: 64 }) }, { additionalProperties: false, hint: 'must be a JWKS: {"keys": [...]}' }),
        revokedRiders: Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { default: [] }),
        /** Refuse credentials living longer than this (SPEC §4); the cloud's own maximum applies too. */
        maxLifetimeDays: Type.Optional(int(1, 3660)),
      },
      { additionalProperties: false },
    ),
    maintenanceTokens: Type.Array(
      Type.Object(
        { name: Type.String({ minLength: 1, maxLength: 64, hint: 'must be a name of 1–64 characters' }), sha256: Hex64 },
        { additionalProperties: false },
      ),
      { default: [] },
    ),
    dispensers: Type.Array(DispenserEntry, { maxItems: 64 }),
    lockBuses: Type.Array(LockBus, { maxItems: 16 }),
    scanner: Type.Optional(
      Type.Object(
        { path: Type.String({ minLength: 1, hint: 'must be a serial device path, e.g. "/dev/ttyACM0"' }), baudRate: Type.Optional(BaudRate) },
        { additionalProperties: false },
      ),
    ),
    cloud: Type.Optional(
      Type.Object(
        {
          url: Type.String({ pattern: '^https?://[^\\s]+$', hint: 'must be an http(s) URL, e.g. "https://cloud.example"' }),
          token: Type.String({ minLength: 1, hint: 'must be the station token (non-empty)' }),
          /** How long the cloud may hold one zone-feed long poll (SPEC §13, scope "zone" only). */
          zoneFeedWaitMs: Type.Optional(int(0, 25_000, { default: 20_000 })),
        },
        { additionalProperties: false },
      ),
    ),
    /** The staff listener (docs/maintenance.md): only the console and the maintenance API, TLS optional. */
    maintenance: Type.Optional(
      Type.Object(
        {
          host: Host,
          port: Port,
          tls: Type.Optional(
            Type.Object(
              {
                certFile: Type.String({ minLength: 1, hint: 'must be the path of a PEM certificate (relative to the config file or absolute)' }),
                keyFile: Type.String({ minLength: 1, hint: 'must be the path of its PEM private key' }),
              },
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    ...optionalTuning,
  },
  { additionalProperties: false },
);
export type StationConfigFile = Static<typeof StationConfigFile>;

type Filled<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]-?: Filled<T[K]> } : T;

/** The resolved config every component receives: defaults applied, dataDir absolute, frozen. */
export type StationConfig = Readonly<
  Omit<StationConfigFile, TuningKey | 'lockBuses' | 'scanner' | 'mqtt'> & {
    [K in TuningKey]: Filled<Static<(typeof Tuning)[K]>>;
  } & {
    mqtt: Filled<StationConfigFile['mqtt']>;
    /** `profile` stays absent when the file leaves it out: the default "8a80" (see `lockBoardProfile`). */
    lockBuses: Array<{ path: string; baudRate: number; profile?: LockBoardProfileName; boards: Array<{ address: number; locks: number }> }>;
    scanner?: { path: string; baudRate: number };
  }
>;

/** Every tuning key with its schema default: what a component gets when the file says nothing (tests and benches build parts with it). */
export function tuningDefaults(): StationConfig extends infer C ? { [K in TuningKey]: C[K & keyof C] } : never {
  return deepFreeze(Object.fromEntries(Object.entries(Tuning).map(([k, s]) => [k, Value.Default(s, structuredClone((s as { default?: unknown }).default))]))) as never;
}

export class ConfigError extends Error {
  readonly code = 'config_invalid';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`invalid config ${file}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

const compiled = TypeCompiler.Compile(StationConfigFile);

function explain(e: { type: ValueErrorType; schema: TSchema; message: string }): string {
  if (e.type === ValueErrorType.ObjectAdditionalProperties) return "unknown key (check the spelling against the configuration table in docs/station.md)";
  const hint = (e.schema as { hint?: unknown }).hint;
  const what = typeof hint === 'string' ? hint : e.message.toLowerCase();
  if (e.type === ValueErrorType.ObjectRequiredProperty) return `is required (${what})`;
  return what;
}

/** Problems of a parsed config document, one per bad key, `path: message`. */
export function configProblems(doc: unknown): string[] {
  const byPath = new Map<string, string>();
  for (const e of compiled.Errors(doc)) {
    const path = e.path || '/';
    // A union (logLevel) or a missing key reports several errors at one path; the first says it.
    if (byPath.has(path)) continue;
    byPath.set(path, explain(e));
  }
  const tz = (doc as { timezone?: unknown } | null)?.timezone;
  if (typeof tz === 'string' && !byPath.has('/timezone') && !isValidTimeZone(tz)) {
    byPath.set('/timezone', `must be an IANA time zone, e.g. "Asia/Shanghai" (got "${tz}")`);
  }
  if (byPath.size > 0) return [...byPath].map(([p, m]) => `${p}: ${m}`);
  return semanticProblems(doc as StationConfigFile);
}

/** What a schema cannot say: unique ids and addresses, port clashes. */
function semanticProblems(c: StationConfigFile): string[] {
  const out: string[] = [];
  const ids = new Set<string>();
  c.dispensers.forEach((d, i) => {
    if (ids.has(d.id)) out.push(`/dispensers/${i}/id: duplicate dispenser id "${d.id}"`);
    ids.add(d.id);
  });
  const paths = new Set<string>();
  c.lockBuses.forEach((b, i) => {
    if (paths.has(b.path)) out.push(`/lockBuses/${i}/path: duplicate bus path "${b.path}"`);
    paths.add(b.path);
    const addrs = new Set<number>();
    const profile = lockBoardProfile(b.profile);
    b.boards.forEach((board, j) => {
      if (addrs.has(board.address)) out.push(`/lockBuses/${i}/boards/${j}/address: duplicate board address ${board.address} on this bus`);
      addrs.add(board.address);
      if (board.address < profile.minAddress || board.address > profile.maxAddress)
        out.push(`/lockBuses/${i}/boards/${j}/address: must be a board address ${profile.minAddress}–${profile.maxAddress} for the ${profile.name} profile`);
      if (board.locks !== undefined && board.locks > profile.locksPerBoard)
        out.push(`/lockBuses/${i}/boards/${j}/locks: must be an integer 1–${profile.locksPerBoard} for the ${profile.name} profile`);
    });
  });
  // Compartment names are "{board}-{lock}" (SPEC §11), so one address across two buses would clash.
  const allAddrs = new Map<number, number>();
  c.lockBuses.forEach((b, i) =>
    b.boards.forEach((board, j) => {
      const other = allAddrs.get(board.address);
      if (other !== undefined && other !== i) out.push(`/lockBuses/${i}/boards/${j}/address: board address ${board.address} is already used on /lockBuses/${other}; compartment names "{board}-{lock}" must be unique`);
      allAddrs.set(board.address, i);
    }),
  );
  const locksOf = new Map<number, number>();
  for (const b of c.lockBuses) for (const board of b.boards) locksOf.set(board.address, board.locks ?? lockBoardProfile(b.profile).locksPerBoard);
  for (const name of Object.keys(c.lockers?.labels ?? {})) {
    const [address, lock] = name.split('-').map(Number) as [number, number];
    if (!(lock >= 1 && lock <= (locksOf.get(address) ?? 0))) out.push(`/lockers/labels/${name}: no compartment ${name} on the configured boards`);
  }
  if (c.scanner && paths.has(c.scanner.path)) out.push(`/scanner/path: "${c.scanner.path}" is already a lock bus`);
  const names = new Set<string>();
  c.maintenanceTokens.forEach((t, i) => {
    if (names.has(t.name)) out.push(`/maintenanceTokens/${i}/name: duplicate token name "${t.name}"`);
    names.add(t.name);
  });
  if (c.http.port !== 0 && c.http.port === c.mqtt.port && c.http.host === c.mqtt.host) out.push('/mqtt/port: must differ from /http/port');
  if (c.maintenance && c.maintenance.port !== 0 && c.maintenance.port === c.http.port && c.maintenance.host === c.http.host) out.push('/maintenance/port: must differ from /http/port');
  return out;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/**
 * Validate a parsed document and fill defaults. `baseDir` resolves a relative dataDir
 * (the config file's folder, so the station does not depend on the working directory).
 */
export function resolveConfig(doc: unknown, baseDir: string, file = '<config>'): StationConfig {
  const problems = configProblems(doc);
  if (problems.length > 0) throw new ConfigError(file, problems);
  const filled = Value.Default(StationConfigFile, structuredClone(doc)) as StationConfigFile & Record<string, unknown>;
  // Value.Default does not descend into Optional objects that are absent: fill the tuning keys here.
  for (const [k, s] of Object.entries(Tuning)) filled[k] = Value.Default(s, filled[k] ?? (s as { default?: unknown }).default);
  for (const bus of filled.lockBuses) {
    // `profile` is left absent rather than filled, so a config without it resolves as before.
    for (const b of bus.boards) b.locks ??= lockBoardProfile(bus.profile).locksPerBoard;
  }
  filled.timezone ??= DEFAULT_TIMEZONE;
  filled.dataDir = isAbsolute(filled.dataDir) ? filled.dataDir : resolve(baseDir, filled.dataDir);
  const tls = filled.maintenance?.tls;
  if (tls) for (const k of ['certFile', 'keyFile'] as const) tls[k] = isAbsolute(tls[k]) ? tls[k] : resolve(baseDir, tls[k]);
  return deepFreeze(filled as unknown as StationConfig);
}

export function loadConfig(path: string): StationConfig {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [`/: cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`]);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(file, [`/: not valid JSON (${(e as Error).message})`]);
  }
  return resolveConfig(doc, dirname(file), file);
}

/** Compartment names of a config, "{board address}-{lock}" (SPEC §11). */
export function compartmentsOf(config: StationConfig): string[] {
  return config.lockBuses.flatMap((bus) => bus.boards.flatMap((b) => Array.from({ length: b.locks }, (_, i) => `${b.address}-${i + 1}`)));
}
