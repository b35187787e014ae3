/**
 * The kiosk page (GET /) and its assets, plain HTML + JS + CSS with no build step, the
 * scanned-code stream (GET /v1/kiosk/events, SSE) and a small public summary of what the
 * station can serve now (GET /v1/kiosk/info). Scanned codes are rider credentials, so only
 * the kiosk screen's own addresses may subscribe (config `kiosk.allowedAddresses`).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AppContext, TypedApp } from '../api/context.ts';
import { apiError } from '../api/errors.ts';
import type { Compartment } from '../../protocol/index.ts';

const here = dirname(fileURLToPath(import.meta.url));

const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/kiosk/kiosk.js': { file: 'kiosk.js', type: 'text/javascript; charset=utf-8' },
  '/kiosk/kiosk.css': { file: 'kiosk.css', type: 'text/css; charset=utf-8' },
};

export function registerKioskRoutes(app: TypedApp, ctx: AppContext): void {
  // Read once at start: the page is a handful of small files.
  const files = new Map(Object.entries(ASSETS).map(([route, a]) => [route, { body: readFileSync(join(here, a.file)), type: a.type }]));
  for (const [route, f] of files) {
    app.get(route, async (_req, reply) =>
      reply
        .type(f.type)
        .header('cache-control', 'no-cache')
        .header('content-security-policy', "default-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'")
        .send(f.body),
    );
  }

  const allowed = new Set(ctx.config.kiosk.allowedAddresses);

  app.get('/v1/kiosk/events', async (req, reply) => {
    if (!allowed.has(req.ip)) throw apiError('forbidden', 'scanned codes are only streamed to the kiosk screen');
    reply.hijack();
    ctx.kiosk.attach(reply.raw);
  });

  app.get('/v1/kiosk/info', async (_req, reply) => {
    const avail = ctx.claims.availability();
    const serves = (c: Compartment) => avail.some((d) => d.usable && (d.stock[c] ?? 1) > 0);
    const lockers = ctx.lockers.compartments();
    return reply.send({
      stationId: ctx.config.stationId,
      timezone: ctx.config.timezone,
      day: ctx.ledger.serviceDay(),
      idleResetMs: ctx.config.kiosk.idleResetMs,
      water: { hot: serves('hot'), cold: serves('cold') },
      lockers: { free: lockers.filter((l) => l.state === 'free' && l.inService).length, total: lockers.length },
    });
  });
}
