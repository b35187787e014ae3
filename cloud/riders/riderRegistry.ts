/**
 * Riders, signing keys and credentials (SPEC §4). A rider is an opaque id with a group and a
 * platform: no names or phone numbers are stored. Keys rotate; a retired key stays in the
 * JWKS until the last credential it signed has expired, so old credentials keep verifying.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { generateSigningKey, issueCredential, type Clock, type DeviceJwk, type SigningKey } from '../../protocol/index.ts';
import type { CloudStore, RiderRow, SigningKeyRow } from '../store/store.ts';
import { apiError } from '../errors.ts';
import { maxCredentialDays } from '../config.ts';

export interface IssuedCredential {
  riderId: string;
  credential: string;
  kid: string;
  expiresAt: number;
}

const DAY_MS = 86_400_000;

export class RiderRegistry {
  constructor(
    private readonly store: CloudStore,
    private readonly clock: Clock,
    private readonly opts: { ttlDays: number; maxTtlDays?: number | undefined },
    private readonly logger: Logger,
  ) {}

  async register(r: { group: string; platform?: string | null }): Promise<RiderRow> {
    const riderId = `r-${randomBytes(8).toString('hex')}`;
    const row = await this.store.createRider({ riderId, group: r.group, platform: r.platform ?? null, createdAt: this.clock.now() });
    this.logger.info({ riderId, group: r.group }, 'rider registered');
    return row;
  }

  async get(riderId: string): Promise<RiderRow> {
    const r = await this.store.rider(riderId);
    if (!r) throw apiError('unknown_rider', `no rider ${riderId}`);
    return r;
  }

  async revoke(riderId: string, reason: string | null): Promise<RiderRow> {
    const r = await this.store.revokeRider(riderId, this.clock.now(), reason);
    if (!r) throw apiError('unknown_rider', `no rider ${riderId}`);
    this.logger.info({ riderId }, 'rider revoked');
    return r;
  }

  /** Withdrawal (SPEC §14): revoked everywhere with the next config pull, identifying data erased. */
  async withdraw(riderId: string): Promise<RiderRow> {
    const r = await this.store.withdrawRider(riderId, this.clock.now());
    if (!r) throw apiError('unknown_rider', `no rider ${riderId}`);
    this.logger.info({ riderId }, 'rider withdrew; identifying data erased');
    return r;
  }

  /**
   * Sign a credential for the rider with the active key (created on first use); bound to the
   * rider's device key when one is given (`cnf`, SPEC §14), static otherwise (a printed card).
   */
  async issue(riderId: string, ttlDays: number = this.opts.ttlDays, deviceJwk?: DeviceJwk): Promise<IssuedCredential> {
    // Stations refuse credentials that outlive the maximum they are sent (SPEC §4): never issue one.
    const maxDays = maxCredentialDays(this.opts);
    if (ttlDays > maxDays) throw apiError('bad_request', `ttlDays ${ttlDays} is longer than this cloud issues (${maxDays} days, credentials.maxTtlDays); ask for fewer days`);
    const rider = await this.get(riderId);
    if (rider.revokedAt !== null) throw apiError('revoked', `rider ${riderId} is revoked; no credential is issued`);
    const key = await this.activeKey();
    const now = this.clock.now();
    const ttlSeconds = Math.round((ttlDays * DAY_MS) / 1000);
    const credential = await issueCredential(key, {
      riderId,
      ...(rider.group ? { group: rider.group } : {}),
      issuedAtMs: now,
      ttlSeconds,
      ...(deviceJwk ? { deviceJwk } : {}),
    });
    const expiresAt = (Math.floor(now / 1000) + ttlSeconds) * 1000;
    await this.store.noteCredentialIssued(riderId, key.kid, expiresAt);
    return { riderId, credential, kid: key.kid, expiresAt };
  }

  /** The active signing key; one is generated if there is none. */
  async activeKey(): Promise<SigningKey> {
    const active = (await this.store.signingKeys()).find((k) => k.retiredAt === null);
    if (active) return toSigningKey(active);
    return this.rotate();
  }

  /** Generate a new key and make it the active one; the old one is retired, not deleted. */
  async rotate(): Promise<SigningKey> {
    const now = this.clock.now();
    const kid = `k-${new Date(now).toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(4).toString('hex')}`;
    const key = await generateSigningKey(kid);
    await this.store.addSigningKey({
      kid,
      privateJwk: key.privateJwk as Record<string, unknown>,
      publicJwk: key.publicJwk as Record<string, unknown>,
      createdAt: now,
    });
    await this.store.activateSigningKey(kid, now);
    this.logger.info({ kid }, 'signing key rotated');
    return key;
  }

  /** Keys whose public half is published: the active one and retired ones with live credentials. */
  async publishedKeys(nowMs: number = this.clock.now()): Promise<SigningKeyRow[]> {
    return (await this.store.signingKeys()).filter((k) => k.retiredAt === null || (k.lastExp !== null && k.lastExp > nowMs));
  }

  async jwks(nowMs: number = this.clock.now()): Promise<{ keys: Record<string, unknown>[] }> {
    return { keys: (await this.publishedKeys(nowMs)).map((k) => k.publicJwk) };
  }

  async keyList(nowMs: number = this.clock.now()): Promise<{ kid: string; createdAt: number; retiredAt: number | null; lastExp: number | null; published: boolean }[]> {
    const published = new Set((await this.publishedKeys(nowMs)).map((k) => k.kid));
    return (await this.store.signingKeys()).map((k) => ({
      kid: k.kid,
      createdAt: k.createdAt,
      retiredAt: k.retiredAt,
      lastExp: k.lastExp,
      published: published.has(k.kid),
    }));
  }
}

function toSigningKey(k: SigningKeyRow): SigningKey {
  return { kid: k.kid, privateJwk: k.privateJwk, publicJwk: k.publicJwk };
}
