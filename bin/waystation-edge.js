#!/usr/bin/env -S node --max-semi-space-size=1
// Runs the compiled entry point with plain node: no TypeScript loader at run time.
// dist/ comes from `npm run build`, which `npm ci` runs through the `prepare` script.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/edge/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('waystation-edge: dist/ is not built; run `npm run build` (npm ci does it) and try again\n');
  process.exit(1);
}
await import(entry.href);
