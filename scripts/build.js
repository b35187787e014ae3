#!/usr/bin/env node
/**
 * `npm run build` (and `prepare`, so `npm ci` builds too): tsc emits dist/ from
 * tsconfig.build.json, then the static files the compiled code serves are copied beside it.
 *
 * Why copy rather than resolve from the package root: the kiosk and dashboard routes find their
 * files relative to their own module (`import.meta.url`), so the same code serves them from the
 * source tree under tsx and from dist/ under plain node, and dist/ is a self-contained tree.
 *
 *   node scripts/build.js              clean build into dist/
 *   node scripts/build.js --if-stale   build only when a source is newer than the last build
 *
 * Then the edge daemon's entry (dist/edge/cli.js, what `waystation-edge` runs) is bundled with
 * esbuild into that one file, from tsc's output and with its libraries (not the native ones:
 * better-sqlite3, serialport), whitespace-minified and with a source map back to the
 * TypeScript. One module instead of ~900 and smaller source text: about 8 MiB less resident
 * memory and half the start-up time (docs/performance.md). The other files stay as tsc emits
 * them (`npm start`, the cloud and the simulators import them).
 *
 * Plain JavaScript on purpose: it runs before anything is compiled, with no loader.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist');
const stamp = join(out, '.build-stamp');
/** What tsc compiles (tsconfig.build.json's include). */
const SOURCES = ['protocol', 'edge', 'cloud', 'firmware-sim', 'scripts'];
/** Every other file in the source folders (kiosk and dashboard pages, example configs) goes to
 *  the same place under dist/, so a page file added later needs no change here. */
const isAsset = (p) => !p.endsWith('.ts') && p !== join(root, 'scripts', 'build.js');
/** The daemon's bundled entry point, and the packages it loads from node_modules at run time:
 *  native addons find their compiled .node file relative to their own package. */
const DAEMON_ENTRY = join(out, 'edge', 'cli.js');
const EXTERNAL = ['better-sqlite3', 'serialport', '@serialport/*'];

function newestSource() {
  let newest = Math.max(statSync(join(root, 'tsconfig.json')).mtimeMs, statSync(join(root, 'tsconfig.build.json')).mtimeMs);
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const s of SOURCES) walk(join(root, s));
  return newest;
}

export function isStale() {
  return !existsSync(stamp) || statSync(stamp).mtimeMs < newestSource();
}

export async function build() {
  let tsc;
  try {
    tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    throw new Error('build needs the typescript devDependency (npm ci installs it); dist/ was not built');
  }
  rmSync(out, { recursive: true, force: true });
  const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed (exit ${r.status ?? r.signal})`);
  for (const s of SOURCES) {
    cpSync(join(root, s), join(out, s), { recursive: true, filter: (p) => statSync(p).isDirectory() || isAsset(p) });
  }
  await bundleDaemon();
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
}

/**
 * Bundle dist/edge/cli.js in place. A module that finds files beside itself (the kiosk and
 * console pages: `import.meta.url`) keeps finding them: its `import.meta.url` becomes the URL
 * its own file has in dist/, resolved from the bundle's.
 */
async function bundleDaemon() {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    throw new Error('build needs the esbuild devDependency (npm ci installs it); the daemon was not bundled');
  }
  const outDir = dirname(DAEMON_ENTRY);
  const ownPlace = {
    name: 'own-import-meta-url',
    setup(b) {
      b.onLoad({ filter: /\.js$/ }, (args) => {
        if (!args.path.startsWith(out + sep)) return undefined;
        const text = readFileSync(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return undefined;
        const rel = relative(outDir, args.path).split(sep).join('/');
        const url = `new URL(${JSON.stringify(rel.startsWith('.') ? rel : `./${rel}`)}, import.meta.url).href`;
        return { contents: text.replaceAll('import.meta.url', url), loader: 'js', resolveDir: dirname(args.path) };
      });
    },
  };
  await esbuild.build({
    entryPoints: [DAEMON_ENTRY],
    outfile: DAEMON_ENTRY,
    allowOverwrite: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: EXTERNAL,
    // Names stay (stack traces and logs read the same); whitespace and dead code go.
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    // The CommonJS libraries bundled into an ES module still call require() for node's own modules.
    banner: { js: "import { createRequire as __waystationRequire } from 'node:module'; const require = __waystationRequire(import.meta.url);" },
    plugins: [ownPlace],
    logLevel: 'warning',
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const ifStale = process.argv.includes('--if-stale');
  try {
    if (ifStale && !isStale()) process.exit(0);
    await build();
    process.stderr.write(`built ${relative(process.cwd(), out) || '.'}/\n`);
  } catch (err) {
    process.stderr.write(`build: ${err.message}\n`);
    process.exit(1);
  }
}
