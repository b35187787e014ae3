/**
 * startCloud: open the store, build the app and listen. Used by the CLI, `npm start` and
 * end-to-end tests (port 0 picks a free port; read `url` back).
 */
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { systemClock, type Clock } from '../protocol/index.ts';
import { buildApp } from './app.ts';
import type { CloudConfig } from './config.ts';
import { RiderRegistry } from './riders/riderRegistry.ts';
import { PgStore } from './store/pg.ts';
import { SqliteStore } from './store/sqlite.ts';
import type { CloudStore } from './store/store.ts';
import type { CloudApp } from './routes/context.ts';

export interface RunningCloud {
  url: string;
  port: number;
  app: CloudApp;
  store: CloudStore;
  stop(): Promise<void>;
}

export class PortInUseError extends Error {
  readonly code = 'port_in_use';
  constructor(port: number) {
    super(`port ${port} is in use; set http.port in the config or free it`);
  }
}

export const CLOUD_LOG_REDACT = ['req.headers.authorization', 'headers.authorization', 'authorization', '*.token', 'token', 'privateJwk', '*.privateJwk'];

export function cloudLogger(level: string): Logger {
  return pino({ level, redact: { paths: CLOUD_LOG_REDACT, censor: '[redacted]' } });
}

/** The store of a config: PostgreSQL at `storage.url`, else SQLite in dataDir (SPEC §11, §12). */
export async function openStore(config: CloudConfig, logger?: Logger): Promise<CloudStore> {
  if (config.storage.url) return PgStore.open(config.storage.url, { maxConnections: config.storage.poolSize, ...(logger ? { logger } : {}) });
  return SqliteStore.open(join(config.dataDir, 'cloud.db'));
}

export async function startCloud(config: CloudConfig, opts: { clock?: Clock; logger?: Logger } = {}): Promise<RunningCloud> {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? cloudLogger(config.logLevel);
  const store = await openStore(config, logger.child({ module: 'store' }));
  // A signing key exists before the first station pulls its JWKS.
  await new RiderRegistry(store, clock, { ttlDays: config.credentials.ttlDays }, logger).activeKey();
  const app = buildApp({ config, store, clock, logger });
  try {
    await app.listen({ host: config.http.host, port: config.http.port });
  } catch (e) {
    await app.close();
    await store.close();
    if ((e as { code?: string }).code === 'EADDRINUSE') throw new PortInUseError(config.http.port);
    throw e;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.http.port;
  const host = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  logger.info({ url, stations: config.stations.length }, 'cloud listening');
  let stopped = false;
  return {
    url,
    port,
    app,
    store,
    async stop() {
      if (stopped) return;
      stopped = true;
      await app.close();
      await store.close();
    },
  };
}
