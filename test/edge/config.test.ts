/** The station config (SPEC §11): exact keys, defaults, and one clear message per bad key. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, compartmentsOf, loadConfig, resolveConfig } from '../../edge/config.ts';
import { tempDir } from '../helpers/tmp.ts';

/** The example of SPEC §11, verbatim. */
const SPEC_EXAMPLE = {
  stationId: 'dn-001',
  timezone: 'Asia/Shanghai',
  dataDir: './data/dn-001',
  http: { host: '127.0.0.1', port: 8080 },
  mqtt: { host: '127.0.0.1', port: 1883 },
  credentials: { jwks: { keys: [] }, revokedRiders: [] },
  maintenanceTokens: [{ name: 'ops-wang', sha256: 'a'.repeat(64) }],
  dispensers: [{ id: 'disp-1', password: '<device secret>' }],
  lockBuses: [{ path: '/dev/ttyUSB0', baudRate: 9600, boards: [{ address: 1, locks: 24 }] }],
  scanner: { path: '/dev/ttyACM0', baudRate: 9600 },
  cloud: { url: 'https://cloud.example', token: '<station token>' },
};

function problemsOf(doc: unknown): string[] {
  try {
    resolveConfig(doc, '/etc/waystation');
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

const tmp = tempDir('waystation-config-');
afterAll(() => tmp.cleanup());

describe('station config', () => {
  it('accepts the example of SPEC §11 and fills every tuning key with its default', () => {
    const c = resolveConfig(SPEC_EXAMPLE, '/etc/waystation');
    expect(c.stationId).toBe('dn-001');
    expect(c.quota).toEqual({ windowDays: 7, claimsPerDay: 1 });
    expect(c.lockers).toMatchObject({ storageLimitMs: 86_400_000, doorLeftOpenMs: 120_000 });
    expect(c.dispense.timeoutMs).toBe(8000);
    expect(c.rateLimit).toEqual({ perCredentialPerMinute: 30, perAddressPerMinute: 300 });
    expect(c.retentionDays).toBe(30);
    expect(c.bodyLimitBytes).toBe(16_384);
    expect(compartmentsOf(c)).toHaveLength(24);
    expect(compartmentsOf(c)[4]).toBe('1-5');
  });

  it('accepts a station without scanner and cloud, and defaults baud rates and lock counts', () => {
    const { scanner: _s, cloud: _c, ...alone } = SPEC_EXAMPLE;
    const c = resolveConfig({ ...alone, lockBuses: [{ path: '/dev/ttyUSB0', boards: [{ address: 2 }] }] }, '/');
    expect(c.scanner).toBeUndefined();
    expect(c.cloud).toBeUndefined();
    expect(c.lockBuses[0]).toEqual({ path: '/dev/ttyUSB0', baudRate: 9600, boards: [{ address: 2, locks: 24 }] });
  });

  it('resolves a relative dataDir against the config file folder, not the working directory', () => {
    const dir = join(tmp.dir, 'etc');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'station.json');
    writeFileSync(file, JSON.stringify(SPEC_EXAMPLE));
    expect(loadConfig(file).dataDir).toBe(join(dir, 'data/dn-001'));
    expect(resolveConfig({ ...SPEC_EXAMPLE, dataDir: '/var/lib/ws' }, dir).dataDir).toBe('/var/lib/ws');
  });

  it('returns a frozen object', () => {
    const c = resolveConfig(SPEC_EXAMPLE, '/');
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.http)).toBe(true);
    expect(Object.isFrozen(c.lockBuses[0]!.boards)).toBe(true);
  });

  it('names each bad key once with its path and what it must be', () => {
    const problems = problemsOf({
      ...SPEC_EXAMPLE,
      http: { host: '127.0.0.1', port: 70000 },
      mqtt: { host: '127.0.0.1', port: 'x' },
      timezone: 'Mars/Olympus',
      dispensers: [{ id: 'disp 1', password: '' }],
      lockBuses: [{ path: '/dev/ttyUSB0', baudRate: 9600, boards: [{ address: 40, locks: 30 }] }],
      maintenanceTokens: [{ name: 'ops', sha256: 'ABC' }],
      cloud: { url: 'ftp://x', token: 't' },
      lockers: { doorLeftOpenMs: 10 },
      logLevel: 'loud',
      colour: 'blue',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        '/http/port: must be an integer 0–65535',
        '/mqtt/port: must be an integer 0–65535',
        '/timezone: must be an IANA time zone, e.g. "Asia/Shanghai" (got "Mars/Olympus")',
        '/dispensers/0/id: must be 1–64 letters, digits, "_", "." or "-"',
        '/dispensers/0/password: must be the device secret (non-empty)',
        '/lockBuses/0/boards/0/address: must be a board address 1–31 (DIP switch)',
        '/lockBuses/0/boards/0/locks: must be an integer 1–24',
        '/maintenanceTokens/0/sha256: must be the lowercase hex SHA-256 (64 characters); see `waystation-edge token-hash`',
        '/cloud/url: must be an http(s) URL, e.g. "https://cloud.example"',
        '/lockers/doorLeftOpenMs: must be an integer 1000–3600000',
        '/logLevel: must be one of fatal, error, warn, info, debug, trace, silent',
        "/colour: unknown key (check the spelling against the configuration table in docs/station.md)",
      ]),
    );
    // One message per key.
    const paths = problems.map((p) => p.split(':')[0]);
    expect(new Set(paths).size).toBe(paths.length);
  });

  it('says which required keys are missing', () => {
    const { stationId: _a, dispensers: _b, ...rest } = SPEC_EXAMPLE;
    const problems = problemsOf(rest);
    expect(problems).toContain('/stationId: is required (must be 1–64 lowercase letters, digits, "_" or "-" (the cloud knows the station by it))');
    expect(problems.some((p) => p.startsWith('/dispensers: is required'))).toBe(true);
  });

  it('takes station ids by the cloud’s rule, so a station never starts with an id the cloud refuses', () => {
    for (const stationId of ['DN-001', 'dn.001', '-dn']) {
      expect(problemsOf({ ...SPEC_EXAMPLE, stationId }).some((p) => p.startsWith('/stationId:'))).toBe(true);
    }
    expect(problemsOf({ ...SPEC_EXAMPLE, stationId: 'jd_003' })).toEqual([]);
  });

  it('refuses duplicate dispenser ids, board addresses and bus paths', () => {
    const problems = problemsOf({
      ...SPEC_EXAMPLE,
      dispensers: [
        { id: 'disp-1', password: 'a' },
        { id: 'disp-1', password: 'b' },
      ],
      lockBuses: [
        { path: '/dev/ttyUSB0', boards: [{ address: 1 }, { address: 1 }] },
        { path: '/dev/ttyUSB0', boards: [{ address: 2 }] },
      ],
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        '/dispensers/1/id: duplicate dispenser id "disp-1"',
        '/lockBuses/0/boards/1/address: duplicate board address 1 on this bus',
        '/lockBuses/1/path: duplicate bus path "/dev/ttyUSB0"',
      ]),
    );
  });

  it('reports an unreadable file and a file that is not JSON with the file name', () => {
    expect(() => loadConfig(join(tmp.dir, 'missing.json'))).toThrow(/missing\.json[\s\S]*cannot read the file \(ENOENT\)/);
    const bad = join(tmp.dir, 'bad.json');
    writeFileSync(bad, '{"stationId": ');
    expect(() => loadConfig(bad)).toThrow(/bad\.json[\s\S]*not valid JSON/);
  });

  it('loads the documented example config in the repo', () => {
    const c = loadConfig(join(import.meta.dirname, '../../edge/station.example.json'));
    expect(c.stationId).toBe('dn-001');
    expect(c.kiosk.allowedAddresses).toContain('127.0.0.1');
  });
});

