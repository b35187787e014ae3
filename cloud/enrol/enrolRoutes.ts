/**
 * Enrolment routes (SPEC §14): invites and their posters (office or admin), the rider's own
 * enrolment, and the rider page's status and withdrawal, which prove the rider by a rotating
 * code. Answers are JSON `{error, message}` on refusal, as everywhere in the cloud.
 */
import { Type } from '@sinclair/typebox';
import { DEFAULT_TIMEZONE, MAX_CODE_LENGTH, RIDER_GROUPS } from '../../protocol/index.ts';
import type { CloudApp, RouteContext } from '../routes/context.ts';
import { Enrolment, INVITE_PATTERN } from './enrolment.ts';
import { posterHtml } from './printPages.ts';
import { riderStatusView } from './riderStatusView.ts';
import { riderHazardView } from '../hazards/hazardReports.ts';

const Group = Type.Union(RIDER_GROUPS.map((g) => Type.Literal(g)));
const Platform = Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' });
const InviteCode = Type.String({ pattern: INVITE_PATTERN });
const CodeBody = Type.Object({ code: Type.String({ minLength: 1, maxLength: MAX_CODE_LENGTH }) }, { additionalProperties: false });

const InviteBody = Type.Object(
  {
    uses: Type.Integer({ minimum: 1, maximum: 100_000 }),
    expiresAt: Type.Integer({ minimum: 0, description: 'ms since the epoch' }),
    zone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    note: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

const EnrolBody = Type.Object(
  {
    invite: Type.String({ minLength: 1, maxLength: 64 }),
    consent: Type.Boolean(),
    group: Group,
    platform: Type.Optional(Platform),
    // WebCrypto's export carries key_ops, ext and alg beside kty/crv/x; only those three are kept.
    deviceKey: Type.Object({ kty: Type.String({ maxLength: 8 }), crv: Type.Optional(Type.String({ maxLength: 16 })), x: Type.Optional(Type.String({ maxLength: 64 })) }, { maxProperties: 8 }),
    contact: Type.Optional(Type.String({ maxLength: 100 })),
    contactConsent: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export function enrolRoutes(app: CloudApp, ctx: RouteContext): Enrolment {
  const enrolment = new Enrolment(ctx.store, ctx.riders, ctx.config, ctx.clock, ctx.logger.child({ module: 'enrol' }));
  const origin = (req: { protocol: string; host: string }) => `${req.protocol}://${req.host}`;

  app.post('/v1/invites', { schema: { body: InviteBody } }, async (req, reply) => {
    const who = ctx.auth.requireRole(req, 'office');
    const inv = await enrolment.createInvite(req.body, who.by);
    return reply.code(201).send({ code: inv.code, url: enrolment.inviteUrl(inv.code, origin(req)), uses: inv.uses, expiresAt: inv.expiresAt, zone: inv.zone });
  });

  app.get('/v1/invites/:code', { schema: { params: Type.Object({ code: InviteCode }) } }, async (req) => {
    ctx.auth.requireRole(req, 'office');
    const inv = await enrolment.invite(req.params.code);
    return { ...inv, url: enrolment.inviteUrl(inv.code, origin(req)) };
  });

  // The poster is public: it shows only what is printed on it (the enrolment URL).
  app.get('/v1/invites/:code/poster', { schema: { params: Type.Object({ code: InviteCode }) } }, async (req, reply) => {
    const inv = await enrolment.invite(req.params.code);
    const html = posterHtml({ url: enrolment.inviteUrl(inv.code, origin(req)), expiresAt: inv.expiresAt, timezone: DEFAULT_TIMEZONE, zone: inv.zone });
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').header('content-security-policy', "default-src 'self'; img-src 'self' data:").send(html);
  });

  app.post('/v1/enrol', { bodyLimit: 8192, schema: { body: EnrolBody } }, async (req, reply) => {
    const r = await enrolment.enrol(req.body, req.ip);
    return reply.code(r.status === 'enrolled' ? 201 : 200).send(r);
  });

  // The rider page: who this phone is (status) and withdrawal, each proved by a rotating code.
  // The rider page's status (issue 12): what the stations' synced logs say of this rider, in the
  // service day of the station that opened the window, and the rider's own hazard reports.
  app.post('/v1/me', { bodyLimit: 8192, schema: { body: CodeBody } }, async (req) => {
    const rider = await enrolment.riderOfCode(req.body.code);
    const now = ctx.clock.now();
    const [status, hazards] = await Promise.all([ctx.store.riderStatus(rider.riderId), ctx.store.hazards({ riderId: rider.riderId, limit: 20 })]);
    const stationId = status.window?.stationId ?? status.lastClaim?.stationId;
    const timezone = (stationId ? (await ctx.store.station(stationId))?.timezone : undefined) ?? DEFAULT_TIMEZONE;
    return { ...Enrolment.publicView(rider), at: now, ...riderStatusView(status, now, timezone), hazards: hazards.map(riderHazardView) };
  });

  app.post('/v1/me/withdraw', { bodyLimit: 8192, schema: { body: CodeBody } }, async (req) => {
    const rider = await enrolment.withdrawByCode(req.body.code);
    req.log.info({ riderId: rider.riderId }, 'rider withdrew from the rider page');
    return { riderId: rider.riderId, withdrawnAt: rider.withdrawnAt };
  });

  return enrolment;
}
