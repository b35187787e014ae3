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
 * Plain JavaScript on purpose: it runs before anything is compiled, with no loader.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist');
const stamp = join(out, '.build-stamp');
/** What tsc compiles (tsconfig.build.json's include). */
const SOURCES = ['protocol', 'edge', 'cloud', 'firmware-sim', 'scripts'];
/** Every other file in the source folders (kiosk and dashboard pages, example configs) goes to
 *  the same place under dist/, so a page file added later needs no change here. */
const isAsset = (p) => !p.endsWith('.ts') && p !== join(root, 'scripts', 'build.js');

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

export function build() {
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
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const ifStale = process.argv.includes('--if-stale');
  try {
    if (ifStale && !isStale()) process.exit(0);
    build();
    process.stderr.write(`built ${relative(process.cwd(), out) || '.'}/\n`);
  } catch (err) {
    process.stderr.write(`build: ${err.message}\n`);
    process.exit(1);
  }
}
