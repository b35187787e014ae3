// SPEC §12: signing keys at rest are sealed with a key the database never sees; the cloud refuses
// to start without it (on PostgreSQL always, on SQLite when the store holds sealed keys).
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startCloud } from '../../cloud/server.ts';
import { KeyCipher, newCloudKeyText, parseCloudKey } from '../../cloud/store/keyCipher.ts';
import { PgStore } from '../../cloud/store/pg.ts';
import { SqliteStore } from '../../cloud/store/sqlite.ts';
import { testDatabase } from '../helpers/pgDatabase.ts';
import { silent, tempDir, testConfig } from './helpers.ts';

const dbs: Array<{ drop(): Promise<void> }> = [];
afterAll(async () => {
  for (const d of dbs) await d.drop();
});

const KEY = { kid: 'k1', privateJwk: { kty: 'OKP', crv: 'Ed25519', d: 'very-secret-d' }, publicJwk: { kty: 'OKP', x: 'pub' }, createdAt: 1 };

describe('signing keys at rest', () => {
  it('seals them on SQLite, opens them with the key, refuses without it or with another one; files 0600, folder 0700', async () => {
    const dir = join(tempDir('wc-keys-'), 'data');
    const path = join(dir, 'cloud.db');
    const cipher = new KeyCipher(parseCloudKey(newCloudKeyText(), 'test'));
    const store = SqliteStore.open(path, { cipher });
    await store.addSigningKey(KEY);
    expect((await store.signingKeys())[0]!.privateJwk).toEqual(KEY.privateJwk);
    await store.close();
    const raw = new Database(path).prepare('SELECT private_jwk FROM signing_keys').get() as { private_jwk: string };
    expect(raw.private_jwk).toMatch(/^v1:/);
    expect(raw.private_jwk).not.toContain('very-secret-d');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(() => SqliteStore.open(path)).toThrow(/WAYSTATION_CLOUD_KEY/);
    expect(() => SqliteStore.open(path, { cipher: new KeyCipher(parseCloudKey(newCloudKeyText(), 'x')) })).toThrow(/not the key the keys were sealed with/);
  });

  it('seals plaintext keys from before when it opens with a key (PostgreSQL)', async () => {
    const db = await testDatabase('keys');
    dbs.push(db);
    const plain = await PgStore.open(db.url);
    await plain.addSigningKey(KEY);
    await plain.close();
    const cipher = new KeyCipher(parseCloudKey(newCloudKeyText(), 'test'));
    const sealed = await PgStore.open(db.url, { cipher });
    expect((await sealed.signingKeys())[0]!.privateJwk).toEqual(KEY.privateJwk);
    await sealed.close();
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const r = await c.query('SELECT private_jwk FROM signing_keys');
    await c.end();
    expect(r.rows[0].private_jwk).toMatch(/^v1:/);
    await expect(PgStore.open(db.url)).rejects.toThrow(/sealed signing keys and no cloud key/);
  });

  it('refuses to start on PostgreSQL without a key, and starts with WAYSTATION_CLOUD_KEY', async () => {
    const db = await testDatabase('keys_start');
    dbs.push(db);
    const config = testConfig(undefined, { storage: { url: db.url } });
    await expect(startCloud(config, { logger: silent, env: {} })).rejects.toThrow(/WAYSTATION_CLOUD_KEY/);
    const cloud = await startCloud(config, { logger: silent, env: { WAYSTATION_CLOUD_KEY: newCloudKeyText() } });
    try {
      expect((await fetch(`${cloud.url}/healthz`)).status).toBe(200);
      expect((await cloud.store.signingKeys()).length).toBe(1);
    } finally {
      await cloud.stop();
    }
  });

  it('makes cloud.key (0600) beside the SQLite database when no key is given', async () => {
    const config = testConfig();
    const cloud = await startCloud(config, { logger: silent, env: {} });
    await cloud.stop();
    const keyPath = join(config.dataDir, 'cloud.key');
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    expect(readFileSync(keyPath, 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
    // It starts again with the key it made.
    const again = await startCloud(config, { logger: silent, env: {} });
    expect((await again.store.signingKeys()).length).toBe(1);
    await again.stop();
  });
});
