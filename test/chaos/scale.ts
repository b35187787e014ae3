/** Sizes of the chaos runs: `CHAOS_SCALE=short` (CI) or full (`npm run test:chaos`). */
export const SHORT = process.env.CHAOS_SCALE === 'short';

export function scaled(full: number, short: number): number {
  return SHORT ? short : full;
}

/** One summary line per chaos test, for docs/reliability.md (greppable: starts with "chaos:"). */
export function summary(name: string, figures: Record<string, string | number>): string {
  const line = `chaos: ${name} — ${Object.entries(figures)
    .map(([k, v]) => `${k} ${typeof v === 'number' ? v.toLocaleString('en-US') : v}`)
    .join(', ')}${SHORT ? ' (short run)' : ''}`;
  process.stdout.write(`${line}\n`);
  return line;
}
