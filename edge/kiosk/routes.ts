/**
 * The kiosk page (GET /) and its assets, plain HTML + JS + CSS with no build step, the
 * scanned-code stream (GET /v1/kiosk/events, SSE) and a small public summary of what the
 * station can serve now (GET /v1/kiosk/info). Scanned codes are rider credentials, so only
 * the kiosk screen's own addresses may subscribe (config `kiosk.allowedAddresses`).
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import qrcode from 'qrcode-generator';
import type { AppContext, TypedApp } from '../api/context.ts';
import { apiError } from '../api/errors.ts';
import { registerStaticPage, type PageAssets } from '../api/static-page.ts';

const here = dirname(fileURLToPath(import.meta.url));

const ASSETS: PageAssets = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/kiosk/kiosk.js': { file: 'kiosk.js', type: 'text/javascript; charset=utf-8' },
  '/kiosk/kiosk.css': { file: 'kiosk.css', type: 'text/css; charset=utf-8' },
  '/kiosk/icon.svg': { file: 'icon.svg', type: 'image/svg+xml' },
};

export function registerKioskRoutes(app: TypedApp, ctx: AppContext): void {
  registerStaticPage(app, here, ASSETS);

  // The enrolment poster's URL as a QR code for the idle screen ("how to get a code").
  const enrolUrl = ctx.config.kiosk.enrolUrl;
  if (enrolUrl) {
    const qr = qrcode(0, 'M');
    qr.addData(enrolUrl);
    qr.make();
    const svg = qr.createSvgTag({ cellSize: 8, margin: 4, scalable: true });
    app.get('/kiosk/enrol-qr.svg', async (_req, reply) => reply.type('image/svg+xml').header('cache-control', 'no-cache').send(svg));
  }

  const allowed = new Set(ctx.config.kiosk.allowedAddresses);

  app.get('/v1/kiosk/events', async (req, reply) => {
    if (!allowed.has(req.ip)) throw apiError('forbidden', 'scanned codes are only streamed to the kiosk screen');
    reply.hijack();
    ctx.kiosk.attach(reply.raw);
  });

  app.get('/v1/kiosk/info', async (_req, reply) => {
    const lockers = ctx.lockers.compartments();
    const k = ctx.config.kiosk;
    const hot = ctx.claims.serving('hot');
    const cold = ctx.claims.serving('cold');
    return reply.send({
      stationId: ctx.config.stationId,
      timezone: ctx.config.timezone,
      day: ctx.ledger.serviceDay(),
      now: ctx.clock.now(),
      idleResetMs: k.idleResetMs,
      afterLockerResetMs: k.afterLockerResetMs,
      water: { hot: hot === 'ok', cold: cold === 'ok' },
      waterState: { hot, cold },
      lockers: { free: lockers.filter((l) => l.state === 'free' && l.inService).length, total: lockers.length },
      // The scanner itself (its serial port), not the page's event stream.
      scanner: ctx.config.scanner ? (ctx.health.usable('scanner') ? 'connected' : 'disconnected') : 'none',
      enrolUrl: k.enrolUrl ?? null,
      helpLine: k.helpLine ?? null,
    });
  });
}
