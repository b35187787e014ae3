/**
 * `npm run bench`: runs every `bench/*.bench.ts` in name order and prints its figures as
 * ratios against a baseline measured in the same run (these machines are noisy).
 * Each module default-exports `(ctx) => Promise<BenchRow[]>`.
 * `npm run bench -- ledger cloud` runs only the modules of those names.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchContext, BenchRow } from './lib';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.includes(f.replace(/\.bench\.ts$/, '')))
  .sort();

const ctx: BenchContext = {
  progress: (msg: string) => process.stderr.write(`  … ${msg}\n`),
};

const all: Array<BenchRow & { module: string }> = [];
for (const f of files) {
  const name = f.replace(/\.bench\.ts$/, '');
  process.stderr.write(`bench ${name}\n`);
  const mod = (await import(pathToFileURL(join(here, f)).href)) as { default: (c: BenchContext) => Promise<BenchRow[]> };
  const started = performance.now();
  const rows = await mod.default(ctx);
  for (const r of rows) {
    all.push({ ...r, module: name });
    process.stdout.write(`${name.padEnd(12)} ${r.name.padEnd(58)} ${r.value.padStart(18)}  ${r.ratio ?? ''}\n`);
  }
  process.stderr.write(`  done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

process.stdout.write('\nREADME table rows:\n');
process.stdout.write('| area | figure | value | ratio to baseline |\n|---|---|---|---|\n');
for (const r of all) process.stdout.write(`| ${r.module} | ${r.name} | ${r.value} | ${r.ratio ?? ''} |\n`);
process.exit(0);
