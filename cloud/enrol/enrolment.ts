/**
 * Riders enrol themselves (SPEC §14): the office makes invites (counted uses, an expiry, a
 * zone); a rider's phone sends the invite, consent, a group, optionally a platform and a
 * separately consented contact, and its own Ed25519 public key, and gets a credential bound to
 * that key. A replayed enrolment (same device key) finds the same rider and counts no use.
 * The rider page proves who it is with its rotating code for status and withdrawal.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { JSONWebKeySet } from 'jose';
import { codeVerifier, deviceJwkOf, type Clock } from '../../protocol/index.ts';
import type { CloudConfig } from '../config.ts';
import { apiError } from '../errors.ts';
import type { RiderRegistry } from '../riders/riderRegistry.ts';
import type { CloudStore, InviteRow, RiderRow } from '../store/store.ts';
import { AddressLimiter } from './addressLimiter.ts';

export interface InviteRequest {
  uses: number;
  expiresAt: number;
  zone?: string;
  note?: string;
}

export interface EnrolRequest {
  invite: string;
  consent: boolean;
  group: string;
  platform?: string;
  deviceKey: Record<string, unknown>;
  contact?: string;
  contactConsent?: boolean;
}

export interface Enrolled {
  status: 'enrolled' | 'replayed';
  riderId: string;
  credential: string;
  expiresAt: number;
}

export const INVITE_PATTERN = '^[A-Za-z0-9_-]{6,32}$';

export class Enrolment {
  private readonly limiter: AddressLimiter;

  constructor(
    private readonly store: CloudStore,
    private readonly riders: RiderRegistry,
    private readonly config: CloudConfig,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.limiter = new AddressLimiter(store, { max: config.riders.enrolPerAddress, windowMs: config.riders.enrolWindowMs, now: () => clock.now() });
  }

  /** `{publicUrl}/r/?invite=<code>`: what the poster's QR carries. */
  inviteUrl(code: string, requestOrigin: string): string {
    const base = (this.config.riders.publicUrl ?? requestOrigin).replace(/\/+$/, '');
    return `${base}/r/?invite=${encodeURIComponent(code)}`;
  }

  async createInvite(r: InviteRequest, by: string): Promise<InviteRow> {
    const now = this.clock.now();
    if (r.expiresAt <= now) throw apiError('bad_request', 'expiresAt must be in the future (ms since the epoch)');
    const code = randomBytes(9).toString('base64url');
    const row = await this.store.createInvite({ code, uses: r.uses, expiresAt: r.expiresAt, zone: r.zone ?? null, note: r.note ?? null, createdAt: now, createdBy: by });
    this.logger.info({ by, uses: r.uses, zone: row.zone }, 'invite created');
    return row;
  }

  async invite(code: string): Promise<InviteRow> {
    const row = await this.store.invite(code);
    if (!row) throw apiError('not_found', 'no such invite');
    return row;
  }

  async enrol(r: EnrolRequest, address: string): Promise<Enrolled> {
    const limit = await this.limiter.hit(address);
    if (!limit.ok) throw apiError('rate_limited', 'too many enrolments from this address; wait and try again', { retryAfterS: limit.retryAfterS });
    if (r.consent !== true) throw apiError('consent_required', 'tick the consent box after reading the notice, then try again');
    const device = deviceJwkOf(r.deviceKey);
    if (!device) throw apiError('device_key_invalid', 'deviceKey must be the public half of an Ed25519 key (kty OKP, crv Ed25519, x; no d)');
    const contact = r.contact?.trim() ? r.contact.trim() : null;
    if (contact !== null && r.contactConsent !== true) throw apiError('consent_required', 'a contact is kept only with its own consent: tick that box too, or leave the contact empty');
    const result = await this.store.enrolRider({
      invite: r.invite,
      riderId: `r-${randomBytes(8).toString('hex')}`,
      group: r.group,
      platform: r.platform ?? null,
      deviceX: device.x,
      contact,
      at: this.clock.now(),
    });
    if (result.kind === 'invite_invalid') {
      this.logger.info({ reason: result.reason, address }, 'enrolment refused: invite not valid');
      throw apiError('invite_invalid', `this invite is ${result.reason === 'unknown' ? 'not known' : result.reason === 'expired' ? 'expired' : 'used up'}; ask the station staff for a new poster`);
    }
    if (result.rider.revokedAt !== null) throw apiError('revoked', 'this phone’s rider was withdrawn or revoked; enrol again with a fresh page');
    const issued = await this.riders.issue(result.rider.riderId, undefined, device);
    this.logger.info({ riderId: result.rider.riderId, kind: result.kind }, result.kind === 'enrolled' ? 'rider enrolled' : 'enrolment replayed');
    return { status: result.kind, riderId: result.rider.riderId, credential: issued.credential, expiresAt: issued.expiresAt };
  }

  /** The rider a rotating code (SPEC §14) belongs to, checked as a station would. */
  async riderOfCode(code: string): Promise<RiderRow> {
    const now = this.clock.now();
    const verify = codeVerifier((await this.riders.jwks(now)) as unknown as JSONWebKeySet);
    const v = await verify(code, await this.store.revokedRiders(now), now, { requireDeviceBound: true });
    if (!v.ok) throw apiError(v.error, v.message);
    return this.riders.get(v.riderId);
  }

  async withdrawByCode(code: string): Promise<RiderRow> {
    const rider = await this.riderOfCode(code);
    return this.riders.withdraw(rider.riderId);
  }

  /** What the phone shows; the device key is left out (it is the phone's own). */
  static publicView(r: RiderRow): Record<string, unknown> {
    return { riderId: r.riderId, group: r.group, platform: r.platform, zone: r.zone ?? null, enrolledAt: r.createdAt, credentialExpiresAt: r.lastCredentialExp };
  }
}