describe('station config: lockBuses[].profile', () => {
  const withBus = (bus: Record<string, unknown>) => ({ ...SPEC_EXAMPLE, lockBuses: [{ path: '/dev/ttyUSB0', ...bus }] });

  it('defaults a Kerong board to 16 locks and leaves the profile of an 8A80 bus unset', () => {
    const c = resolveConfig(withBus({ profile: 'kerong-cu16', boards: [{ address: 3 }] }), '/');
    expect(c.lockBuses[0]).toEqual({ path: '/dev/ttyUSB0', baudRate: 9600, profile: 'kerong-cu16', boards: [{ address: 3, locks: 16 }] });
    expect(compartmentsOf(c)).toHaveLength(16);
    const d = resolveConfig(withBus({ boards: [{ address: 3 }] }), '/');
    expect(d.lockBuses[0]).toEqual({ path: '/dev/ttyUSB0', baudRate: 9600, boards: [{ address: 3, locks: 24 }] });
  });

  it("refuses boards outside the bus profile's addresses and lock count, and unknown profiles", () => {
    expect(problemsOf(withBus({ profile: 'kerong-cu16', boards: [{ address: 20, locks: 24 }] }))).toEqual([
      '/lockBuses/0/boards/0/address: must be a board address 1–15 for the kerong-cu16 profile',
      '/lockBuses/0/boards/0/locks: must be an integer 1–16 for the kerong-cu16 profile',
    ]);
    expect(problemsOf(withBus({ profile: 'kerong', boards: [{ address: 1 }] }))).toEqual([
      '/lockBuses/0/profile: must be a lock-board profile: "8a80" or "kerong-cu16"',
    ]);
    expect(problemsOf(withBus({ profile: '8a80', boards: [{ address: 31, locks: 24 }] }))).toEqual([]);
  });

  it('takes door labels for configured compartments only', () => {
    const bus = withBus({ boards: [{ address: 3, locks: 4 }] }) as Record<string, unknown>;
    expect(problemsOf({ ...bus, lockers: { labels: { '3-4': 'A04' } } })).toEqual([]);
    expect(problemsOf({ ...bus, lockers: { labels: { '3-5': 'A05', '2-1': 'B01' } } })).toEqual([
      '/lockers/labels/3-5: no compartment 3-5 on the configured boards',
      '/lockers/labels/2-1: no compartment 2-1 on the configured boards',
    ]);
    expect(resolveConfig({ ...bus, lockers: { labels: { '3-4': 'A04' } } }, '/').lockers.labels).toEqual({ '3-4': 'A04' });
  });
});
