/**
 * Station sync routes (SPEC §9, contract): event upload and config pull.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { GapError, MAX_EVENT_JSON_BYTES, UploadRequest, UploadResponse, type StationEvent } from '../../protocol/index.ts';
import { apiError } from '../errors.ts';
import { etagOf, ifNoneMatchHits, stationConfigDoc } from '../stationConfigDoc.ts';
import type { CloudApp, RouteContext } from './context.ts';

const StationParams = Type.Object({ stationId: Type.String({ minLength: 1, maxLength: 64 }) });

/** The first event of a batch bigger than MAX_EVENT_JSON_BYTES as JSON, if any. Pure. */
export function oversizedEvent(events: readonly StationEvent[]): { seq: number; bytes: number } | null {
  for (const e of events) {
    const bytes = Buffer.byteLength(JSON.stringify(e), 'utf8');
    if (bytes > MAX_EVENT_JSON_BYTES) return { seq: e.seq, bytes };
  }
  return null;
}

/** The token hash each upload was let in with (checked again when its events are stored), and whether from the kept tokens. */
const tokenOf = new WeakMap<FastifyRequest, { sha256: string; cached: boolean }>();

export function syncRoutes(app: CloudApp, ctx: RouteContext): void {
  app.post(
    '/v1/stations/:stationId/events',
    {
      bodyLimit: ctx.config.http.bodyLimitBytes,
      // The token is checked on the request line and headers, before a byte of the body is read
      // or parsed (fastify runs onRequest before preParsing and the JSON parser, issue 11): a
      // client without one cannot make the cloud buffer or parse up to bodyLimit bytes.
      onRequest: async (req: FastifyRequest) => {
        const { station, cached } = await ctx.auth.requireUploadStation(req, (req.params as { stationId?: string }).stationId ?? '', ctx.clock.now());
        tokenOf.set(req, { sha256: station.tokenSha256, cached });
      },
      // One event is at most 16 KiB of JSON (SPEC §9): 413, so the edge narrows its batch down
      // to that one event and reports it, instead of the cloud storing whatever it is sent.
      preHandler: async (req: FastifyRequest) => {
        const big = oversizedEvent((req.body as { events: StationEvent[] }).events);
        if (big) {
          throw apiError('event_too_large', `event ${big.seq} is ${big.bytes} bytes of JSON, more than ${MAX_EVENT_JSON_BYTES}; the batch was refused`, { seq: big.seq });
        }
      },
      schema: {
        params: StationParams,
        body: UploadRequest,
        response: { 200: UploadResponse, 409: GapError },
      },
    },
    async (req, reply) => {
      // The token (and a disabled station, SPEC §12) was checked in onRequest, before the body.
      const { stationId } = req.params;
      const token = tokenOf.get(req);
      // SPEC §12: a replaced token or a disabled station stops at once. The store checks the
      // token in the step that stores an upload or finds it does not continue the head; an
      // upload let in by a kept token that does not get that far is checked at the door again
      // first (which throws the 401 / 403 it would have had there).
      const recheck = token?.cached
        ? async () => {
            ctx.auth.forgetUploadToken(token.sha256);
            await ctx.auth.requireStation(req, stationId);
          }
        : undefined;
      const r = await ctx.ingestor.ingest(stationId, req.body.events, token?.sha256, recheck);
      ctx.metrics.upload(stationId, r.ok ? 'ok' : r.error, r.ok ? r.applied : 0);
      if (token && !r.ok && (r.error === 'token_replaced' || r.error === 'station_disabled')) ctx.auth.forgetUploadToken(token.sha256);
      if (r.ok && r.conflictsFound > 0) ctx.metrics.conflictsFound.inc({}, r.conflictsFound);
      if (r.ok) {
        req.log.debug({ stationId, ackedSeq: r.ackedSeq, applied: r.applied, replayed: r.replayed }, 'upload');
        return reply.send({ ackedSeq: r.ackedSeq });
      }
      if (r.error === 'gap') {
        throw apiError('gap', `the cloud holds ${stationId} up to seq ${r.ackedSeq}; resend from ${r.expectedSeq}`, {
          expectedSeq: r.expectedSeq,
        });
      }
      if (r.error === 'station_disabled') throw apiError('station_disabled', `station ${stationId} was disabled while this upload was under way; nothing was stored`);
      if (r.error === 'token_replaced') throw apiError('unauthorized', `the token of ${stationId} was replaced while this upload was under way; nothing was stored`);
      if (r.error === 'busy') throw apiError('busy', `the log of ${stationId} is being written by another request; retry from ${r.ackedSeq + 1}`);
      throw apiError('chain_broken', `event ${r.seq} of ${stationId} breaks the hash chain (${r.reason}); the batch was refused`, {
        seq: r.seq,
        reason: r.reason,
        ackedSeq: r.ackedSeq,
      });
    },
  );

  app.get('/v1/stations/:stationId/config', { schema: { params: StationParams } }, async (req, reply) => {
    const { stationId } = req.params;
    const station = await ctx.auth.requireStation(req, stationId);
    const doc = await stationConfigDoc(station, ctx.config, ctx.store, ctx.riders, ctx.clock.now());
    const etag = etagOf(doc);
    // SPEC §12: the ETag a station last pulled is kept in the store, shared by every instance.
    if (station.configEtag !== etag) await ctx.store.noteConfigPulled(stationId, etag, ctx.clock.now());
    reply.header('etag', etag).header('cache-control', 'no-cache');
    if (ifNoneMatchHits(req.headers['if-none-match'], etag)) return reply.code(304).send();
    return reply.send(doc);
  });
}
