/**
 * A station page's files (kiosk, maintenance console): plain HTML, ES modules and CSS with no
 * build step, read once at start and served with a strict CSP (nothing loaded from elsewhere).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TypedApp } from './context.ts';

export type PageAssets = Record<string, { file: string; type: string }>;

const CSP = "default-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'";

/** Serve each route of `assets` from the file of that name in `dir`. */
export function registerStaticPage(app: TypedApp, dir: string, assets: PageAssets): void {
  for (const [route, a] of Object.entries(assets)) {
    const body = readFileSync(join(dir, a.file));
    app.get(route, async (_req, reply) =>
      reply.type(a.type).header('cache-control', 'no-cache').header('content-security-policy', CSP).header('referrer-policy', 'no-referrer').send(body),
    );
  }
}
