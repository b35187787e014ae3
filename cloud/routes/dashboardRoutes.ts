/**
 * The dashboard: static files (no build step) and Chart.js from node_modules. The page logs in
 * with an admin token kept in sessionStorage and calls the JSON API with it as a bearer.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CloudApp } from './context.ts';

const here = dirname(fileURLToPath(import.meta.url));
const dashboardDir = join(here, '..', 'dashboard');

function chartJsPath(): string {
  // chart.js's `exports` hide dist/chart.umd.js; its main entry sits next to it.
  const main = createRequire(import.meta.url).resolve('chart.js');
  return join(dirname(main), 'chart.umd.js');
}

const FILES: Record<string, { path: () => string; type: string }> = {
  '/dashboard': { path: () => join(dashboardDir, 'index.html'), type: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { path: () => join(dashboardDir, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard/stations.js': { path: () => join(dashboardDir, 'stations.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard/conflicts.js': { path: () => join(dashboardDir, 'conflicts.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard/style.css': { path: () => join(dashboardDir, 'style.css'), type: 'text/css; charset=utf-8' },
  '/dashboard/chart.umd.js': { path: chartJsPath, type: 'text/javascript; charset=utf-8' },
};

// Scripts only from this origin; the page has no inline script or style.
const CSP = "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'";

export function dashboardRoutes(app: CloudApp): void {
  for (const [url, f] of Object.entries(FILES)) {
    const body = readFileSync(f.path());
    app.get(url, async (_req, reply) =>
      reply
        .type(f.type)
        .header('content-security-policy', CSP)
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'no-cache')
        .send(body),
    );
  }
  app.get('/', async (_req, reply) => reply.redirect('/dashboard'));
}
