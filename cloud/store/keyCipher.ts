/**
 * Signing keys at rest (SPEC §12): each private JWK is sealed with AES-256-GCM under a key the
 * database never sees (`WAYSTATION_CLOUD_KEY`, or the file at `keyFile`), the row's kid as
 * associated data so a sealed key cannot be moved to another row. A sealed value reads
 * `v1:<base64 iv|tag|ciphertext>`; a value starting with `{` is a plaintext JWK from before
 * (sealed when the store opens with a key).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';

export class CloudKeyError extends Error {
  constructor(
    readonly code: 'cloud_key_missing' | 'cloud_key_wrong' | 'cloud_key_invalid',
    message: string,
  ) {
    super(message);
  }
}

export const KEY_HINT =
  'set WAYSTATION_CLOUD_KEY to the 32-byte key (64 hex digits or base64) or keyFile in the cloud config to a file holding it; ' +
  'create one with `waystation-cloud key new`';

/** 32 bytes from 64 hex digits or base64 (whitespace around it ignored). */
export function parseCloudKey(text: string, where: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== 32) throw new CloudKeyError('cloud_key_invalid', `${where} is not a 32-byte key (64 hex digits or base64); ${KEY_HINT}`);
  return key;
}

export function newCloudKeyText(): string {
  return randomBytes(32).toString('hex');
}

/** Read a key file, or create it (0600) with a fresh key when `create` and it does not exist. */
export function keyFromFile(path: string, create = false): Buffer {
  if (!existsSync(path)) {
    if (!create) throw new CloudKeyError('cloud_key_missing', `keyFile ${path} does not exist; ${KEY_HINT}`);
    writeFileSync(path, `${newCloudKeyText()}\n`, { mode: 0o600, flag: 'wx' });
  }
  chmodSync(path, 0o600);
  return parseCloudKey(readFileSync(path, 'utf8'), `keyFile ${path}`);
}

export class KeyCipher {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new CloudKeyError('cloud_key_invalid', `the cloud key must be 32 bytes; ${KEY_HINT}`);
  }

  seal(kid: string, plaintext: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(Buffer.from(kid, 'utf8'));
    const body = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
    return `v1:${Buffer.concat([iv, c.getAuthTag(), body]).toString('base64')}`;
  }

  open(kid: string, sealed: string): string {
    const raw = Buffer.from(sealed.slice(3), 'base64');
    const d = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    d.setAAD(Buffer.from(kid, 'utf8'));
    d.setAuthTag(raw.subarray(12, 28));
    try {
      return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
    } catch {
      throw new CloudKeyError('cloud_key_wrong', `the cloud key does not open signing key ${kid}: it is not the key the keys were sealed with; ${KEY_HINT}`);
    }
  }
}

export const isSealed = (text: string): boolean => text.startsWith('v1:');

/** A stored private JWK as JSON text: opened with the cipher, or refused without one. */
export function openPrivateJwk(cipher: KeyCipher | undefined, kid: string, stored: string): string {
  if (!isSealed(stored)) return stored;
  if (!cipher) throw new CloudKeyError('cloud_key_missing', `the store holds sealed signing keys and no cloud key was given; ${KEY_HINT}`);
  return cipher.open(kid, stored);
}
