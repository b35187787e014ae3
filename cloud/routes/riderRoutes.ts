/**
 * Admin routes for riders, credentials and signing keys (SPEC §4), printed cards and
 * withdrawal (SPEC §14); the riders' own enrolment and pages are registered from here too
 * (cloud/enrol/). Every admin call is logged with the admin's name.
 */
import { Type } from '@sinclair/typebox';
import { DEFAULT_TIMEZONE, RIDER_GROUPS } from '../../protocol/index.ts';
import { enrolRoutes } from '../enrol/enrolRoutes.ts';
import { riderPageRoutes } from '../enrol/pageRoutes.ts';
import { cardHtml } from '../enrol/printPages.ts';
import { hazardRoutes } from '../hazards/hazardRoutes.ts';
import type { CloudApp, RouteContext } from './context.ts';

const RiderParams = Type.Object({ riderId: Type.String({ pattern: '^r-[0-9a-f]{16}$' }) });
const Group = Type.Union(RIDER_GROUPS.map((g) => Type.Literal(g)));
const Platform = Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' });
const TtlDays = Type.Integer({ minimum: 1, maximum: 3660 });

/** Lets a POST without a body (curl -X POST) count as `{}` for the optional-body routes. */
const emptyBodyIsObject = async (req: { body: unknown }) => {
  req.body ??= {};
};

export function riderRoutes(app: CloudApp, ctx: RouteContext): void {
  app.post(
    '/v1/riders',
    {
      schema: {
        body: Type.Object(
          { group: Group, platform: Type.Optional(Platform), issueCredential: Type.Optional(Type.Boolean()), ttlDays: Type.Optional(TtlDays) },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      const { by } = ctx.auth.requireRole(req, 'office');
      const rider = await ctx.riders.register({ group: req.body.group, platform: req.body.platform ?? null });
      req.log.info({ by, riderId: rider.riderId }, 'admin registered a rider');
      const issued = req.body.issueCredential ? await ctx.riders.issue(rider.riderId, req.body.ttlDays) : undefined;
      return reply.code(201).send({ ...rider, ...(issued ? { credential: issued.credential, kid: issued.kid, expiresAt: issued.expiresAt } : {}) });
    },
  );

  app.get('/v1/riders/:riderId', { schema: { params: RiderParams } }, async (req) => {
    ctx.auth.requireRole(req, 'office');
    return ctx.riders.get(req.params.riderId);
  });

  app.post(
    '/v1/riders/:riderId/credentials',
    { preValidation: emptyBodyIsObject, schema: { params: RiderParams, body: Type.Object({ ttlDays: Type.Optional(TtlDays) }, { additionalProperties: false }) } },
    async (req, reply) => {
      const { by } = ctx.auth.requireRole(req, 'office');
      const issued = await ctx.riders.issue(req.params.riderId, req.body.ttlDays);
      req.log.info({ by, riderId: issued.riderId, kid: issued.kid }, 'admin issued a credential');
      return reply.code(201).send(issued);
    },
  );

  app.post(
    '/v1/riders/:riderId/revoke',
    {
      preValidation: emptyBodyIsObject,
      schema: { params: RiderParams, body: Type.Object({ reason: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false }) },
    },
    async (req) => {
      const { by } = ctx.auth.requireRole(req, 'office');
      const rider = await ctx.riders.revoke(req.params.riderId, req.body.reason ?? null);
      req.log.info({ by, riderId: rider.riderId }, 'admin revoked a rider');
      return rider;
    },
  );

  // A printed card for a rider without a smartphone: a fresh static credential as a QR (SPEC §14).
  app.get('/v1/riders/:riderId/card', { schema: { params: RiderParams } }, async (req, reply) => {
    const who = ctx.auth.requireRole(req, 'office');
    const issued = await ctx.riders.issue(req.params.riderId);
    req.log.info({ by: who.by, riderId: issued.riderId, kid: issued.kid }, 'printed card issued');
    const html = cardHtml({ riderId: issued.riderId, credential: issued.credential, expiresAt: issued.expiresAt, timezone: DEFAULT_TIMEZONE });
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').header('content-security-policy', "default-src 'self'").send(html);
  });

  // Withdrawal by the office (SPEC §14): revoked at every station with the next config pull.
  app.delete('/v1/riders/:riderId', { schema: { params: RiderParams } }, async (req) => {
    const who = ctx.auth.requireRole(req, 'office');
    const rider = await ctx.riders.withdraw(req.params.riderId);
    req.log.info({ by: who.by, riderId: rider.riderId }, 'rider withdrawn by the office');
    return rider;
  });

  hazardRoutes(app, ctx, enrolRoutes(app, ctx));
  riderPageRoutes(app, ctx.config);

  app.get('/v1/keys', async (req) => {
    ctx.auth.requireAdmin(req);
    return { keys: await ctx.riders.keyList() };
  });

  app.post('/v1/keys/rotate', async (req, reply) => {
    const by = ctx.auth.requireAdmin(req);
    const key = await ctx.riders.rotate();
    req.log.info({ by, kid: key.kid }, 'admin rotated the signing key');
    return reply.code(201).send({ kid: key.kid });
  });

  // Public keys are public: anyone may verify a rider credential with them.
  app.get('/.well-known/jwks.json', async () => ctx.riders.jwks());
}
