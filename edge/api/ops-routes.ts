/**
 * Operations (SPEC §8): `GET /healthz` for liveness (the process answers and the ledger can
 * be read) and `GET /metrics` in the Prometheus text format. Neither needs a token: they carry
 * no rider data, and a scraper or a supervisor should not hold maintenance rights.
 */
import { CONTENT_TYPE } from '../../protocol/index.ts';
import type { AppContext, TypedApp } from './context.ts';

export function registerOpsRoutes(app: TypedApp, ctx: AppContext): void {
  app.get('/healthz', async (_req, reply) => {
    let ledger = 'ok';
    try {
      ctx.ledger.head();
    } catch {
      ledger = 'unavailable';
    }
    const ok = ledger === 'ok';
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'failing', ledger, uptimeS: Math.round((ctx.clock.monotonic() - ctx.probe.startedMono) / 1000) });
  });

  app.get('/metrics', async (_req, reply) => reply.type(CONTENT_TYPE).send(ctx.metrics.render()));
}
