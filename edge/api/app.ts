/**
 * `buildApp(deps)`: the edge HTTP API (SPEC §8) as a fastify app that does not listen.
 * Tests use `app.inject` or `app.listen({port: 0})`. One error handler turns every failure
 * into `{"error", "message"}` with a stable code and hides 5xx details; refusals are counted
 * in metrics; request logs never carry the query string (the rider status route takes the
 * credential there).
 */
import Fastify, { LogController, type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import { writeAudit } from '../core/audit.ts';
import type { AuditRecord } from '../core/ports.ts';
import { registerKioskRoutes } from '../kiosk/routes.ts';
import { registerConsolePage } from '../console/routes.ts';
import type { AppContext, AppDeps, AuditDetail, RequestState, TypedApp } from './context.ts';
import { ApiError, apiError } from './errors.ts';
import { FixedWindowLimiter } from './limiter.ts';
import { registerMaintenanceRoutes } from './maintenance-routes.ts';
import { registerOpsRoutes } from './ops-routes.ts';
import { registerRiderRoutes } from './rider-routes.ts';

// The shared types live in context.ts, so the route modules need not import this file (no cycle).
export type { AppContext, AppDeps, ClockJumpView, RequestState, StationProbe, TypedApp } from './context.ts';

/** Routes that need a bearer token (maintenance, health, metrics) or nothing at all (liveness): no Host check. */
const BEARER_ROUTES = /^\/(v1\/maintenance\/|v1\/health(\?|$)|metrics(\?|$)|healthz(\?|$)|maintenance(\/|\?|$))/;

/**
 * fastify's own response serializers (fast-json-stringify, the same output), each compiled the
 * first time its route answers with that status instead of when the route is registered: every
 * one carries its own generated code and ajv instance, and most routes (maintenance, console,
 * errors) are never called on a given day — ~3 MB of the daemon's heap at start.
 */
const fastJsonStringifyFactory = SerializerSelector();
type SerializerFactory = ReturnType<typeof SerializerSelector>;
const lazySerializers: SerializerFactory = (externalSchemas, options) => {
  const compile = fastJsonStringifyFactory(externalSchemas, options);
  return (route) => {
    let serialize: ((data: unknown) => string) | undefined;
    return (data) => (serialize ??= compile(route) as (data: unknown) => string)(data);
  };
};

function pathOnly(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** Map fastify's own errors (parser, validation, limits) onto the API's codes. */
function toApiError(err: FastifyError): ApiError {
  if (err.validation) {
    const detail = err.validation
      .slice(0, 5)
      .map((v) => `${v.instancePath || '/'} ${v.message ?? 'is not valid'}`)
      .join('; ');
    return apiError('bad_request', `${err.validationContext ?? 'request'} is not valid: ${detail}`);
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return apiError('payload_too_large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return apiError('unsupported_media_type');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return apiError('bad_request', 'the body is not valid JSON');
  }
  if ((err as { code?: string }).code === 'ledger_unavailable') return apiError('ledger_unavailable', err.message);
  if ((err as { code?: string }).code === 'event_too_large') return apiError('event_too_large', err.message);
  const status = err.statusCode ?? 500;
  if (status === 413) return apiError('payload_too_large');
  if (status >= 400 && status < 500) return apiError('bad_request', err.message);
  return apiError('internal');
}

/**
 * `surface: 'maintenance'` is the staff listener (config `maintenance`, docs/maintenance.md):
 * only the console and the maintenance API, optionally over TLS; the kiosk's rider routes
 * stay on the loopback listener.
 */
export interface BuildAppOptions {
  surface?: 'all' | 'maintenance';
  https?: { key: Buffer; cert: Buffer };
}

/** A route as registered: method, path and its schemas (the response-schema test reads them). */
export interface RouteEntry {
  method: string;
  url: string;
  schema: { response?: Record<string, unknown> } | undefined;
}

const routeTables = new WeakMap<object, RouteEntry[]>();

/** Every route `buildApp` registered on this app, in order. */
export function routesOf(app: TypedApp): readonly RouteEntry[] {
  return routeTables.get(app) ?? [];
}

export function buildApp(deps: AppDeps, opts: BuildAppOptions = {}): TypedApp {
  const { config, clock, logger, metrics } = deps;
  const log = logger.child({ module: opts.surface === 'maintenance' ? 'http-maintenance' : 'http' });
  const app = Fastify({
    ...(opts.https ? { https: opts.https } : {}),
    loggerInstance: log,
    // Our own request log line (onResponse) leaves out the query string, which may hold a credential.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    // Idle keep-alive sockets are closed at stop; requests in flight (a claim) may finish.
    forceCloseConnections: 'idle',
    // Our own 503 `shutting_down` (below) instead of fastify's body, so clients get a stable code.
    return503OnClosing: false,
    requestIdHeader: false,
    routerOptions: { ignoreTrailingSlash: true },
    schemaController: { compilersFactory: { buildSerializer: lazySerializers } },
  })
    .setValidatorCompiler(TypeBoxValidatorCompiler)
    .withTypeProvider<TypeBoxTypeProvider>();

  const states = new WeakMap<FastifyRequest, RequestState>();
  const state = (req: FastifyRequest): RequestState => {
    let s = states.get(req);
    if (!s) {
      s = { startedMono: clock.monotonic(), operator: null, audited: false };
      states.set(req, s);
    }
    return s;
  };
  const addressLimiter = new FixedWindowLimiter(clock, config.rateLimit.perAddressPerMinute);
  const auditRecord = (req: FastifyRequest, outcome: string, detail: AuditDetail = {}): AuditRecord => {
    const s = state(req);
    return {
      data: {
        by: s.operator ?? 'unknown',
        method: req.method,
        route: req.routeOptions.url ?? pathOnly(req.url),
        path: pathOnly(req.url),
        ...detail,
        // Last: a detail never overwrites how the call ended.
        outcome,
      },
      written: () => {
        s.audited = true;
      },
    };
  };
  const ctx: AppContext = {
    ...deps,
    state,
    credentialLimiter: new FixedWindowLimiter(clock, config.rateLimit.perCredentialPerMinute),
    auditRecord,
    audited(req, outcome, detail, change) {
      return deps.ledger.tx((t) => {
        const value = change();
        if (value !== undefined) writeAudit(t, auditRecord(req, outcome, detail));
        return value;
      });
    },
    auditFailure(req, code) {
      const s = state(req);
      if (!s.operator || s.audited) return;
      s.audited = true;
      try {
        deps.ledger.append('maintenance.audit', {
          by: s.operator,
          method: req.method,
          route: req.routeOptions.url ?? pathOnly(req.url),
          path: pathOnly(req.url),
          outcome: code,
        });
      } catch (e) {
        log.error({ err: e, by: s.operator, code }, 'cannot audit a maintenance call');
      }
    },
  };

  const allowedHosts = new Set(config.kiosk.allowedHosts.map((h) => h.toLowerCase()));
  if (config.http.host !== '0.0.0.0' && config.http.host !== '::') allowedHosts.add(config.http.host.toLowerCase());
  const hostAllowed = (host: string | undefined): boolean => {
    if (!host) return false;
    // Host is `name`, `name:port`, `[v6]` or `[v6]:port`.
    const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
    return allowedHosts.has(name.toLowerCase());
  };

  // Nothing the station serves may be framed by another page or sniffed into another type.
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff').header('x-frame-options', 'DENY');
    const csp = reply.getHeader('content-security-policy');
    reply.header('content-security-policy', csp ? `${String(csp)}; frame-ancestors 'none'` : "frame-ancestors 'none'");
    return payload;
  });

  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });

  app.addHook('onRequest', async (req, reply) => {
    state(req);
    if (closing) {
      reply.header('connection', 'close');
      throw apiError('shutting_down', 'the station is shutting down; try again in a minute');
    }
    // The kiosk page and rider API answer only under the station's own names (DNS rebinding).
    if (!BEARER_ROUTES.test(req.url) && !hostAllowed(req.headers.host)) {
      throw apiError('forbidden_host', `this station does not answer as ${String(req.headers.host).slice(0, 80)}; open it as http://127.0.0.1 or a name in kiosk.allowedHosts`);
    }
    // The per-address limit covers the API, not the kiosk's static files or /metrics.
    if (req.url.startsWith('/v1/')) {
      const r = addressLimiter.hit(req.ip);
      if (!r.ok) {
        reply.header('retry-after', String(r.retryAfterS));
        throw apiError('rate_limited', 'too many requests from this address; wait a moment and try again');
      }
    }
  });

  app.addHook('onResponse', async (req, reply) => {
    const s = state(req);
    const seconds = (clock.monotonic() - s.startedMono) / 1000;
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.httpDuration.observe({ method: req.method, route, status: String(reply.statusCode) }, seconds);
    log.info({ method: req.method, path: pathOnly(req.url), status: reply.statusCode, ms: Math.round(seconds * 1000), ip: req.ip, by: s.operator ?? undefined }, 'request');
  });

  app.setErrorHandler(async (err: FastifyError | ApiError, req: FastifyRequest, reply: FastifyReply) => {
    const e = err instanceof ApiError ? err : toApiError(err as FastifyError);
    if (e.status >= 500 && !(err instanceof ApiError)) {
      // The details stay in the log; the rider sees a stable code only.
      log.error({ err, method: req.method, path: pathOnly(req.url) }, 'request failed');
    }
    metrics.refusals.inc({ code: e.code });
    ctx.auditFailure(req, e.code);
    return reply.code(e.status).type('application/json; charset=utf-8').send(e.body());
  });

  app.setNotFoundHandler(async (req, reply) => {
    const e = apiError('not_found', `no route ${req.method} ${pathOnly(req.url)}`);
    metrics.refusals.inc({ code: e.code });
    return reply.code(e.status).send(e.body());
  });

  const typed = app as unknown as TypedApp;
  const table: RouteEntry[] = [];
  routeTables.set(typed, table);
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) table.push({ method, url: r.url, schema: r.schema as RouteEntry['schema'] });
  });
  registerConsolePage(typed);
  registerMaintenanceRoutes(typed, ctx);
  if (opts.surface === 'maintenance') return typed;
  registerRiderRoutes(typed, ctx);
  registerOpsRoutes(typed, ctx);
  registerKioskRoutes(typed, ctx);
  return typed;
}
