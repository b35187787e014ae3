/**
 * Hazard report routes (SPEC §17). Riders file with a device-bound rotating code (as
 * `POST /v1/me`); the office (`office` or `admin`) lists, views the photo and moves a report
 * forward with a note — each change stored with the token's name and role and logged.
 */
import { Type } from '@sinclair/typebox';
import { MAX_CODE_LENGTH } from '../../protocol/index.ts';
import type { Enrolment } from '../enrol/enrolment.ts';
import type { CloudApp, RouteContext } from '../routes/context.ts';
import { HAZARD_CATEGORIES, HAZARD_STATES } from '../store/store.ts';
import { base64Length, HAZARD_PLACE_MAX, HAZARD_TEXT_MAX, HazardReports, officeHazardView, PHOTO_TYPES, riderHazardView } from './hazardReports.ts';

const literals = <T extends string>(xs: readonly T[]) => Type.Union(xs.map((x) => Type.Literal(x)));
const Code = Type.String({ minLength: 1, maxLength: MAX_CODE_LENGTH });
const HazardId = Type.Object({ id: Type.String({ pattern: '^h-[0-9a-f]{16}$' }) });
/** What the rider page shows of its own reports. */
const RIDER_LIST = 20;

export function hazardRoutes(app: CloudApp, ctx: RouteContext, enrolment: Enrolment): HazardReports {
  const reports = new HazardReports(ctx.store, ctx.config, ctx.clock, ctx.logger.child({ module: 'hazards' }));
  const photoB64 = base64Length(ctx.config.riders.hazardPhotoMaxBytes);

  const FileBody = Type.Object(
    {
      code: Code,
      category: literals(HAZARD_CATEGORIES),
      text: Type.String({ minLength: 1, maxLength: HAZARD_TEXT_MAX * 2 }),
      place: Type.Optional(
        Type.Object(
          {
            text: Type.Optional(Type.String({ maxLength: HAZARD_PLACE_MAX * 2 })),
            lat: Type.Optional(Type.Number({ minimum: -90, maximum: 90 })),
            lon: Type.Optional(Type.Number({ minimum: -180, maximum: 180 })),
          },
          { additionalProperties: false },
        ),
      ),
      // The length is checked in HazardReports, so an oversized photo gets photo_too_large.
      photo: Type.Optional(Type.Object({ type: literals(PHOTO_TYPES), data: Type.String() }, { additionalProperties: false })),
    },
    { additionalProperties: false },
  );

  // The body holds the photo as base64; anything larger than that and the text is refused unread.
  app.post('/v1/hazards', { bodyLimit: photoB64 + 4 * MAX_CODE_LENGTH + 64 * 1024, schema: { body: FileBody } }, async (req, reply) => {
    const { code, ...report } = req.body;
    const rider = await enrolment.riderOfCode(code);
    const h = await reports.file(rider.riderId, report);
    return reply.code(201).send(riderHazardView(h));
  });

  app.post('/v1/me/hazards', { bodyLimit: 8192, schema: { body: Type.Object({ code: Code }, { additionalProperties: false }) } }, async (req) => {
    const rider = await enrolment.riderOfCode(req.body.code);
    return { hazards: (await reports.list({ riderId: rider.riderId, limit: RIDER_LIST })).map(riderHazardView) };
  });

  app.get(
    '/v1/hazards',
    {
      schema: {
        querystring: Type.Object({
          state: Type.Optional(Type.Union([literals(HAZARD_STATES), Type.Literal('all')])),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
        }),
      },
    },
    async (req) => {
      ctx.auth.requireRole(req, 'office');
      const state = req.query.state === 'all' ? undefined : (req.query.state ?? 'new');
      return { state: req.query.state ?? 'new', hazards: (await reports.list({ ...(state ? { state } : {}), limit: req.query.limit ?? 100 })).map(officeHazardView) };
    },
  );

  app.get('/v1/hazards/:id', { schema: { params: HazardId } }, async (req) => {
    ctx.auth.requireRole(req, 'office');
    return officeHazardView(await reports.get(req.params.id));
  });

  app.get('/v1/hazards/:id/photo', { schema: { params: HazardId } }, async (req, reply) => {
    ctx.auth.requireRole(req, 'office');
    const p = await reports.photo(req.params.id);
    // Served as the image it was sniffed to be, never as anything a browser would run.
    return reply
      .type(p.type)
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'; sandbox")
      .header('cache-control', 'private, no-store')
      .header('content-disposition', `inline; filename="${req.params.id}.${p.type === 'image/png' ? 'png' : 'jpg'}"`)
      .send(p.data);
  });

  app.post(
    '/v1/hazards/:id/state',
    {
      schema: {
        params: HazardId,
        body: Type.Object({ state: literals(['acknowledged', 'resolved'] as const), note: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false }),
      },
    },
    async (req) => {
      const who = ctx.auth.requireRole(req, 'office');
      const note = req.body.note?.trim() ? req.body.note.trim() : null;
      const h = await reports.move(req.params.id, req.body.state, note, who.by);
      req.log.info({ by: who.by, id: h.id, state: h.state }, 'hazard report moved by the office');
      return officeHazardView(h);
    },
  );

  return reports;
}
