#!/usr/bin/env -S node --max-semi-space-size=1 --v8-pool-size=1 --heap-growing-percent=50 --interrupt-budget=270336
// Runs the compiled entry point with plain node: no TypeScript loader at run time.
// The flags keep resident memory down without slowing a claim (docs/performance.md): a 1 MB
// young generation; one V8 helper thread instead of four (~3 MiB of thread stacks and malloc
// arenas); and the old generation collected when it has grown by half its live size, not
// 1.1–4× — unbounded, it reached ~60 MB of mostly garbage before its first full collection;
// and a function optimized after 4× V8's default interrupt budget of work, so start-up's
// once-hot code is not sent to TurboFan, whose compile memory on the helper thread's malloc
// arena made some starts read 84 MiB instead of 78.
// deploy/systemd/waystation-edge.service passes the same flags; keep them in step.
// dist/ comes from `npm run build`, which `npm ci` runs through the `prepare` script.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/edge/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('waystation-edge: dist/ is not built; run `npm run build` (npm ci does it) and try again\n');
  process.exit(1);
}
await import(entry.href);
