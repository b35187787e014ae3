/**
 * The monitoring files in deploy/ (docs/alerts.md): the Prometheus rules pass `promtool check
 * rules` and their unit tests (`promtool test rules`), and every metric the rules and the
 * Grafana dashboard name is one the daemons really export — read from a running station's and
 * cloud's `GET /metrics`, not from a list.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../protocol/index.ts';
import { buildApp } from '../../cloud/app.ts';
import { SqliteStore } from '../../cloud/store/sqlite.ts';
import { startHarness, type Harness } from '../helpers/station.ts';
import { bearer, silent, testConfig, TOKENS } from './helpers.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const RULES = join(ROOT, 'deploy', 'prometheus', 'rules.yml');
const RULE_TESTS = join(ROOT, 'deploy', 'prometheus', 'rules.test.yml');
const GRAFANA = join(ROOT, 'deploy', 'grafana', 'station.json');

/** Debian's `prometheus` package has promtool; installed here when missing (as .ci/run does). */
function promtool(): string {
  const found = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).stdout.trim();
  if (found) return found;
  execFileSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus'], { stdio: 'ignore', timeout: 900_000 });
  return spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).stdout.trim();
}

/** Metric names in PromQL text: ours by prefix (histogram series back to their family), and `up`. */
function metricNames(expr: string): string[] {
  const ours = [...expr.matchAll(/\b(waystation_[a-z0-9_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ''));
  return ours;
}

function exposedNames(text: string): Set<string> {
  return new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
}

function grafanaExprs(): string[] {
  const d = JSON.parse(readFileSync(GRAFANA, 'utf8')) as { panels: Array<{ id: number; targets: Array<{ expr: string }> }>; templating: { list: Array<{ query: unknown }> } };
  const exprs = d.panels.flatMap((p) => p.targets.map((t) => t.expr));
  for (const v of d.templating.list) if (typeof v.query === 'object' && v.query) exprs.push((v.query as { query: string }).query);
  return exprs;
}

function ruleExprs(): string[] {
  return [...readFileSync(RULES, 'utf8').matchAll(/^\s+expr: (.+)$/gm)].map((m) => m[1]!);
}

describe('deploy/prometheus and deploy/grafana', () => {
  let exposed: Set<string>;
  let h: Harness;
  let closeCloud: () => Promise<void>;

  beforeAll(async () => {
    h = await startHarness({ locks: 0 });
    const edgeText = await (await fetch(`${h.station.httpUrl}/metrics`)).text();
    const config = testConfig(undefined, { notify: [{ kind: 'webhook', url: 'http://127.0.0.1:9/never' }] });
    const store = SqliteStore.open(join(config.dataDir, 'cloud.db'));
    const app = buildApp({ config, store, clock: systemClock, logger: silent });
    await app.ready();
    closeCloud = async () => {
      await app.close();
      await store.close();
    };
    const cloudText = (await app.inject({ method: 'GET', url: '/metrics', headers: bearer(TOKENS.admin) })).body;
    exposed = new Set([...exposedNames(edgeText), ...exposedNames(cloudText)]);
  }, 60_000);
  afterAll(async () => {
    await h?.stop();
    await closeCloud?.();
  });

  it('passes promtool check rules', () => {
    const r = spawnSync(promtool(), ['check', 'rules', RULES], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.status).toBe(0);
  }, 900_000);

  it('passes its promtool unit tests (device offline, sync backlog, notifications given up)', () => {
    const r = spawnSync(promtool(), ['test', 'rules', RULE_TESTS], { encoding: 'utf8', cwd: join(ROOT, 'deploy', 'prometheus') });
    expect(r.stdout + r.stderr).toContain('SUCCESS');
    expect(r.status).toBe(0);
  }, 900_000);

  it('names only metrics the station and the cloud export', () => {
    const used = new Set([...ruleExprs(), ...grafanaExprs()].flatMap(metricNames));
    expect(used.size).toBeGreaterThan(15);
    const missing = [...used].filter((n) => !exposed.has(n));
    expect(missing).toEqual([]);
    // Both daemons are covered.
    expect([...used].some((n) => n.startsWith('waystation_cloud_'))).toBe(true);
    expect([...used].some((n) => !n.startsWith('waystation_cloud_'))).toBe(true);
  });

  it('is a Grafana dashboard: unique panel ids, a Prometheus data source and a query on every panel', () => {
    const d = JSON.parse(readFileSync(GRAFANA, 'utf8')) as { uid: string; panels: Array<{ id: number; datasource: { type: string }; targets: Array<{ expr: string; refId: string }> }> };
    expect(d.uid).toBe('waystation-station');
    expect(new Set(d.panels.map((p) => p.id)).size).toBe(d.panels.length);
    for (const p of d.panels) {
      expect(p.datasource.type).toBe('prometheus');
      expect(p.targets.length).toBeGreaterThan(0);
      for (const t of p.targets) expect(t.expr.length).toBeGreaterThan(0);
    }
  });
});
