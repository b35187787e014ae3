/**
 * Maintenance routes (SPEC §8): bearer token whose SHA-256 matches a maintenance token
 * (config or synced), role `maintenance`. Every authenticated call is audited as a
 * `maintenance.audit` event with who (token name), route and outcome, in the same
 * transaction as the change it audits (for restock and forced open, the transaction that
 * records the change once the device has taken it).
 * Calls without a valid token are refused, logged and counted, but not written to the
 * ledger: an unauthenticated caller must not be able to grow the station's log.
 */
import { Type } from '@sinclair/typebox';
import { Compartment } from '../../protocol/index.ts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext, TypedApp } from './context.ts';
import { apiError } from './errors.ts';
import { stationHealth } from './station-health.ts';
import { ClaimResolved, ForcedOpen, Restocked, ServiceSet, StationHealth } from './schemas.ts';
import { registerConsoleApi } from '../console/routes.ts';
import { restockSponsors } from './sponsors.ts';

const DeviceParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });
const CompartmentParams = Type.Object({ compartment: Type.String({ minLength: 1, maxLength: 16 }) });
const ClaimParams = Type.Object({ claimId: Type.String({ minLength: 1, maxLength: 64 }) });
const RestockBody = Type.Object(
  {
    compartment: Compartment,
    count: Type.Integer({ minimum: 0, maximum: 10_000 }),
    /** `add` (default): count bottles were put in; `set`: the compartment now holds count (docs/maintenance.md). */
    mode: Type.Optional(Type.Union([Type.Literal('add'), Type.Literal('set')])),
    sponsor: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  },
  { additionalProperties: false },
);
const OpenBody = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false });
const ServiceBody = Type.Object({ inService: Type.Boolean() }, { additionalProperties: false });
const ResolveBody = Type.Object(
  { outcome: Type.Union([Type.Literal('committed'), Type.Literal('released')]) },
  { additionalProperties: false },
);

