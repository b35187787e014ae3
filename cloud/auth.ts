/**
 * Bearer tokens (SPEC §9, §11): stations and admins are configured by the SHA-256 of their
 * token; a presented token is hashed and compared with timingSafeEqual against every entry.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { sha256Hex } from '../protocol/index.ts';
import type { CloudConfig, Role } from './config.ts';
import { apiError } from './errors.ts';

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

export class Auth {
  constructor(private readonly config: CloudConfig) {}

  /** The station this request's token belongs to, which must be `stationId` (401 / 403). */
  requireStation(req: FastifyRequest, stationId: string): void {
    const token = bearerOf(req);
    if (!token) throw apiError('unauthorized', 'a station bearer token is required');
    const station = findByHash(this.config.stations, (s) => s.tokenSha256, token);
    if (!station) throw apiError('unauthorized', 'the station token is not known');
    if (station.id !== stationId) throw apiError('forbidden', `this token belongs to another station and may not act for ${stationId}`);
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
