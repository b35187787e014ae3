/**
 * Rider routes (SPEC §8, contract): check-in, claim, locker deposit/retrieve, rider status.
 * Order on every route: body schema → per-credential limit → offline credential check → the
 * station core. Refusals are thrown as ApiError so the one error handler answers them, and a
 * refusal before the core never touches the ledger.
 */
import { createHash } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { Compartment, addDays } from '../../protocol/index.ts';
import type { AppContext, TypedApp } from './context.ts';
import { apiError } from './errors.ts';

const Credential = Type.String({ minLength: 1, maxLength: 4096 });
const CredentialBody = Type.Object({ credential: Credential }, { additionalProperties: false });
const ClaimBody = Type.Object(
  { credential: Credential, compartment: Compartment },
  { additionalProperties: false },
);
const StatusQuery = Type.Object({ credential: Credential }, { additionalProperties: false });

export type CredentialBody = Static<typeof CredentialBody>;
export type ClaimBody = Static<typeof ClaimBody>;

/** Limit, then verify; answers the rider id or throws the credential's refusal. */
async function riderOf(ctx: AppContext, credential: string): Promise<string> {
  // Keyed by a hash of the code itself, so forged codes are limited as well as real ones.
  const key = createHash('sha256').update(credential).digest('base64');
  const limit = ctx.credentialLimiter.hit(key);
  if (!limit.ok) throw apiError('rate_limited', 'too many requests with this code; wait a moment and try again', { retryAfterS: limit.retryAfterS });
  const v = await ctx.trust.verifyCredential(credential);
  if (!v.ok) throw apiError(v.error, v.message);
  return v.riderId;
}

export function registerRiderRoutes(app: TypedApp, ctx: AppContext): void {
  app.post('/v1/checkins', { schema: { body: CredentialBody } }, async (req, reply) => {
    const riderId = await riderOf(ctx, req.body.credential);
    const { outcome } = ctx.quota.checkin(riderId);
    ctx.metrics.checkins.inc({ result: outcome.kind });
    if (outcome.kind === 'opened') return reply.code(201).send({ riderId, window: outcome.window });
    return reply.code(200).send({ status: 'already_checked_in', riderId, window: outcome.window });
  });

  app.post('/v1/claims', { schema: { body: ClaimBody } }, async (req, reply) => {
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
        // The kiosk says when the window ends and when the next bottle can be taken.
        throw apiError('already_claimed_today', `today's bottle has already been taken; the window ends ${w.to}`, {
          window: w,
          nextDay: addDays(outcome.day, 1) <= w.to ? addDays(outcome.day, 1) : null,
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

  app.post('/v1/lockers/deposit', { schema: { body: CredentialBody } }, async (req, reply) => {
    const riderId = await riderOf(ctx, req.body.credential);
    const r = await ctx.lockers.deposit(riderId);
    switch (r.kind) {
      case 'deposited':
        return reply.code(201).send({ compartment: r.compartment });
      case 'locker_already_held':
        throw apiError('locker_already_held', `this rider already holds compartment ${r.compartment}`, { compartment: r.compartment });
      case 'no_free_compartment':
        throw apiError('no_free_compartment');
      case 'locker_unavailable':
        throw apiError('locker_unavailable', `the lockers cannot be operated now (${r.reason})`);
    }
  });

  app.post('/v1/lockers/retrieve', { schema: { body: CredentialBody } }, async (req, reply) => {
    const riderId = await riderOf(ctx, req.body.credential);
    const r = await ctx.lockers.retrieve(riderId);
    switch (r.kind) {
      case 'retrieved':
        return reply.code(200).send({ compartment: r.compartment });
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
    { schema: { querystring: StatusQuery } },
    async (req, reply) => {
      const riderId = await riderOf(ctx, req.query.credential);
      const s = ctx.quota.riderStatus(riderId);
      const holding = ctx.lockers.holdingOf(riderId);
      return reply.code(200).send({
        riderId,
        day: s.day,
        window: s.window,
        claimedToday: s.claimedToday,
        locker: holding ? { compartment: holding.compartment, since: holding.since } : null,
      });
    },
  );
}
