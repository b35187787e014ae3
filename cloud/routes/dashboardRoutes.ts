/**
 * The dashboard: static files, no build step. Every file in cloud/dashboard/ is served at
 * /dashboard/<name> (index.html at /dashboard), so a module added there needs only its
 * `<script>` tag in index.html. The page logs in with a cloud token kept in sessionStorage and
 * calls the JSON API with it as a bearer.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CloudApp } from './context.ts';

const here = dirname(fileURLToPath(import.meta.url));
const dashboardDir = join(here, '..', 'dashboard');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

// Scripts only from this origin; the page has no inline script or style.
const CSP = "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'";

export function dashboardRoutes(app: CloudApp): void {
  // Read once at start: the set of files is fixed for the life of the process.
  const files = readdirSync(dashboardDir, { withFileTypes: true })
    .filter((e) => e.isFile() && TYPES[extname(e.name)] !== undefined)
    .map((e) => e.name);
  for (const name of files) {
    const body = readFileSync(join(dashboardDir, name));
    const url = name === 'index.html' ? '/dashboard' : `/dashboard/${name}`;
    app.get(url, async (_req, reply) =>
      reply
        .type(TYPES[extname(name)]!)
        .header('content-security-policy', CSP)
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'no-cache')
        .send(body),
    );
  }
  app.get('/', async (_req, reply) => reply.redirect('/dashboard'));
}
