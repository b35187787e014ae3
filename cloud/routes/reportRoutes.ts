/**
 * Admin reports (SPEC §9): weekly check-ins (JSON or CSV), the 12-week trend, fleet health.
 */
import { Type } from '@sinclair/typebox';
import { apiError } from '../errors.ts';
import { fleetHealth } from '../reports/fleetHealth.ts';
import { DEFAULT_TIMEZONE } from '../../protocol/index.ts';
import { checkWeek, currentWeek, WEEKLY_CSV_TABLES, weeklyColumns, weeklyReport, weeklyReportCsv, weeklyTrend } from '../reports/weeklyReport.ts';
import { sendXlsx } from './rangeRoutes.ts';
import type { CloudApp, RouteContext } from './context.ts';

const Week = Type.String({ pattern: '^\\d{4}-W\\d{2}$' });
const StationId = Type.String({ minLength: 1, maxLength: 64 });

export function reportRoutes(app: CloudApp, ctx: RouteContext): void {
  // Stations come from the store (SPEC §12: provisioned at run time, on any instance).
  const stationsNow = async () => {
    const all = await ctx.store.stations();
    return { ids: all.map((s) => s.id), timezones: new Map(all.map((s) => [s.id, s.timezone])), all };
  };
  const scopeOf = async (station: string | undefined): Promise<string | null> => {
    if (station === undefined) return null;
    if (!(await ctx.store.station(station))) throw apiError('unknown_station', `no station ${station}`);
    return station;
  };

  app.get(
    '/v1/reports/weekly',
    {
      schema: {
        querystring: Type.Object({
          week: Type.Optional(Week),
          station: Type.Optional(StationId),
          format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv'), Type.Literal('xlsx')])),
          table: Type.Union(WEEKLY_CSV_TABLES.map((t) => Type.Literal(t)), { default: 'stations' }),
          lang: Type.Union([Type.Literal('zh'), Type.Literal('en')], { default: 'zh' }),
        }),
      },
    },
    async (req, reply) => {
      ctx.auth.requireRole(req, 'office');
      const week = checkWeek(req.query.week ?? currentWeek(ctx.clock));
      const { ids: stationIds, timezones } = await stationsNow();
      const report = await weeklyReport(ctx.store, stationIds, week, await scopeOf(req.query.station));
      if (req.query.format === 'csv') {
        const name = `waystation-weekly-${week}-${req.query.table}${req.query.station ? `-${req.query.station}` : ''}.csv`;
        const csv = weeklyReportCsv(report, req.query.table, req.query.lang, (id) => timezones.get(id) ?? DEFAULT_TIMEZONE);
        return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}"`).send(csv);
      }
      if (req.query.format === 'xlsx') {
        // One sheet per table (issue 15), the CSV's columns.
        const c = weeklyColumns(report, (id) => timezones.get(id) ?? DEFAULT_TIMEZONE);
        return sendXlsx(reply, `waystation-weekly-${week}${req.query.station ? `-${req.query.station}` : ''}`, [
          { zh: '站点', en: 'stations', columns: c.stations, rows: report.stations },
          { zh: '赞助方', en: 'sponsors', columns: c.sponsors, rows: report.sponsors },
          { zh: '流失骑手', en: 'lapsed riders', columns: c.lapsed, rows: report.lapsedRiders },
        ], req.query.lang);
      }
      return report;
    },
  );

  app.get(
    '/v1/reports/trend',
    {
      schema: {
        querystring: Type.Object({
          week: Type.Optional(Week),
          weeks: Type.Integer({ minimum: 1, maximum: 104, default: 12 }),
          station: Type.Optional(StationId),
        }),
      },
    },
    async (req) => {
      ctx.auth.requireRole(req, 'office');
      const week = checkWeek(req.query.week ?? currentWeek(ctx.clock));
      return { week, weeks: await weeklyTrend(ctx.store, week, req.query.weeks, await scopeOf(req.query.station)) };
    },
  );

  app.get('/v1/fleet/health', async (req) => {
    ctx.auth.requireRole(req, 'office', 'maintenance');
    return fleetHealth(ctx.store, (await stationsNow()).all, ctx.clock.now(), ctx.config.health.stationOfflineAfterMs);
  });

  // An admin acknowledges a hash-chain or invalid-event alert once looked into: it leaves fleet
  // health until the same alert is raised again.
  app.post('/v1/alerts/:id/ack', { schema: { params: Type.Object({ id: Type.Integer({ minimum: 1 }) }) } }, async (req) => {
    const { by } = ctx.auth.requireRole(req, 'maintenance');
    const alert = await ctx.store.acknowledgeAlert(req.params.id, by, ctx.clock.now());
    if (!alert) throw apiError('not_found', `no alert ${req.params.id}`);
    req.log.info({ by, alertId: alert.id, stationId: alert.stationId, kind: alert.kind }, 'alert acknowledged');
    return alert;
  });
}
