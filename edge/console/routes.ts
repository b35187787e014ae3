/**
 * The maintenance console (docs/maintenance.md): the page at `/maintenance` and its assets
 * (plain HTML + ES module + CSS, no build step, the kiosk's strict CSP), what the page needs
 * beyond `GET /v1/health` (`GET /v1/maintenance/console`: sponsors, door labels, time zone), and
 * the live stream (`GET /v1/maintenance/events`, SSE, SPEC §8 maintenance auth). The page reads
 * the stream with fetch so the token travels in the Authorization header, never in a URL.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext, TypedApp } from '../api/context.ts';
import { apiError } from '../api/errors.ts';
import { restockSponsors } from '../api/sponsors.ts';
import { stationHealth } from '../api/station-health.ts';
import { registerStaticPage, type PageAssets } from '../api/static-page.ts';
import { ConsoleHub } from './hub.ts';
import { DeviceSince } from './since.ts';

const here = dirname(fileURLToPath(import.meta.url));

const ASSETS: PageAssets = {
  '/maintenance': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/maintenance/console.js': { file: 'console.js', type: 'text/javascript; charset=utf-8' },
  '/maintenance/faults.js': { file: 'faults.js', type: 'text/javascript; charset=utf-8' },
  '/maintenance/messages.js': { file: 'messages.js', type: 'text/javascript; charset=utf-8' },
  '/maintenance/console.css': { file: 'console.css', type: 'text/css; charset=utf-8' },
  '/maintenance/icon.svg': { file: 'icon.svg', type: 'image/svg+xml' },
};

export interface ConsoleAuth {
  onRequest: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
}

/** The page and its files; public (they hold no data), served on both listeners. */
export function registerConsolePage(app: TypedApp): void {
  registerStaticPage(app, here, ASSETS);
}

/** The console's API beside the maintenance routes; answers the hub so actions can nudge it. */
export function registerConsoleApi(app: TypedApp, ctx: AppContext, auth: ConsoleAuth): ConsoleHub {
  const since = new DeviceSince(ctx.ledger.db);
  const hub = new ConsoleHub({
    snapshot: () => since.annotate(stationHealth(ctx)),
    onDeviceChange: (l) => ctx.health.onChange(l),
    logger: ctx.logger.child({ module: 'console' }),
  });
  // Event streams never end on their own: end them before the server waits for requests.
  app.addHook('preClose', async () => hub.stop());
  // After any maintenance action, push the new health at once.
  app.addHook('onResponse', async (req) => {
    if (req.method !== 'GET' && req.url.startsWith('/v1/maintenance/')) hub.nudge();
  });

  app.get('/v1/maintenance/console', { onRequest: auth.onRequest }, async (req, reply) => {
    ctx.audited(req, 'ok', {}, () => true);
    return reply.send({
      stationId: ctx.config.stationId,
      timezone: ctx.config.timezone,
      operator: ctx.state(req).operator,
      ...(({ sponsors, inRelay }) => ({ sponsors, sponsorToday: inRelay }))(restockSponsors(ctx)),
      labels: ctx.config.lockers.labels,
      storageLimitMs: ctx.config.lockers.storageLimitMs,
      dispensers: ctx.config.dispensers.map((d) => d.id),
    });
  });

  app.get('/v1/maintenance/events', { onRequest: auth.onRequest }, async (req, reply) => {
    if (!hub.hasRoom()) throw apiError('rate_limited', 'too many consoles are connected; close one and try again');
    // One audit line per subscription, not per push.
    ctx.audited(req, 'ok', { stream: 'health' }, () => true);
    reply.hijack();
    hub.attach(reply.raw);
  });
  return hub;
}
