/**
 * The staff listener (config `maintenance`, docs/maintenance.md): a second HTTP(S) server with
 * only the console and the maintenance API, so a phone on the station's network can reach them
 * while the kiosk's rider routes stay on loopback. With `tls`, node's https serves the
 * configured certificate; a missing or unreadable file stops start-up with what to fix.
 */
import { readFileSync } from 'node:fs';
import { buildApp, type AppDeps, type TypedApp } from '../api/app.ts';
import type { StationConfig } from '../config.ts';

export class MaintenanceListenerError extends Error {
  constructor(
    readonly code: 'maintenance_tls_unreadable' | 'maintenance_port_in_use',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface MaintenanceListener {
  url: string;
  app: TypedApp;
  close(): Promise<void>;
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new MaintenanceListenerError('maintenance_tls_unreadable', `cannot read the maintenance TLS ${what} ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); check maintenance.tls in the config and the file's owner`, { cause: e });
  }
}

export async function startMaintenanceListener(m: NonNullable<StationConfig['maintenance']>, deps: AppDeps): Promise<MaintenanceListener> {
  const https = m.tls ? { cert: readPem(m.tls.certFile, 'certificate'), key: readPem(m.tls.keyFile, 'key') } : undefined;
  const app = buildApp(deps, { surface: 'maintenance', ...(https ? { https } : {}) });
  try {
    await app.listen({ host: m.host, port: m.port });
  } catch (e) {
    await app.close().catch(() => undefined);
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new MaintenanceListenerError('maintenance_port_in_use', `maintenance port ${m.port} on ${m.host} is in use; set maintenance.port in the config or stop the other process`, { cause: e });
    }
    throw e;
  }
  const addr = app.server.address();
  const port = addr && typeof addr === 'object' ? addr.port : m.port;
  const host = m.host.includes(':') ? `[${m.host}]` : m.host;
  const url = `${https ? 'https' : 'http'}://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  return {
    url,
    app,
    async close() {
      const sweep = setInterval(() => app.server.closeIdleConnections(), 100);
      const cut = setTimeout(() => app.server.closeAllConnections(), 5000);
      try {
        await app.close();
      } finally {
        clearInterval(sweep);
        clearTimeout(cut);
      }
    },
  };
}
