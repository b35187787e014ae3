/**
 * Rider routes (SPEC §8, contract): check-in, claim, locker deposit/retrieve, rider status.
 * Order on every route: body schema → per-credential limit → offline credential check → the
 * station core. Refusals are thrown as ApiError so the one error handler answers them, and a
 * refusal before the core never touches the ledger.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { Compartment, addDays, daysBetween } from '../../protocol/index.ts';
import type { AppContext, TypedApp } from './context.ts';
import { apiError } from './errors.ts';
import { Cooldown } from './limiter.ts';
import { CheckinAlready, CheckinOpened, ClaimCommitted, LockerOpened, RiderStatus } from './schemas.ts';

const Credential = Type.String({ minLength: 1, maxLength: 4096 });
const CredentialBody = Type.Object({ credential: Credential }, { additionalProperties: false });
const ClaimBody = Type.Object(
  { credential: Credential, compartment: Compartment },
  { additionalProperties: false },
);
const StatusQuery = Type.Object({ credential: Credential }, { additionalProperties: false });

export type CredentialBody = Static<typeof CredentialBody>;

const RIDER_ROUTES = new Set(['/v1/checkins', '/v1/claims', '/v1/lockers/deposit', '/v1/lockers/retrieve', '/v1/riders/status']);
export type ClaimBody = Static<typeof ClaimBody>;

/**
 * Verify, then limit by the verified rider (issue 11): a code with spaces around it, a second
 * printed card or each new rotating code of one rider all count against that rider. Forged
 * codes never reach a rider's count; the per-address limit (app.ts) bounds them.
 */
async function riderOf(ctx: AppContext, credential: string): Promise<string> {
  const v = await ctx.trust.verifyCredential(credential);
  if (!v.ok) throw apiError(v.error, v.message);
  const limit = ctx.credentialLimiter.hit(v.riderId);
  if (!limit.ok) throw apiError('rate_limited', 'too many requests with this code; wait a moment and try again', { retryAfterS: limit.retryAfterS });
  return v.riderId;
}

