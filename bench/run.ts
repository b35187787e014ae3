/**
 * `npm run bench`: runs every `bench/*.bench.ts` in name order and prints its figures as
 * ratios against a baseline measured in the same run (these machines are noisy).
 * Each module default-exports `(ctx) => Promise<BenchRow[]>`.
 * `npm run bench -- ledger cloud` runs only the modules of those names.
 * The figures are written into the table of docs/performance.md (between its `bench:begin` and
 * `bench:end` markers): the rows of the modules run replace their old rows, the others stay.
 * `--no-write` only prints.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchContext, BenchRow } from './lib.ts';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const write = !args.includes('--no-write');
const filters = args.filter((a) => !a.startsWith('--'));
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

const rowOf = (r: BenchRow & { module: string }) => `| ${r.module} | ${r.name} | ${r.value} | ${r.ratio ?? ''} |`;
if (write) {
  const page = join(here, '..', 'docs', 'performance.md');
  const text = readFileSync(page, 'utf8');
  const begin = text.indexOf('<!-- bench:begin -->');
  const end = text.indexOf('<!-- bench:end -->');
  if (begin < 0 || end < begin) {
    process.stderr.write(`${page} has no bench:begin/bench:end markers; printing only\n`);
  } else {
    const ran = new Set(all.map((r) => r.module));
    const kept = text
      .slice(begin, end)
      .split('\n')
      .filter((l) => /^\| [a-z]/.test(l) && !l.startsWith('| area |'))
      .filter((l) => !ran.has(l.split('|')[1]!.trim()));
    const rows = [...kept, ...all.map(rowOf)].sort((a, b) => a.split('|')[1]!.trim().localeCompare(b.split('|')[1]!.trim()));
    const day = new Date().toISOString().slice(0, 10);
    const table = [
      '<!-- bench:begin -->',
      `Last written by \`npm run bench\` on ${day} (modules run: ${[...ran].join(', ')}; Node ${process.versions.node}).`,
      '',
      '| area | figure | value | ratio to baseline |',
      '|---|---|---|---|',
      ...rows,
      '',
    ].join('\n');
    writeFileSync(page, text.slice(0, begin) + table + text.slice(end));
    process.stderr.write(`figures written into ${page}\n`);
  }
}
process.stdout.write('\ntable rows:\n');
for (const r of all) process.stdout.write(`${rowOf(r)}\n`);
process.exit(0);
