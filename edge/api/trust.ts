/**
 * What the station trusts: rider signing keys (JWKS), revoked riders and maintenance token
 * hashes — the config's own, merged with the ones synced from the cloud (SPEC §4, §11).
 * Verification is offline. The config puller (edge/sync) keeps the last cloud document in the
 * ledger and hands it over again at start, so a restart without the internet still knows the
 * cloud's keys and revocations; this store only merges.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { JSONWebKeySet, JWK } from 'jose';
import { codeVerifier, type Clock, type StationConfigDoc, type VerifyResult } from '../../protocol/index.ts';
import type { StationConfig } from '../config.ts';
import type { Logger } from '../log.ts';

interface TokenEntry {
  name: string;
  hash: Buffer;
}

export interface TrustStoreOptions {
  config: StationConfig;
  clock: Clock;
  logger: Logger;
}

function keyId(k: JWK): string {
  return `${k.kid ?? ''}|${k.kty}|${(k as { x?: string }).x ?? ''}|${(k as { n?: string }).n ?? ''}`;
}

export class TrustStore {
  private verify: ReturnType<typeof codeVerifier>;
  private revoked: Set<string>;
  private tokens: TokenEntry[];
  private cloud: StationConfigDoc | undefined;
  private readonly listeners = new Set<(doc: StationConfigDoc) => void>();

  constructor(private readonly opts: TrustStoreOptions) {
    this.verify = codeVerifier({ keys: [] });
    this.revoked = new Set();
    this.tokens = [];
    this.rebuild();
  }

  /** The config puller calls this with each new document (ETag changed). */
  applyCloudConfig(doc: StationConfigDoc): void {
    this.cloud = doc;
    this.rebuild();
    this.opts.logger.info(
      { keys: doc.jwks.keys.length, revoked: doc.revokedRiders.length, tokens: doc.maintenanceTokens.length },
      'cloud trust merged',
    );
    for (const l of this.listeners) l(doc);
  }

  /** The last cloud document, if any (the quota policy is applied by the station). */
  cloudConfig(): StationConfigDoc | undefined {
    return this.cloud;
  }

  onCloudConfig(listener: (doc: StationConfigDoc) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private rebuild(): void {
    const { config } = this.opts;
    const keys = new Map<string, JWK>();
    for (const k of [...config.credentials.jwks.keys, ...(this.cloud?.jwks.keys ?? [])] as JWK[]) keys.set(keyId(k), k);
    // SPEC §4: the shorter of the station's and the cloud's longest lifetime (none: the protocol's).
    const lifetimes = [config.credentials.maxLifetimeDays, this.cloud?.credentials?.maxLifetimeDays].filter((d): d is number => d !== undefined);
    this.verify = codeVerifier({ keys: [...keys.values()] } as JSONWebKeySet, lifetimes.length ? { maxLifetimeDays: Math.min(...lifetimes) } : {});
    this.revoked = new Set([...config.credentials.revokedRiders, ...(this.cloud?.revokedRiders ?? [])]);
    const tokens = new Map<string, TokenEntry>();
    for (const t of [...config.maintenanceTokens, ...(this.cloud?.maintenanceTokens ?? [])]) {
      tokens.set(t.sha256, { name: t.name, hash: Buffer.from(t.sha256, 'hex') });
    }
    this.tokens = [...tokens.values()];
  }

  /**
   * Offline verification of a scanned or typed code: a static credential (signature, expiry by
   * the station clock, revocation; SPEC §4) or a rotating one (also the device signature and
   * the time step, SPEC §14). Static codes are refused when the cloud's policy asks for
   * device-bound ones.
   */
  verifyCredential(token: string): Promise<VerifyResult> {
    const policy = { requireDeviceBound: this.cloud?.credentials?.requireDeviceBound ?? false };
    return this.verify(token, this.revoked, this.opts.clock.now(), policy);
  }

  /** The name of the maintenance token whose SHA-256 matches `bearer`, or null. */
  maintenanceOperator(bearer: string): string | null {
    if (bearer.length === 0 || bearer.length > 512) return null;
    const h = createHash('sha256').update(bearer, 'utf8').digest();
    let found: string | null = null;
    // Compare against every entry in constant time, so timing does not reveal which one matched.
    for (const t of this.tokens) if (timingSafeEqual(h, t.hash) && found === null) found = t.name;
    return found;
  }

  counts(): { keys: number; revoked: number; tokens: number; cloudSynced: boolean } {
    const keys = this.opts.config.credentials.jwks.keys.length + (this.cloud?.jwks.keys.length ?? 0);
    return { keys, revoked: this.revoked.size, tokens: this.tokens.length, cloudSynced: this.cloud !== undefined };
  }
}