export function registerRiderRoutes(app: TypedApp, ctx: AppContext): void {
  // Rider actions are taken at the kiosk (issue 11): its own addresses, or a separate kiosk
  // screen that shows the kiosk device token. Anyone else on the network is refused.
  const kioskAddresses = new Set(ctx.config.kiosk.allowedAddresses);
  const kioskToken = ctx.config.kiosk.tokenSha256 ? Buffer.from(ctx.config.kiosk.tokenSha256, 'hex') : null;
  const fromKiosk = (req: FastifyRequest): boolean => {
    if (kioskAddresses.has(req.ip)) return true;
    const t = req.headers['x-kiosk-token'];
    if (!kioskToken || typeof t !== 'string' || t.length > 512) return false;
    return timingSafeEqual(createHash('sha256').update(t).digest(), kioskToken);
  };
  app.addHook('onRequest', async (req) => {
    if (RIDER_ROUTES.has(req.routeOptions.url ?? '') && !fromKiosk(req)) {
      throw apiError('forbidden', 'rider actions are taken at the station’s kiosk screen');
    }
  });
  const lockerPause = new Cooldown(ctx.clock, ctx.config.lockers.riderCooldownMs);
  const notTooSoon = (riderId: string): void => {
    const c = lockerPause.take(riderId);
    if (!c.ok) throw apiError('too_soon', `wait ${c.retryAfterS} s before using the lockers again`, { retryAfterS: c.retryAfterS });
  };

  // What is printed on the door (config `lockers.labels`), the compartment's name otherwise.
  const labelOf = (compartment: string) => ctx.config.lockers.labels[compartment] ?? compartment;

  app.post('/v1/checkins', { schema: { body: CredentialBody, response: { 201: CheckinOpened, 200: CheckinAlready } } }, async (req, reply) => {
    const riderId = await riderOf(ctx, req.body.credential);
    const { outcome } = ctx.quota.checkin(riderId);
    ctx.metrics.checkins.inc({ result: outcome.kind });
    if (outcome.kind === 'opened') return reply.code(201).send({ riderId, window: outcome.window });
    // Zone scope (SPEC §13): a window opened at another station of the zone covers here too.
    const station = 'station' in outcome && outcome.station ? { station: outcome.station } : {};
    return reply.code(200).send({ status: 'already_checked_in', riderId, window: outcome.window, ...station });
  });

  app.post('/v1/claims', { schema: { body: ClaimBody, response: { 201: ClaimCommitted } } }, async (req, reply) => {
    const riderId = await riderOf(ctx, req.body.credential);
    const outcome = await ctx.claims.claim(riderId, req.body.compartment);
    ctx.metrics.claimOutcomes.inc({ outcome: outcome.kind });
    switch (outcome.kind) {
      case 'committed':
        return reply.code(201).send({ claimId: outcome.claim.id, status: 'committed', day: outcome.day, compartment: outcome.claim.compartment });
      case 'not_checked_in':
        throw apiError('not_checked_in');
      case 'already_claimed_today': {
        const w = outcome.window;
        // The kiosk says when the window ends and when the next bottle can be taken; in zone
        // scope (SPEC §13) `station` names the other station of the zone where it was taken.
        const where = outcome.station ? ` at ${outcome.station}` : '';
        throw apiError('already_claimed_today', `today's bottle has already been taken${where}; the window ends ${w.to}`, {
          window: w,
          nextDay: addDays(outcome.day, 1) <= w.to ? addDays(outcome.day, 1) : null,
          ...(outcome.station ? { station: outcome.station } : {}),
        });
      }
      case 'out_of_stock':
        throw apiError('out_of_stock', `the ${outcome.compartment} compartment is out of stock`, { compartment: outcome.compartment });
      case 'dispenser_unavailable':
        throw apiError('dispenser_unavailable', `no dispenser can serve this now (${outcome.reason})`);
      case 'dispense_failed':
        throw apiError('dispense_failed', `the dispenser did not drop a bottle (${outcome.reason}); the quota was given back`, {
          claimId: outcome.claim.id,
        });
      case 'dispense_unknown':
        throw apiError('dispense_unknown', undefined, { claimId: outcome.claim.id });
    }
  });

  app.post('/v1/lockers/deposit', { schema: { body: CredentialBody, response: { 201: LockerOpened } } }, async (req, reply) => {
    const riderId = await riderOf(ctx, req.body.credential);
    notTooSoon(riderId);
    const r = await ctx.lockers.deposit(riderId);
    switch (r.kind) {
      case 'deposited':
        return reply.code(201).send({ compartment: r.compartment, label: labelOf(r.compartment) });
      case 'locker_already_held':
        throw apiError('locker_already_held', `this rider already holds compartment ${r.compartment}`, { compartment: r.compartment });
      case 'no_free_compartment':
        throw apiError('no_free_compartment');
      case 'locker_unavailable':
        throw apiError('locker_unavailable', `the lockers cannot be operated now (${r.reason})`);
    }
  });

  app.post('/v1/lockers/retrieve', { schema: { body: CredentialBody, response: { 200: LockerOpened } } }, async (req, reply) => {
    const riderId = await riderOf(ctx, req.body.credential);
    notTooSoon(riderId);
    const r = await ctx.lockers.retrieve(riderId);
    switch (r.kind) {
      case 'retrieved':
        return reply.code(200).send({ compartment: r.compartment, label: labelOf(r.compartment) });
      case 'no_locker_held':
        throw apiError('no_locker_held');
      case 'locker_unavailable':
        throw apiError('locker_unavailable', `compartment ${r.compartment} cannot be opened now (${r.reason}); your items are safe`, {
          compartment: r.compartment,
        });
    }
  });

  app.get(
    '/v1/riders/status',
    { schema: { querystring: StatusQuery, response: { 200: RiderStatus } } },
    async (req, reply) => {
      const riderId = await riderOf(ctx, req.query.credential);
      const s = ctx.quota.riderStatus(riderId);
      const holding = ctx.lockers.holdingOf(riderId);
      const w = s.window;
      const tomorrow = addDays(s.day, 1);
      // A bottle whose outcome is not known yet holds today's quota but is not "taken": the kiosk
      // says it is being checked and quotes its reference.
      const pending = s.claimsToday.find((c) => c.status === 'unknown' || c.status === 'dispensing' || c.status === 'reserved');
      return reply.code(200).send({
        riderId,
        day: s.day,
        window: w,
        claimedToday: s.claimedToday,
        // Zone scope: the other station of the zone where today's bottle was taken.
        claimedAt: s.claimedAt,
        // Extras beside the SPEC §8 fields, for the kiosk:
        windowDaysLeft: w ? daysBetween(s.day, w.to) + 1 : 0,
        nextBottleDay: !w ? null : !s.claimedToday ? s.day : tomorrow <= w.to ? tomorrow : null,
        pendingClaim: pending ? { claimId: pending.id, since: pending.createdTs } : null,
        // When the last window ended, so the kiosk can say so and offer a new check-in.
        lastWindowTo: w ? null : ctx.quota.lastWindowToBefore(riderId, s.day),
        locker: holding
          ? {
              compartment: holding.compartment,
              label: labelOf(holding.compartment),
              since: holding.since,
              deadline: holding.since === null ? null : holding.since + ctx.config.lockers.storageLimitMs,
            }
          : null,
      });
    },
  );
}
