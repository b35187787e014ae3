/**
 * The riders' pages at the cloud (SPEC §14): `/r/` (enrolment, with the notice) and `/r/me`
 * (the rotating code), plain HTML + JS + CSS from cloud/rider-pages/ with no build step; the
 * QR library is served from node_modules (no CDN). The notice's contact and retention come
 * from the config. `/r/me` is installable (web manifest) and works offline (service worker).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CloudConfig } from '../config.ts';
import type { CloudApp } from '../routes/context.ts';

const pages = join(dirname(fileURLToPath(import.meta.url)), '..', 'rider-pages');
// The package's ES module build, beside the CommonJS one that require.resolve names.
const qrModule = join(dirname(createRequire(import.meta.url).resolve('qrcode-generator')), 'qrcode.mjs');

const JS = 'text/javascript; charset=utf-8';
const ASSETS: Record<string, { file: string; type: string }> = {
  '/r/': { file: join(pages, 'index.html'), type: 'text/html; charset=utf-8' },
  '/r/me': { file: join(pages, 'me.html'), type: 'text/html; charset=utf-8' },
  '/r/enrol.js': { file: join(pages, 'enrol.js'), type: JS },
  '/r/me.js': { file: join(pages, 'me.js'), type: JS },
  '/r/store.js': { file: join(pages, 'store.js'), type: JS },
  '/r/hazard.js': { file: join(pages, 'hazard.js'), type: JS },
  '/r/sw.js': { file: join(pages, 'sw.js'), type: JS },
  '/r/rider.css': { file: join(pages, 'rider.css'), type: 'text/css; charset=utf-8' },
  '/r/print.css': { file: join(pages, 'print.css'), type: 'text/css; charset=utf-8' },
  '/r/manifest.webmanifest': { file: join(pages, 'manifest.webmanifest'), type: 'application/manifest+json' },
  '/r/icon.svg': { file: join(pages, 'icon.svg'), type: 'image/svg+xml' },
  '/r/vendor/qrcode.mjs': { file: qrModule, type: JS },
};

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function riderPageRoutes(app: CloudApp, config: CloudConfig): void {
  const fill = (text: string) =>
    text.replaceAll('{{privacyContact}}', esc(config.riders.privacyContact)).replaceAll('{{keepDays}}', String(config.riders.keepDays));
  // Read once at start: a handful of small files.
  const files = new Map(
    Object.entries(ASSETS).map(([route, a]) => {
      const raw = readFileSync(a.file, 'utf8');
      return [route, { body: a.type.startsWith('text/html') ? fill(raw) : raw, type: a.type }];
    }),
  );
  for (const [route, f] of files) {
    app.get(route, async (_req, reply) => {
      reply.type(f.type).header('cache-control', 'no-cache').header('content-security-policy', "default-src 'self'; img-src 'self' data:");
      // The worker controls all of /r/ although it is served from /r/sw.js.
      if (route === '/r/sw.js') reply.header('service-worker-allowed', '/r/');
      return reply.send(f.body);
    });
  }
  app.get('/r', async (_req, reply) => reply.redirect('/r/'));
}
