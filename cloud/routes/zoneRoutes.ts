/**
 * One quota across a zone (SPEC §13, contract): the zone feed a station long-polls, and the
 * conflicts report of the street office.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { ZoneFeedQuery, ZoneFeedResponse } from '../../protocol/index.ts';
import { checkWeek, currentWeek } from '../reports/weeklyReport.ts';
import { conflictsReport } from '../zone/conflictsReport.ts';
import type { CloudApp, RouteContext } from './context.ts';

const StationParams = Type.Object({ stationId: Type.String({ minLength: 1, maxLength: 64 }) });

/** Aborted when the client's connection closes before the answer is sent (the response's `close`). */
function closedSignal(reply: FastifyReply): AbortSignal {
  const ac = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) ac.abort();
  });
  return ac.signal;
}

export function zoneRoutes(app: CloudApp, ctx: RouteContext): void {
  app.get(
    '/v1/stations/:stationId/zone-feed',
    { schema: { params: StationParams, querystring: ZoneFeedQuery, response: { 200: ZoneFeedResponse } } },
    async (req, reply) => {
      // The same station token as uploads; a disabled station is refused (SPEC §12).
      const station = await ctx.auth.requireStation(req, req.params.stationId);
      const answer = await ctx.zoneFeed.poll(station, req.query.after, req.query.waitMs, closedSignal(reply));
      return reply.header('cache-control', 'no-store').send(answer);
    },
  );

  app.get(
    '/v1/reports/conflicts',
    {
      schema: {
        querystring: Type.Object({
          week: Type.Optional(Type.String({ pattern: '^\\d{4}-W\\d{2}$' })),
          zone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
        }),
      },
    },
    async (req) => {
      ctx.auth.requireRole(req, 'office');
      const week = checkWeek(req.query.week ?? currentWeek(ctx.clock));
      return conflictsReport(ctx.store, week, req.query.zone ?? null);
    },
  );
}
