/**
 * Sponsors, their relays and statements (SPEC §17). A sponsor is a record with a unique name
 * (compared normalised: NFKC, whitespace, case); a relay says which sponsor supplies which
 * stations on which service days, and a station has at most one relay on any day (an overlap is
 * refused with 409 `relay_overlap`). A relay given by zone is stored for the zone's stations as
 * they are when it is made.
 */
import { randomBytes } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { DEFAULT_TIMEZONE } from '../../protocol/index.ts';
import { apiError } from '../errors.ts';
import { checkDay, checkRange } from '../reports/rangeReport.ts';
import { sponsorNameKey, tidySponsorName } from '../reports/sponsorship.ts';
import { STATEMENT_TABLES, statementColumns, sponsorStatement, statementSummary } from '../reports/sponsorStatement.ts';
import { STATEMENT_CSP, statementHtml } from '../reports/statementPage.ts';
import { csvTable } from '../reports/csv.ts';
import type { CloudApp, RouteContext } from './context.ts';
import { sendCsv, sendXlsx } from './rangeRoutes.ts';

/** Sponsor records the cloud keeps; the station config document carries them all. */
export const MAX_SPONSORS = 256;
const SponsorParams = Type.Object({ id: Type.String({ pattern: '^sp-[0-9a-z-]{1,61}$' }) });
const Day = Type.String({ maxLength: 32 });

