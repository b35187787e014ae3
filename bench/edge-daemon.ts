/**
 * The edge daemon as the bench runs it: a separate process started the way it runs in
 * production — the compiled `bin/waystation-edge.js` (dist/, plain node, the environment and V8
 * flags of its shebang) — or, for comparison, the TypeScript through tsx as it ran before issue 10.
 * Shared by edge.bench.ts and edge-start.bench.ts; not a bench module itself.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const root = join(import.meta.dirname, '..');
const bin = join(root, 'bin/waystation-edge.js');

/** `node scripts/build.js --if-stale`: the bench measures the current source. */
export function ensureBuilt(): void {
  const r = spawnSync(process.execPath, [join(root, 'scripts/build.js'), '--if-stale'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error('npm run build failed; the bench runs the compiled daemon');
}

/** The installed command's first line, `#!/usr/bin/env -S [NAME=value …] node [flag …]`. */
function binShebang(): { env: Record<string, string>; flags: string[] } {
  const first = readFileSync(bin, 'utf8').split('\n', 1)[0]!;
  const m = /^#!\/usr\/bin\/env -S ((?:[A-Za-z_][A-Za-z0-9_]*=\S* )*)node(.*)$/.exec(first);
  if (!m) return { env: {}, flags: [] };
  const env = Object.fromEntries(m[1]!.trim().split(/\s+/).filter(Boolean).map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
  return { env, flags: m[2]!.trim().split(/\s+/).filter(Boolean) };
}

/** The node flags the installed command runs with. */
export function binNodeFlags(): string[] {
  return binShebang().flags;
}

/** The environment the installed command sets for node (glibc malloc's tuning), over this process's. */
export function binEnv(): NodeJS.ProcessEnv {
  return { ...process.env, ...binShebang().env };
}

export interface Daemon {
  child: ChildProcess;
  url: string;
  mqttPort: number;
  /** Process start → the "running" line, ms. */
  startMs: number;
  stop(): Promise<void>;
}

export type Runtime = 'compiled' | 'tsx';

/** Write `config` as `<dir>/station.json` and start the daemon on it; resolves once it says it runs. */
export function startDaemon(dir: string, config: object, runtime: Runtime = 'compiled'): Promise<Daemon> {
  const file = join(dir, 'station.json');
  writeFileSync(file, JSON.stringify(config));
  const args = runtime === 'compiled' ? [...binNodeFlags(), bin, '--config', file] : ['--import', import.meta.resolve('tsx'), join(root, 'edge/cli.ts'), '--config', file];
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], env: runtime === 'compiled' ? binEnv() : process.env });
  let err = '';
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  };
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`edge daemon did not start: ${err}`)), 30_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      // The line also names the console since issue 13: `running: kiosk <url>/  console <url>/maintenance  mqtt port <n>`.
      const m = /running: kiosk (http:\/\/[^/\s]+)\/.*?mqtt port (\d+)/.exec(err);
      if (m) {
        clearTimeout(t);
        resolve({ child, url: m[1]!, mqttPort: Number(m[2]), startMs: performance.now() - t0, stop });
      }
    });
    child.on('exit', (code) => reject(new Error(`edge daemon exited ${code}: ${err}`)));
  });
}

/**
 * Resident memory of a process by kind (bytes), from /proc/<pid>/status: anonymous (heaps, V8's
 * pages, thread stacks), file-backed (pages of the node binary and the libraries touched) and shared.
 */
export function residentOf(pid: number): { rss: number; anon: number; file: number; shmem: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text);
    if (!m) throw new Error(`no ${key} for pid ${pid}`);
    return Number(m[1]) * 1024;
  };
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile'), shmem: kb('RssShmem') };
}

/** "anonymous 27.1, file 51.3 MiB": which memory a resident figure is. */
export function residentSplit(r: { anon: number; file: number; shmem: number }): string {
  const mib = (b: number) => (b / 1048576).toFixed(1);
  return `anonymous ${mib(r.anon)}, file ${mib(r.file)}${r.shmem >= 1048576 ? `, shared ${mib(r.shmem)}` : ''} MiB`;
}

/** CPU time a process has used (user + system), seconds, from /proc (ticks of 1/100 s). */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat(5), counted after pid and comm.
  return (Number(f[11]) + Number(f[12])) / 100;
}
