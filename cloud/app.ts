/**
 * buildApp(deps): the cloud's fastify app, not listening (tests use inject or port 0).
 * Every answer >= 400 is logged and counted once by its code (error and not-found handlers);
 * `GET /metrics` takes an admin token, since the cloud faces the internet.
 */
import Fastify, { LogController, type FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import { CONTENT_TYPE, type Clock } from '../protocol/index.ts';
import { AlertService } from './alerts/alertService.ts';
import { alertRoutes } from './alerts/alertRoutes.ts';
import { Auth } from './auth.ts';
import { quotaPolicyOf, type CloudConfig } from './config.ts';
import { ApiError, apiError } from './errors.ts';
import { Ingestor } from './ingest/ingestor.ts';
import { CloudMetrics } from './metrics.ts';
import { RiderRegistry } from './riders/riderRegistry.ts';
import { dashboardRoutes } from './routes/dashboardRoutes.ts';
import { reportRoutes } from './routes/reportRoutes.ts';
import { rangeRoutes } from './routes/rangeRoutes.ts';
import { sponsorRoutes } from './routes/sponsorRoutes.ts';
import { riderRoutes } from './routes/riderRoutes.ts';
import { stationRoutes } from './routes/stationRoutes.ts';
import { syncRoutes } from './routes/syncRoutes.ts';
import { zoneRoutes } from './routes/zoneRoutes.ts';
import { ZoneFeed } from './zone/zoneFeed.ts';
import { StationRegistry } from './stations/stationRegistry.ts';
import { bodyStrictValidatorBuilder } from './validation.ts';
import type { CloudApp, RouteContext } from './routes/context.ts';
import type { CloudStore } from './store/store.ts';

export interface CloudDeps {
  config: CloudConfig;
  store: CloudStore;
  clock: Clock;
  logger: Logger;
}

export function buildApp(deps: CloudDeps): CloudApp {
  const app = Fastify({
    loggerInstance: deps.logger.child({ module: 'http' }),
    // Request start/end lines would log every upload; refusals and failures are logged below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    // Behind a balancer the client's address comes from X-Forwarded-For, from those hops only.
    ...(deps.config.http.trustProxy ? { trustProxy: deps.config.http.trustProxy } : {}),
    // Fastify's ajv defaults, but nothing removed from a body. Query strings, params and headers
    // are coerced (`?week=`, `?limit=` arrive as text); bodies are not: `seq: "5"` is refused
    // where the contract says integer (SPEC §9, issue 11), see validation.ts.
    ajv: { customOptions: { removeAdditional: false } },
    schemaController: { compilersFactory: { buildValidator: bodyStrictValidatorBuilder() } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const metrics = new CloudMetrics({ store: deps.store, clock: deps.clock });
  // SPEC §15: alerts evaluated on ingest and on a timer, notifications sent from the outbox.
  const alerts = new AlertService({ store: deps.store, clock: deps.clock, logger: deps.logger, config: deps.config, registry: metrics.registry });
  // SPEC §13: the zone feed's long polls, woken by the store when any instance stores a zone's rows.
  const zoneFeed = new ZoneFeed({
    store: deps.store,
    clock: deps.clock,
    config: deps.config.zoneFeed,
    answered: (why) => metrics.zoneFeedAnswers.inc({ reason: why }),
    logger: deps.logger.child({ module: 'zone-feed' }),
  });
  metrics.zoneFeedOpen = () => zoneFeed.open;
  const zoneScope = (zone: string) => quotaPolicyOf(deps.config.quota, zone).scope;
  const ctx: RouteContext = {
    ...deps,
    zoneFeed,
    auth: new Auth(deps.config, deps.store),
    stations: new StationRegistry(deps.store, deps.clock, deps.logger.child({ module: 'stations' }), zoneScope),
    ingestor: new Ingestor(deps.store, deps.clock, deps.logger.child({ module: 'ingest' }), alerts, zoneScope),
    riders: new RiderRegistry(deps.store, deps.clock, deps.config.credentials, deps.logger.child({ module: 'riders' })),
    metrics,
    alerts,
  };
  app.addHook('onReady', async () => alerts.start());
  app.addHook('onClose', async () => alerts.stop());
  app.addHook('onReady', async () => zoneFeed.start());
  // Before the server waits for open requests to end: a 25 s poll would hold the close up.
  app.addHook('preClose', async () => zoneFeed.stop());

  // SPEC §12: the config file's stations[] are created or updated in the store before serving.
  app.addHook('onReady', async () => {
    await ctx.stations.applyConfig(deps.config.stations);
  });

  // Request latency by matched route (`unmatched` for 404s), timed on the injected clock.
  const startedMono = new WeakMap<FastifyRequest, number>();
  app.addHook('onRequest', async (req) => {
    startedMono.set(req, deps.clock.monotonic());
  });
  app.addHook('onResponse', async (req, reply) => {
    const now = deps.clock.monotonic();
    const seconds = (now - (startedMono.get(req) ?? now)) / 1000;
    const route = req.routeOptions.url ?? 'unmatched';
    ctx.metrics.httpDuration.observe({ method: req.method, route, status: String(reply.statusCode) }, seconds);
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; validation?: unknown }, req, reply) => {
    let e: ApiError;
    if (err instanceof ApiError) e = err;
    else if (err.validation) e = apiError('bad_request', err.message);
    else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') e = apiError('payload_too_large');
    else if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) e = apiError('bad_request', err.message);
    else e = apiError('internal');
    ctx.metrics.refusals.inc({ code: e.code });
    if (e.statusCode >= 500) req.log.error({ err, url: req.url }, 'request failed');
    else if (e.statusCode !== 409) req.log.info({ code: e.code, url: req.url, msg: e.message }, 'request refused');
    // 4xx from fastify (bad JSON, bad content type) keep their own status; 5xx details stay in the log.
    const status = e.code === 'bad_request' && err.statusCode && err.statusCode < 500 ? err.statusCode : e.statusCode;
    return reply.code(status).send(e.body());
  });
  app.setNotFoundHandler((req, reply) => {
    const e = apiError('not_found', `no route ${req.method} ${req.url.split('?')[0]}`);
    ctx.metrics.refusals.inc({ code: e.code });
    return reply.code(e.statusCode).send(e.body());
  });

  app.get('/healthz', async () => ({ ok: true }));
  app.get('/metrics', async (req, reply) => {
    ctx.auth.requireRole(req, 'maintenance');
    return reply.type(CONTENT_TYPE).send(await ctx.metrics.render());
  });
  syncRoutes(app, ctx);
  zoneRoutes(app, ctx);
  riderRoutes(app, ctx);
  reportRoutes(app, ctx);
  rangeRoutes(app, ctx);
  sponsorRoutes(app, ctx);
  alertRoutes(app, ctx);
  stationRoutes(app, ctx);
  dashboardRoutes(app);
  return app;
}
