/**
 * Bearer tokens (SPEC §9, §11): stations and admins are configured by the SHA-256 of their
 * token; a presented token is hashed and compared with timingSafeEqual against every entry.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { sha256Hex } from '../protocol/index.ts';
import type { CloudConfig, Role } from './config.ts';
import { apiError } from './errors.ts';
import type { CloudStore, StationRow } from './store/store.ts';

export function bearerOf(req: FastifyRequest): string | null {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return null;
  const m = /^Bearer\s+(\S{1,512})\s*$/i.exec(h);
  return m ? m[1]! : null;
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** The first entry whose hash matches; every entry is compared, so timing says nothing. */
function findByHash<T>(entries: readonly T[], hashOf: (t: T) => string, token: string): T | null {
  const h = sha256Hex(token);
  let found: T | null = null;
  for (const e of entries) if (sameHash(hashOf(e), h) && found === null) found = e;
  return found;
}

export interface Principal {
  name: string;
  role: Role;
  sponsorId: string | null;
  by: string;
}

/**
 * How long an upload's token, once found, lets later uploads in without a read (per instance).
 * Safe because it only opens the door: the store checks the token and that the station is
 * enabled again in the transaction that stores an upload's events, and every other answer to an
 * upload let in this way is checked against the store first (syncRoutes.ts), so a replaced
 * token or a disabled station still stops at once on every instance (SPEC §12). What it lets
 * through for longer is only the parse of a batch from a token that was good this long ago.
 * 10 minutes, because a station uploads about once a minute (its heartbeat) and a load balancer
 * spreads those over the instances: with the 5 s it had, no instance saw a station again in
 * time, and every upload paid a read of its token (issue 14: a round trip to PostgreSQL each).
 */
export const UPLOAD_TOKEN_CACHE_MS = 600_000;
/** Tokens kept at once: a fleet's stations (issue 14: 10,000) and room to spare. */
const UPLOAD_TOKEN_CACHE_MAX = 50_000;

export class Auth {
  private readonly uploadTokens = new Map<string, { station: StationRow; until: number }>();

  constructor(
    private readonly config: CloudConfig,
    private readonly store: CloudStore,
  ) {}

  /**
   * The station this request's token belongs to, which must be `stationId` (401 / 403), and
   * enabled (403 `station_disabled`). Stations and token hashes are read from the store on every
   * request, so a replaced token or a disabled station stops at once on every instance (SPEC §12);
   * the lookup is by the token's SHA-256, which says nothing about the token.
   */
  async requireStation(req: FastifyRequest, stationId: string): Promise<StationRow> {
    const token = bearerOf(req);
    if (!token) throw apiError('unauthorized', 'a station bearer token is required');
    const station = await this.store.stationByTokenHash(sha256Hex(token));
    if (!station) throw apiError('unauthorized', 'the station token is not known');
    if (station.id !== stationId) throw apiError('forbidden', `this token belongs to another station and may not act for ${stationId}`);
    if (!station.enabled) throw apiError('station_disabled', `station ${stationId} is disabled; an admin can enable it again (PUT /v1/stations/${stationId} {"enabled": true})`);
    return station;
  }

  /**
   * As `requireStation`, for an event upload: a token found within UPLOAD_TOKEN_CACHE_MS is let
   * in again without a read (`cached`: the answer must then be checked by the store or with
   * `requireStation` before it goes out). Only found tokens are kept; `now` in ms.
   */
  async requireUploadStation(req: FastifyRequest, stationId: string, now: number): Promise<{ station: StationRow; cached: boolean }> {
    const token = bearerOf(req);
    const hash = token ? sha256Hex(token) : null;
    const hit = hash ? this.uploadTokens.get(hash) : undefined;
    if (hit && hit.until > now && hit.station.id === stationId) return { station: hit.station, cached: true };
    if (hash && hit) this.uploadTokens.delete(hash);
    const station = await this.requireStation(req, stationId);
    if (this.uploadTokens.size >= UPLOAD_TOKEN_CACHE_MAX) this.uploadTokens.delete(this.uploadTokens.keys().next().value!);
    this.uploadTokens.set(station.tokenSha256, { station, until: now + UPLOAD_TOKEN_CACHE_MS });
    return { station, cached: false };
  }

  /** Forget a station's kept upload token (the store refused it, or it is checked again). */
  forgetUploadToken(tokenSha256: string): void {
    this.uploadTokens.delete(tokenSha256);
  }

  /**
   * The token's holder, who must have one of `roles` (SPEC §17; `admin` may do everything):
   * 401 without a known token, 403 `forbidden` naming the role otherwise. `by` names token and
   * role for the audit log.
   */
  requireRole(req: FastifyRequest, ...roles: Role[]): Principal {
    const token = bearerOf(req);
    if (!token) throw apiError('unauthorized', 'an admin bearer token is required');
    const entry = findByHash(this.config.adminTokens, (a) => a.sha256, token);
    if (!entry) throw apiError('unauthorized', 'the admin token is not known');
    if (entry.role !== 'admin' && !roles.includes(entry.role)) {
      throw apiError('forbidden', `a ${entry.role} token may not do this; ask the street office for a token with the right role`);
    }
    return { name: entry.name, role: entry.role, sponsorId: entry.sponsorId ?? null, by: `${entry.name} (${entry.role})` };
  }

  /** The admin's name and role for the audit log (`name (admin)`), or 401/403. */
  requireAdmin(req: FastifyRequest): string {
    return this.requireRole(req, 'admin').by;
  }
}
