import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, sha256Hex } from '../../protocol/index.ts';
import { buildApp } from '../../cloud/app.ts';
import { ConfigError, parseCloudConfig } from '../../cloud/config.ts';
import { SqliteStore } from '../../cloud/store/sqlite.ts';
import { bearer, silent, testConfig, TOKENS } from './helpers.ts';

// SPEC §17: admin (everything), office (reports, riders…), maintenance (fleet health, alerts),
// sponsor (its own statement); a role asking for what it may not see gets 403 `forbidden`.
const ROLE_TOKENS = { office: 'office-token', maintenance: 'maintenance-token', sponsor: 'sponsor-token' } as const;

describe('roles of cloud tokens (SPEC §17)', () => {
  let app: ReturnType<typeof buildApp>;
  let store: SqliteStore;
  const get = (url: string, token: string) => app.inject({ method: 'GET', url, headers: bearer(token) });

  beforeAll(async () => {
    const base = testConfig();
    const config = testConfig(base.dataDir, {
      adminTokens: [
        { name: 'street-office', sha256: sha256Hex(TOKENS.admin) },
        { name: 'clerk-li', sha256: sha256Hex(ROLE_TOKENS.office), role: 'office' },
        { name: 'ops-wang', sha256: sha256Hex(ROLE_TOKENS.maintenance), role: 'maintenance' },
        { name: 'nongfu', sha256: sha256Hex(ROLE_TOKENS.sponsor), role: 'sponsor', sponsorId: 'sp-1' },
      ],
    });
    store = SqliteStore.open(join(config.dataDir, 'cloud.db'));
    app = buildApp({ config, store, clock: new ManualClock(Date.parse('2026-11-25T04:00:00Z')), logger: silent });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await store.close();
  });

  it('lets the office read reports but not fleet health’s admin-only parts such as keys', async () => {
    expect((await get('/v1/reports/weekly?week=2026-W48', ROLE_TOKENS.office)).statusCode).toBe(200);
    expect((await get('/v1/reports/weekly?week=2026-W48&format=csv', ROLE_TOKENS.office)).statusCode).toBe(200);
    expect((await get('/v1/fleet/health', ROLE_TOKENS.office)).statusCode).toBe(200);
    const keys = await get('/v1/keys', ROLE_TOKENS.office);
    expect(keys.statusCode).toBe(403);
    expect(keys.json().error).toBe('forbidden');
  });

  it('lets maintenance see fleet health and metrics, not reports', async () => {
    expect((await get('/v1/fleet/health', ROLE_TOKENS.maintenance)).statusCode).toBe(200);
    expect((await get('/metrics', ROLE_TOKENS.maintenance)).statusCode).toBe(200);
    const r = await get('/v1/reports/weekly?week=2026-W48', ROLE_TOKENS.maintenance);
    expect(r.statusCode).toBe(403);
    expect(r.json().message).toContain('maintenance');
  });

  it('refuses a sponsor token everything but its statement', async () => {
    for (const url of ['/v1/reports/weekly?week=2026-W48', '/v1/fleet/health', '/metrics', '/v1/keys']) {
      expect((await get(url, ROLE_TOKENS.sponsor)).statusCode, url).toBe(403);
    }
  });

  it('lets the admin do everything, and still answers 401 to an unknown token', async () => {
    for (const url of ['/v1/reports/weekly?week=2026-W48', '/v1/fleet/health', '/metrics', '/v1/keys']) {
      expect((await get(url, TOKENS.admin)).statusCode, url).toBe(200);
    }
    expect((await get('/v1/fleet/health', 'nobody')).statusCode).toBe(401);
  });

  it('refuses a sponsor token without its sponsorId, and a sponsorId on another role', () => {
    const dataDir = testConfig().dataDir;
    const problems = (tokens: unknown[]) => {
      try {
        parseCloudConfig({ dataDir, adminTokens: tokens });
        return [];
      } catch (e) {
        return (e as ConfigError).problems;
      }
    };
    expect(problems([{ name: 's', sha256: sha256Hex('s'), role: 'sponsor' }])).toEqual([expect.stringMatching(/^\/adminTokens\/0\/sponsorId: /)]);
    expect(problems([{ name: 'o', sha256: sha256Hex('o'), role: 'office', sponsorId: 'x' }])).toEqual([expect.stringMatching(/^\/adminTokens\/0\/sponsorId: /)]);
    expect(problems([{ name: 'x', sha256: sha256Hex('x'), role: 'boss' }])).toEqual([expect.stringMatching(/^\/adminTokens\/0\/role/)]);
  });
});
