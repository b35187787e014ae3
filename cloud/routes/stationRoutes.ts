/**
 * Station provisioning (SPEC §12, contract; admin token): create, list with sync state, replace
 * a token, change zone / timezone / enabled. The token is in the answer that made it, and
 * nowhere else.
 */
import { Type } from '@sinclair/typebox';
import { DEFAULT_TIMEZONE, isValidTimeZone, STATION_ID_PATTERN } from '../../protocol/index.ts';
import { apiError } from '../errors.ts';
import type { CloudApp, RouteContext } from './context.ts';

const Zone = Type.String({ minLength: 1, maxLength: 64 });
const Timezone = Type.String({ minLength: 1, maxLength: 64 });
const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

function checkTimezone(tz: string | undefined): void {
  if (tz !== undefined && !isValidTimeZone(tz)) throw apiError('bad_request', `timezone ${tz} is not an IANA time zone; use one like Asia/Shanghai`);
}

export function stationRoutes(app: CloudApp, ctx: RouteContext): void {
  app.post(
    '/v1/stations',
    {
      schema: {
        body: Type.Object(
          { id: Type.String({ pattern: STATION_ID_PATTERN }), timezone: Type.Optional(Timezone), zone: Type.Optional(Zone) },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      const by = ctx.auth.requireAdmin(req);
      checkTimezone(req.body.timezone);
      const { station, token } = await ctx.stations.provision(
        { id: req.body.id, timezone: req.body.timezone ?? DEFAULT_TIMEZONE, zone: req.body.zone ?? 'default' },
        by,
      );
      return reply.code(201).send({ id: station.id, token, timezone: station.timezone, zone: station.zone });
    },
  );

  app.get('/v1/stations', async (req) => {
    ctx.auth.requireRole(req, 'office', 'maintenance');
    return { stations: await ctx.stations.list() };
  });

  app.get('/v1/stations/:id', { schema: { params: Params } }, async (req) => {
    ctx.auth.requireRole(req, 'office', 'maintenance');
    return ctx.stations.get(req.params.id);
  });

  app.post('/v1/stations/:id/token', { schema: { params: Params } }, async (req) => {
    const by = ctx.auth.requireAdmin(req);
    return { token: await ctx.stations.rotateToken(req.params.id, by) };
  });

  // Re-admit the real station's log after a stolen token (issue 11, docs/security.md).
  app.post(
    '/v1/stations/:id/readmit',
    {
      schema: {
        params: Params,
        body: Type.Object({ fromSeq: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) }, { additionalProperties: false }),
      },
    },
    async (req) => {
      const by = ctx.auth.requireAdmin(req);
      return ctx.stations.readmit(req.params.id, req.body.fromSeq, by);
    },
  );

  app.put(
    '/v1/stations/:id',
    {
      schema: {
        params: Params,
        body: Type.Object(
          { zone: Type.Optional(Zone), timezone: Type.Optional(Timezone), enabled: Type.Optional(Type.Boolean()) },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => {
      const by = ctx.auth.requireAdmin(req);
      checkTimezone(req.body.timezone);
      const patch = {
        ...(req.body.zone !== undefined ? { zone: req.body.zone } : {}),
        ...(req.body.timezone !== undefined ? { timezone: req.body.timezone } : {}),
        ...(req.body.enabled !== undefined ? { enabled: req.body.enabled } : {}),
      };
      await ctx.stations.update(req.params.id, patch, by);
      return ctx.stations.get(req.params.id);
    },
  );
}
