/**
 * Vitest global setup: the compiled daemon in dist/ is current before any test runs, because
 * some tests start the installed commands (bin/*), which run dist/ with plain node. Builds only
 * when a source is newer than the last build (scripts/build.js --if-stale), so a run after
 * `npm ci` pays nothing.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export default function setup(): void {
  const root = join(import.meta.dirname, '../..');
  const r = spawnSync(process.execPath, [join(root, 'scripts/build.js'), '--if-stale'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], timeout: 300_000 });
  if (r.status !== 0) throw new Error(`npm run build failed (exit ${r.status ?? r.signal}); the tests that run bin/* need dist/`);
}
