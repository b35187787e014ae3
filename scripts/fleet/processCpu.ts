/**
 * CPU time of other processes, read from /proc (Linux), so a fleet run can say where the
 * machine's CPU per upload goes (issue 14): the cloud instances' processes, and the PostgreSQL
 * server — its postmaster, every live backend and (through the postmaster's cutime/cstime)
 * every backend that has exited since, so short-lived connections are counted too.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's times (USER_HZ: 100 on every Linux this runs on). */
const TICK_MS = 10;

interface Stat {
  ppid: number;
  /** utime + stime, ms. */
  ownMs: number;
  /** cutime + cstime (reaped children), ms. */
  childrenMs: number;
}

function stat(pid: number): Stat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: the fields start after the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state): ppid is field 4, utime..cstime fields 14..17.
  return { ppid: Number(f[1]), ownMs: (Number(f[11]) + Number(f[12])) * TICK_MS, childrenMs: (Number(f[13]) + Number(f[14])) * TICK_MS };
}

/** CPU ms a process has used so far, its own (not its children's); 0 once it is gone. */
export function processCpuMs(pid: number): number {
  return stat(pid)?.ownMs ?? 0;
}

/** CPU ms used so far by a process and all its children, live or exited (one level: PostgreSQL's). */
export function processTreeCpuMs(pid: number): number {
  const root = stat(pid);
  if (!root) return 0;
  let ms = root.ownMs + root.childrenMs;
  for (const name of readdirSync('/proc')) {
    const child = /^\d+$/.test(name) ? stat(Number(name)) : null;
    if (child && child.ppid === pid) ms += child.ownMs;
  }
  return ms;
}

/** The parent of `pid` (the postmaster of a backend), or null. */
export function parentPid(pid: number): number | null {
  return stat(pid)?.ppid ?? null;
}
