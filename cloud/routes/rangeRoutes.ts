/**
 * Reports for the street office (SPEC §17): range reports, lapsed riders with their outreach,
 * and the outreach notes themselves. JSON, Excel-ready CSV (one table per file) and `.xlsx`
 * (one sheet per table).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { DEFAULT_TIMEZONE } from '../../protocol/index.ts';
import { apiError } from '../errors.ts';
import { lapsedColumns, lapsedCsv, lapsedReport } from '../reports/lapsedReport.ts';
import { checkRange, RANGE_TABLES, rangeColumns, rangeReport, rangeReportCsv } from '../reports/rangeReport.ts';
import { checkWeek, currentWeek } from '../reports/weeklyReport.ts';
import { XLSX_TYPE, xlsxWorkbook, type AnySheet } from '../reports/xlsx.ts';
import type { CloudStore } from '../store/store.ts';
import type { CloudApp, RouteContext } from './context.ts';

const Day = Type.String({ maxLength: 32 });
const Week = Type.String({ pattern: '^\\d{4}-W\\d{2}$' });
const StationId = Type.String({ minLength: 1, maxLength: 64 });
const Zone = Type.String({ minLength: 1, maxLength: 64 });
const Lang = Type.Union([Type.Literal('zh'), Type.Literal('en')], { default: 'zh' });
const RiderParams = Type.Object({ riderId: Type.String({ pattern: '^r-[0-9a-f]{16}$' }) });

/** Outreach notes kept per rider: an office cannot grow one rider's record without end. */
export const MAX_OUTREACH_PER_RIDER = 200;

/** The stations a report covers: one station, a zone's stations, or all (`scoped` false). */
export async function reportScope(store: CloudStore, station: string | undefined, zone: string | undefined) {
  const all = await store.stations();
  const timezones = new Map(all.map((s) => [s.id, s.timezone]));
  if (station === undefined && zone === undefined) return { ids: all.map((s) => s.id), scoped: false, timezones };
  let ids = all;
  if (station !== undefined) {
    ids = ids.filter((s) => s.id === station);
    if (ids.length === 0) throw apiError('unknown_station', `no station ${station}`);
  }
  if (zone !== undefined) {
    if (!all.some((s) => s.zone === zone)) throw apiError('unknown_zone', `no station is in zone ${zone}`);
    ids = ids.filter((s) => s.zone === zone);
  }
  return { ids: ids.map((s) => s.id), scoped: true, timezones };
}

export function sendCsv(reply: FastifyReply, name: string, csv: string) {
  return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}.csv"`).send(csv);
}

export async function sendXlsx(reply: FastifyReply, name: string, sheets: readonly AnySheet[], lang: 'zh' | 'en') {
  const body = await xlsxWorkbook(sheets, lang);
  return reply.type(XLSX_TYPE).header('content-disposition', `attachment; filename="${name}.xlsx"`).send(body);
}

const suffix = (q: { station?: string | undefined; zone?: string | undefined }) => `${q.zone ? `-${q.zone}` : ''}${q.station ? `-${q.station}` : ''}`.replace(/[^A-Za-z0-9_.-]/g, '_');

export function rangeRoutes(app: CloudApp, ctx: RouteContext): void {
  app.get(
    '/v1/reports/range',
    {
      schema: {
        querystring: Type.Object({
          from: Type.Optional(Day),
          to: Type.Optional(Day),
          station: Type.Optional(StationId),
          zone: Type.Optional(Zone),
          format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv'), Type.Literal('xlsx')])),
          table: Type.Union(RANGE_TABLES.map((t) => Type.Literal(t)), { default: 'stations' }),
          lang: Lang,
        }),
      },
    },
    async (req, reply) => {
      ctx.auth.requireRole(req, 'office');
      const q = req.query;
      const { from, to } = checkRange(q.from, q.to);
      const scope = await reportScope(ctx.store, q.station, q.zone);
      const report = await rangeReport(ctx.store, scope.ids, from, to);
      const tz = (id: string) => scope.timezones.get(id) ?? DEFAULT_TIMEZONE;
      const name = `waystation-range-${from}-${to}${suffix(q)}`;
      if (q.format === 'csv') return sendCsv(reply, `${name}-${q.table}`, rangeReportCsv(report, q.table, q.lang, tz));
      if (q.format === 'xlsx') {
        const c = rangeColumns(report, tz);
        return sendXlsx(reply, name, [
          { zh: '站点', en: 'stations', columns: c.stations, rows: report.stations },
          { zh: '每日', en: 'days', columns: c.days, rows: report.days },
          { zh: '赞助方', en: 'sponsors', columns: c.sponsors, rows: report.sponsors },
          { zh: '流失骑手', en: 'lapsed riders', columns: c.lapsed, rows: report.lapsedRiders },
        ], q.lang);
      }
      return { ...report, ...(q.station ? { station: q.station } : {}), ...(q.zone ? { zone: q.zone } : {}) };
    },
  );

  app.get(
    '/v1/reports/lapsed',
    {
      schema: {
        querystring: Type.Object({
          week: Type.Optional(Week),
          station: Type.Optional(StationId),
          zone: Type.Optional(Zone),
          format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv'), Type.Literal('xlsx')])),
          lang: Lang,
        }),
      },
    },
    async (req, reply) => {
      // SPEC §17: contacts only for admin and office — the only roles that may read this list.
      const who = ctx.auth.requireRole(req, 'office');
      const q = req.query;
      const week = checkWeek(q.week ?? currentWeek(ctx.clock));
      const scope = await reportScope(ctx.store, q.station, q.zone);
      const report = await lapsedReport(ctx.store, week, scope.scoped ? scope.ids : null, { withContacts: true });
      const shown = report.riders.filter((r) => r.contact !== undefined).map((r) => r.riderId);
      // The audit of every view of a contact: who, and whose contacts.
      if (shown.length > 0) req.log.info({ audit: 'rider.contacts_viewed', by: who.by, week, riders: shown, format: q.format ?? 'json' }, 'rider contacts viewed');
      const name = `waystation-lapsed-${week}${suffix(q)}`;
      if (q.format === 'csv') return sendCsv(reply, name, lapsedCsv(report, q.lang, DEFAULT_TIMEZONE));
      if (q.format === 'xlsx') {
        return sendXlsx(reply, name, [{ zh: '流失骑手', en: 'lapsed riders', columns: lapsedColumns(report, DEFAULT_TIMEZONE), rows: report.riders }], q.lang);
      }
      return report;
    },
  );

  app.post(
    '/v1/riders/:riderId/outreach',
    { schema: { params: RiderParams, body: Type.Object({ note: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false }) } },
    async (req, reply) => {
      const who = ctx.auth.requireRole(req, 'office');
      const note = req.body.note.trim();
      if (note === '') throw apiError('bad_request', 'note must say what was done, e.g. "打电话，下周回来 / called, back next week"');
      const rider = await ctx.store.rider(req.params.riderId);
      if (!rider) throw apiError('unknown_rider', `no rider ${req.params.riderId}`);
      if ((await ctx.store.outreachCount(rider.riderId)) >= MAX_OUTREACH_PER_RIDER) {
        throw apiError('outreach_limit', `rider ${rider.riderId} has ${MAX_OUTREACH_PER_RIDER} outreach notes, as many as are kept`);
      }
      const row = { riderId: rider.riderId, at: ctx.clock.now(), by: who.by, note };
      await ctx.store.addOutreach(row);
      req.log.info({ audit: 'rider.outreach', by: who.by, riderId: rider.riderId }, 'outreach recorded');
      return reply.code(201).send(row);
    },
  );
}
