/**
 * The import graph's rules (issue 10, items 1 and 3; docs/station.md "Boundaries"). Every
 * import, re-export and dynamic import of every .ts file under protocol/, edge/, cloud/ and
 * firmware-sim/ is read with the TypeScript compiler's own pre-processor and resolved to a file:
 *
 * - edge/core/ imports nothing from edge/drivers/; the drivers import from edge/core/ only the
 *   device ports (edge/core/device-ports.ts).
 * - protocol/ imports nothing of ours outside protocol/ (only packages and node:).
 * - edge/, cloud/ and firmware-sim/ do not import each other (what they share is protocol/).
 * - edge/api/ has no import cycle (the shared types are in edge/api/context.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const AREAS = ['protocol', 'edge', 'cloud', 'firmware-sim'];

function filesUnder(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

/** Repository-relative file → the repository-relative files it imports (packages left out). */
export function importGraph(files: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const info = ts.preProcessFile(readFileSync(join(root, file), 'utf8'), true, true);
    const targets = info.importedFiles
      .map((f) => f.fileName)
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => relative(root, resolve(root, dirname(file), spec)));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

const graph = importGraph(AREAS.flatMap(filesUnder));
const edges = [...graph].flatMap(([from, tos]) => tos.map((to) => ({ from, to })));
const under = (dir: string) => (f: string) => f === dir || f.startsWith(`${dir}/`);
const fmt = (es: Array<{ from: string; to: string }>) => es.map((e) => `${e.from} → ${e.to}`);

/** Every cycle's members (strongly connected components of more than one file, or a self-import). */
export function cyclesOf(g: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!g.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      for (let w = stack.pop()!; ; w = stack.pop()!) {
        on.delete(w);
        scc.push(w);
        if (w === v) break;
      }
      if (scc.length > 1 || (g.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of g.keys()) if (!idx.has(v)) visit(v);
  return out;
}

describe('import graph', () => {
  it('reads the imports it judges (the graph is not empty and resolves to real files)', () => {
    expect(graph.size).toBeGreaterThan(80);
    expect(graph.get('edge/core/claims.ts')).toContain('edge/core/device-ports.ts');
    expect(graph.get('edge/drivers/lockbus.ts')).toContain('edge/core/device-ports.ts');
    const missing = edges.filter((e) => !graph.has(e.to));
    expect(fmt(missing)).toEqual([]);
  });

  it('edge/core imports nothing from edge/drivers', () => {
    expect(fmt(edges.filter((e) => under('edge/core')(e.from) && under('edge/drivers')(e.to)))).toEqual([]);
  });

  it('edge/drivers import from edge/core only the device ports', () => {
    const bad = edges.filter((e) => under('edge/drivers')(e.from) && under('edge/core')(e.to) && e.to !== 'edge/core/device-ports.ts');
    expect(fmt(bad)).toEqual([]);
  });

  it('protocol imports nothing of ours outside protocol', () => {
    expect(fmt(edges.filter((e) => under('protocol')(e.from) && !under('protocol')(e.to)))).toEqual([]);
  });

  it('edge, cloud and firmware-sim do not import each other', () => {
    const apps = ['edge', 'cloud', 'firmware-sim'];
    const areaOf = (f: string) => apps.find((a) => under(a)(f));
    const bad = edges.filter((e) => areaOf(e.from) && areaOf(e.to) && areaOf(e.from) !== areaOf(e.to));
    expect(fmt(bad)).toEqual([]);
  });

  it('the cycle finder finds a cycle (so the next check can fail)', () => {
    const g = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ]);
    expect(cyclesOf(g)).toEqual([['a', 'b', 'c']]);
  });

  it('edge/api has no import cycle', () => {
    const api = new Map([...graph].filter(([f]) => under('edge/api')(f)).map(([f, tos]) => [f, tos.filter(under('edge/api'))]));
    expect(cyclesOf(api)).toEqual([]);
  });
});