export function sponsorRoutes(app: CloudApp, ctx: RouteContext): void {
  app.post(
    '/v1/sponsors',
    {
      schema: {
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 128 }),
            contact: Type.Optional(Type.String({ maxLength: 200 })),
            // An id the office chooses (to match a sponsor token's sponsorId in the config), else a random one.
            id: Type.Optional(Type.String({ pattern: '^sp-[0-9a-z-]{1,61}$' })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      const who = ctx.auth.requireRole(req, 'office');
      const name = tidySponsorName(req.body.name);
      if (name === '') throw apiError('bad_request', 'name must not be blank, e.g. "农夫山泉 Nongfu Spring"');
      const nameKey = sponsorNameKey(name);
      const existing = await ctx.store.sponsorRecords();
      const same = existing.find((s) => s.nameKey === nameKey || s.id === req.body.id);
      if (same) throw apiError('sponsor_exists', `sponsor "${same.name}" exists already as ${same.id}`, { id: same.id });
      if (existing.length >= MAX_SPONSORS) throw apiError('sponsor_limit', `the cloud keeps at most ${MAX_SPONSORS} sponsors`);
      const contact = req.body.contact?.trim() || null;
      const record = { id: req.body.id ?? `sp-${randomBytes(6).toString('hex')}`, name, nameKey, contact, createdAt: ctx.clock.now(), createdBy: who.by };
      const created = await ctx.store.createSponsor(record);
      // Another request created the same name between the check and the insert.
      if (!created) throw apiError('sponsor_exists', `sponsor "${name}" exists already`);
      req.log.info({ audit: 'sponsor.created', by: who.by, sponsorId: record.id }, 'sponsor created');
      return reply.code(201).send({ id: record.id, name });
    },
  );

  app.get('/v1/sponsors', async (req) => {
    ctx.auth.requireRole(req, 'office');
    const [sponsors, relays] = await Promise.all([ctx.store.sponsorRecords(), ctx.store.relays()]);
    return {
      sponsors: sponsors.map((s) => ({
        id: s.id,
        name: s.name,
        contact: s.contact,
        createdAt: s.createdAt,
        relays: relays.filter((r) => r.sponsorId === s.id).map((r) => ({ id: r.id, stationId: r.stationId, from: r.from, to: r.to })),
      })),
    };
  });

  app.post(
    '/v1/sponsors/:id/relays',
    {
      schema: {
        params: SponsorParams,
        body: Type.Object(
          {
            stations: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 500 })),
            zone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            from: Day,
            to: Day,
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      const who = ctx.auth.requireRole(req, 'office');
      const b = req.body;
      const sponsor = await ctx.store.sponsorRecord(req.params.id);
      if (!sponsor) throw apiError('unknown_sponsor', `no sponsor ${req.params.id}`);
      const from = checkDay('from', b.from);
      const to = checkDay('to', b.to);
      if (to < from) throw apiError('bad_date', `to (${to}) is before from (${from})`);
      if ((b.stations === undefined) === (b.zone === undefined)) throw apiError('bad_request', 'give either stations: [...] or zone, not both');
      const all = await ctx.store.stations();
      let stationIds: string[];
      if (b.zone !== undefined) {
        stationIds = all.filter((s) => s.zone === b.zone).map((s) => s.id);
        if (stationIds.length === 0) throw apiError('unknown_zone', `no station is in zone ${b.zone}`);
      } else {
        stationIds = [...new Set(b.stations)];
        const known = new Set(all.map((s) => s.id));
        const unknown = stationIds.filter((id) => !known.has(id));
        if (unknown.length > 0) throw apiError('unknown_station', `no station ${unknown.join(', ')}`);
      }
      const result = await ctx.store.addRelays({ sponsorId: sponsor.id, stationIds, from, to, createdAt: ctx.clock.now(), createdBy: who.by });
      if (!result.ok) {
        const o = result.overlap;
        throw apiError('relay_overlap', `station ${o.stationId} already has a relay from ${o.from} to ${o.to} (sponsor ${o.sponsorId}); nothing was added`, {
          overlap: { id: o.id, sponsorId: o.sponsorId, stationId: o.stationId, from: o.from, to: o.to },
        });
      }
      req.log.info({ audit: 'sponsor.relay', by: who.by, sponsorId: sponsor.id, stations: stationIds, from, to }, 'sponsor relay added');
      return reply.code(201).send({ sponsorId: sponsor.id, relays: result.relays.map((r) => ({ id: r.id, stationId: r.stationId, from: r.from, to: r.to })) });
    },
  );

  app.get(
    '/v1/sponsors/:id/statement',
    {
      schema: {
        params: SponsorParams,
        querystring: Type.Object({
          from: Type.Optional(Day),
          to: Type.Optional(Day),
          format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv'), Type.Literal('html'), Type.Literal('xlsx')])),
          table: Type.Union(STATEMENT_TABLES.map((t) => Type.Literal(t)), { default: 'bottles' }),
          lang: Type.Union([Type.Literal('zh'), Type.Literal('en')], { default: 'zh' }),
        }),
      },
    },
    async (req, reply) => {
      const who = ctx.auth.requireRole(req, 'office', 'sponsor');
      // SPEC §17: a sponsor token sees only its own statement (checked before the id is looked up,
      // so it learns nothing of other sponsors).
      if (who.role === 'sponsor' && who.sponsorId !== req.params.id) throw apiError('forbidden', 'a sponsor token may read only its own statement');
      const sponsor = await ctx.store.sponsorRecord(req.params.id);
      if (!sponsor) throw apiError('unknown_sponsor', `no sponsor ${req.params.id}`);
      const q = req.query;
      const { from, to } = checkRange(q.from, q.to);
      const zones = new Map((await ctx.store.stations()).map((st) => [st.id, st.timezone]));
      const s = await sponsorStatement(ctx.store, sponsor, from, to, (id) => zones.get(id) ?? DEFAULT_TIMEZONE);
      const name = `waystation-statement-${sponsor.id}-${from}-${to}`;
      const c = statementColumns(s);
      switch (q.format) {
        case 'csv': {
          const csv = q.table === 'bottles' ? csvTable(c.bottles, s.bottles, q.lang) : q.table === 'restocks' ? csvTable(c.restocks, s.restocks, q.lang) : csvTable(c.summary, statementSummary(s), q.lang);
          return sendCsv(reply, `${name}-${q.table}`, csv);
        }
        case 'xlsx':
          return sendXlsx(reply, name, [
            { zh: '汇总', en: 'summary', columns: c.summary, rows: statementSummary(s) },
            { zh: '按站点和周发放', en: 'bottles by week', columns: c.bottles, rows: s.bottles },
            { zh: '补货', en: 'restocks', columns: c.restocks, rows: s.restocks },
          ], q.lang);
        case 'html':
          return reply
            .type('text/html; charset=utf-8')
            .header('content-security-policy', STATEMENT_CSP)
            .header('cache-control', 'no-store')
            .header('referrer-policy', 'no-referrer')
            .send(statementHtml(s, ctx.clock.now()));
        default:
          return s;
      }
    },
  );
}