export function registerMaintenanceRoutes(app: TypedApp, ctx: AppContext): void {
  const log = ctx.logger.child({ module: 'maintenance' });

  async function authenticate(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
    const name = m ? ctx.trust.maintenanceOperator(m[1]!) : null;
    if (!name) {
      log.warn({ ip: req.ip, path: req.url.split('?')[0], hadToken: !!m }, 'maintenance call refused: no valid token');
      reply.header('www-authenticate', 'Bearer realm="waystation-maintenance"');
      throw apiError('unauthorized', m ? 'the maintenance token is not valid' : undefined);
    }
    ctx.state(req).operator = name;
  }

  const auth = { onRequest: authenticate };
  registerConsoleApi(app, ctx, { onRequest: authenticate });

  app.get('/v1/health', { ...auth, schema: { response: { 200: StationHealth } } }, async (req, reply) => {
    const body = stationHealth(ctx);
    ctx.audited(req, 'ok', {}, () => true);
    return reply.send(body);
  });

  app.post('/v1/maintenance/dispensers/:id/restock', { ...auth, schema: { params: DeviceParams, body: RestockBody, response: { 200: Restocked } } }, async (req, reply) => {
    const { id } = req.params;
    const { compartment, sponsor } = req.body;
    const mode = req.body.mode ?? 'add';
    if (!ctx.config.dispensers.some((d) => d.id === id)) throw apiError('unknown_device', `no dispenser "${id}"`);
    const { sponsors } = restockSponsors(ctx);
    if (sponsor && sponsors.length > 0 && !sponsors.includes(sponsor)) throw apiError('unknown_sponsor', `"${sponsor}" is not in the station's sponsors list`, { sponsors });
    const by = ctx.state(req).operator!;
    // `set`: SPEC §5 cmd/restock only says how many were added, so a count is set by adding
    // the difference from what the device last reported; it cannot be lowered over MQTT.
    let count = req.body.count;
    let setTo: Record<string, number> = {};
    if (mode === 'add' && count < 1) throw apiError('bad_request', 'count must be 1–10000 bottles to add');
    if (mode === 'set') {
      const reported = ctx.claims.availability().find((d) => d.dispenserId === id)?.stock[compartment];
      if (reported === undefined) throw apiError('stock_unknown', `${id} has not reported its ${compartment} stock yet; wait until it is online, or add bottles instead`);
      if (count < reported) {
        throw apiError('cannot_lower_stock', `${id} counts ${reported} ${compartment}; the station can only add to a dispenser's count (SPEC §5 cmd/restock) — it counts down as bottles drop; correct it on the dispenser's own panel`, { reported });
      }
      setTo = { setTo: count, reported };
      count -= reported;
      if (count === 0) {
        ctx.audited(req, 'ok', { dispenserId: id, compartment, mode, ...setTo, count }, () => true);
        return reply.send({ dispenserId: id, compartment, count, mode, ...setTo, by, deviceTold: false, unchanged: true });
      }
    }
    const detail = { dispenserId: id, compartment, count, mode, ...setTo, ...(sponsor ? { sponsor } : {}) };
    // The record (and its audit) first; a ledger that refuses it answers 503 ledger_unavailable
    // and the device is not told. `deviceTold: false`: recorded, but the broker could not pass
    // cmd/restock on (it is stopping); the device under-counts until the next restock.
    const { deviceTold } = await ctx.claims.restock(id, compartment, count, sponsor, by, ctx.auditRecord(req, 'ok', detail));
    return reply.send({ ...detail, by, deviceTold });
  });

  app.post('/v1/maintenance/lockers/:compartment/open', { ...auth, schema: { params: CompartmentParams, body: OpenBody, response: { 200: ForcedOpen } } }, async (req, reply) => {
    const { compartment } = req.params;
    if (!ctx.lockers.hasCompartment(compartment)) throw apiError('unknown_compartment', `no compartment "${compartment}"`);
    const by = ctx.state(req).operator!;
    const r = await ctx.lockers.forceOpen(compartment, req.body.reason, by, ctx.auditRecord(req, 'ok', { compartment, reason: req.body.reason }));
    if (!r.ok) throw apiError(r.error, r.message, { compartment });
    return reply.send({ compartment, opened: true, by });
  });

  app.put('/v1/maintenance/devices/:id/service', { ...auth, schema: { params: DeviceParams, body: ServiceBody, response: { 200: ServiceSet } } }, async (req, reply) => {
    const { id } = req.params;
    const { inService } = req.body;
    const by = ctx.state(req).operator!;
    if (!ctx.health.has(id) && ctx.lockers.setCompartmentService && ctx.lockers.hasCompartment(id)) {
      // A single compartment (a broken door) rather than a whole board.
      const setter = ctx.lockers.setCompartmentService.bind(ctx.lockers);
      ctx.audited(req, 'ok', { compartment: id, inService }, () => setter(id, inService, by));
      const view = ctx.lockers.compartments().find((c) => c.compartment === id);
      return reply.send({ id, inService: view?.inService ?? inService, state: view?.state ?? 'unknown', by });
    }
    if (!ctx.health.has(id)) throw apiError('unknown_device', `no device "${id}"`);
    // health.setService writes `device.service` in a nested transaction (a savepoint of this one).
    ctx.audited(req, 'ok', { deviceId: id, inService }, () => {
      ctx.health.setService(id, inService, by);
      return true;
    });
    const v = ctx.health.get(id)!;
    return reply.send({ id, inService: v.inService, state: v.state, by });
  });

  app.post('/v1/maintenance/claims/:claimId/resolve', { ...auth, schema: { params: ClaimParams, body: ResolveBody, response: { 200: ClaimResolved } } }, async (req, reply) => {
    const { claimId } = req.params;
    const { outcome } = req.body;
    const before = ctx.quota.getClaim(claimId);
    if (!before) throw apiError('unknown_claim', `no claim "${claimId}"`);
    if (before.status !== 'unknown') {
      throw apiError('claim_not_unknown', `claim ${claimId} is ${before.status}; only unknown claims can be resolved`, { status: before.status });
    }
    const by = ctx.state(req).operator!;
    const claim = ctx.audited(req, 'ok', { claimId, resolution: outcome }, () => ctx.claims.resolveByMaintenance(claimId, outcome, by));
    if (!claim) throw apiError('claim_not_unknown', `claim ${claimId} was settled meanwhile`);
    return reply.send({ claimId, status: claim.status, riderId: claim.riderId, day: claim.day, by });
  });
}
