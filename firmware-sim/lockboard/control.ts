/**
 * Live control of the lock-board simulator: one text command per line (the CLI reads them from
 * standard input), so a person can open doors and inject faults while a station runs.
 */
import { BOARD_FAULTS, LOCK_FAULTS, isBoardFault, type BoardFault } from './faults.ts';
import type { LockBoardSim } from './sim.ts';

export const CONTROL_HELP = `commands (one per line):
  open 1-5 [1-6 …]          a door opened without an unlock (by key or force)
  close 1-5 [1-6 …]         the rider shuts a door
  jam 1-5                   latch jammed: unlock answers 11, the door stays shut
  jam-silent 1-5            latch jammed but unlock answers 00 (open); the door stays shut
  leave-open 1-5            the rider never shuts this door
  fix 1-5                   clear a lock fault
  fault <board|all> <fault> [times]   switch a board fault on (for the next [times] requests)
  clear <board|all> [fault] switch board faults off
  latency <ms>              reply latency
  close-after <s|never>     how long the simulated rider keeps an opened door open
  status                    open doors and faults
  help
board faults: ${BOARD_FAULTS.join(', ')}
lock faults: ${LOCK_FAULTS.join(', ')}`;

function compartment(s: string | undefined): [number, number] {
  const m = /^(\d+)-(\d+)$/.exec(s ?? '');
  if (!m) throw new Error(`expected a compartment like 1-5, got "${s ?? ''}"`);
  return [Number(m[1]), Number(m[2])];
}

function boards(sim: LockBoardSim, s: string | undefined): number[] {
  if (s === 'all') return sim.addresses;
  const n = Number(s);
  if (!Number.isInteger(n) || !sim.addresses.includes(n)) throw new Error(`no board "${s ?? ''}" (boards: ${sim.addresses.join(', ')}, or all)`);
  return [n];
}

/** Run one command; returns the reply line (errors are replies too, never thrown). */
export function runControlCommand(sim: LockBoardSim, line: string): string {
  const [cmd, ...args] = line.trim().split(/\s+/);
  try {
    switch (cmd) {
      case undefined:
      case '':
        return '';
      case 'help':
        return CONTROL_HELP;
      case 'open':
        for (const a of args) sim.forceOpen(...compartment(a));
        return `opened ${args.join(' ')}`;
      case 'close':
        for (const a of args) sim.closeDoor(...compartment(a));
        return `closed ${args.join(' ')}`;
      case 'jam':
        sim.setLockFault(...compartment(args[0]), 'jammed');
        return `jammed ${args[0]}`;
      case 'jam-silent':
        sim.setLockFault(...compartment(args[0]), 'jammed_reports_open');
        return `jammed (reports open) ${args[0]}`;
      case 'leave-open':
        sim.setLockFault(...compartment(args[0]), 'left_open');
        return `${args[0]} will be left open`;
      case 'fix':
        sim.setLockFault(...compartment(args[0]), undefined);
        return `fixed ${args[0]}`;
      case 'fault': {
        const fault = args[1] ?? '';
        if (!isBoardFault(fault)) throw new Error(`unknown board fault "${fault}"; one of ${BOARD_FAULTS.join(', ')}`);
        const times = args[2] === undefined ? undefined : Number(args[2]);
        if (times !== undefined && !(Number.isInteger(times) && times > 0)) throw new Error(`times must be a positive integer`);
        for (const b of boards(sim, args[0])) sim.inject(b, fault, times === undefined ? {} : { times });
        return `fault ${fault} on board ${args[0]}${times ? ` for ${times} requests` : ''}`;
      }
      case 'clear': {
        const fault = args[1] as BoardFault | undefined;
        if (fault !== undefined && !isBoardFault(fault)) throw new Error(`unknown board fault "${fault}"`);
        for (const b of boards(sim, args[0] ?? 'all')) sim.clear(b, fault);
        return `cleared ${fault ?? 'all faults'} on board ${args[0] ?? 'all'}`;
      }
      case 'latency': {
        const ms = Number(args[0]);
        if (!(ms >= 0)) throw new Error('latency must be a number of ms ≥ 0');
        sim.latencyMs = ms;
        return `latency ${ms} ms`;
      }
      case 'close-after': {
        if (args[0] === 'never') sim.closeAfterMs = null;
        else {
          const s = Number(args[0]);
          if (!(s >= 0)) throw new Error('close-after takes seconds ≥ 0 or "never"');
          sim.closeAfterMs = s * 1000;
        }
        return `close-after ${args[0]}`;
      }
      case 'status': {
        const lines = [`open doors: ${sim.openDoors().join(' ') || 'none'}`];
        for (const b of sim.addresses) lines.push(`board ${b}: faults ${sim.faultsOf(b).join(', ') || 'none'}`);
        return lines.join('\n');
      }
      default:
        return `unknown command "${cmd}"; try help`;
    }
  } catch (err) {
    return `error: ${(err as Error).message}`;
  }
}
