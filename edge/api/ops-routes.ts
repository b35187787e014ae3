/**
 * Operations (SPEC §8): `GET /healthz` for liveness (the process answers and the ledger can
 * be read) and `GET /metrics` in the Prometheus text format. Neither needs a token: they carry
 * no rider data, and a scraper or a supervisor should not hold maintenance rights.
 */
import { CONTENT_TYPE } from '../../protocol/index.ts';
import type { AppContext, TypedApp } from './context.ts';
import { Liveness, MetricsText } from './schemas.ts';

export function registerOpsRoutes(app: TypedApp, ctx: AppContext): void {
  app.get('/healthz', { schema: { response: { 200: Liveness, 503: Liveness } } }, async (_req, reply) => {
    let ledger = 'ok';
    try {
      ctx.ledger.head();
    } catch {
      ledger = 'unavailable';
    }
    const ok = ledger === 'ok';
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'failing', ledger, uptimeS: Math.round((ctx.clock.monotonic() - ctx.probe.startedMono) / 1000) });
  });

  app.get('/metrics', { schema: { response: { 200: { content: { [CONTENT_TYPE]: { schema: MetricsText } } } } } }, async (_req, reply) => reply.type(CONTENT_TYPE).send(ctx.metrics.render()));
}
