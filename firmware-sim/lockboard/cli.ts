/**
 * `npm run sim -- lockboard --path <serial path> --boards 1:24,2:24 [--latency-ms 30]
 * [--close-after 10] [--faults <profile>] [--profile 8a80|kerong-cu16]` (SPEC §11). Serves the
 * simulated boards on a serial path (one end of a socat pty pair, or a real RS-485 adapter) and
 * takes live commands on standard input (see control.ts, or type `help`). `--profile` is the
 * board family (protocol/lockboard/profile.ts); `--faults` is a fault profile.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  LOCK_BOARD_PROFILE_NAMES,
  PROFILE_8A80,
  isLockBoardProfileName,
  lockBoardProfile,
  type BoardProfile,
} from '../../protocol/lockboard/index.ts';
import { openSerialLink } from './link.ts';
import { CONTROL_HELP, runControlCommand } from './control.ts';
import { LockBoardSim } from './sim.ts';

export const LOCKBOARD_USAGE = `usage: lockboard --path <serial path> --boards 1:24,2:24 [--latency-ms 30] [--close-after 10] [--faults <profile>] [--profile 8a80]
  --boards       board address:lock count, comma separated (default 1:24; 1:16 for kerong-cu16)
  --latency-ms   reply latency in ms (default 30)
  --close-after  seconds until the simulated rider shuts an opened door; "never" leaves doors open (default 10)
  --faults       none | flaky[@seed] | random:<rate>[@seed] | a comma list of switches, or both joined by "+"
  --baud         baud rate of the port (default 9600)
  --profile      the board family the simulator speaks: ${LOCK_BOARD_PROFILE_NAMES.join(' | ')} (default 8a80)
  --verbose      print every request
${CONTROL_HELP}`;

export function parseBoards(spec: string, profile: BoardProfile = PROFILE_8A80): Array<{ address: number; locks: number }> {
  const { minAddress, maxAddress, locksPerBoard } = profile;
  return spec.split(',').map((part) => {
    const m = /^\s*(\d+)(?::(\d+))?\s*$/.exec(part);
    if (!m) throw new Error(`--boards: "${part}" is not address:locks (e.g. 1:24)`);
    const address = Number(m[1]);
    const locks = m[2] === undefined ? locksPerBoard : Number(m[2]);
    if (address < minAddress || address > maxAddress) throw new Error(`--boards: address ${address} outside ${minAddress}–${maxAddress}`);
    if (locks < 1 || locks > locksPerBoard) throw new Error(`--boards: ${locks} locks outside 1–${locksPerBoard}`);
    return { address, locks };
  });
}

export async function runLockboardCli(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      path: { type: 'string' },
      boards: { type: 'string', default: '1:24' },
      'latency-ms': { type: 'string', default: '30' },
      'close-after': { type: 'string', default: '10' },
      faults: { type: 'string', default: 'none' },
      baud: { type: 'string', default: '9600' },
      profile: { type: 'string', default: '8a80' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help || !values.path) {
    process.stderr.write(`${LOCKBOARD_USAGE}\n`);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  if (!isLockBoardProfileName(values.profile)) throw new Error(`--profile: "${values.profile}" is not one of ${LOCK_BOARD_PROFILE_NAMES.join(', ')}`);
  const profile = lockBoardProfile(values.profile);
  const closeAfter = values['close-after'];
  const sim = new LockBoardSim({
    profile,
    boards: parseBoards(values.boards, profile),
    latencyMs: Number(values['latency-ms']),
    closeAfterMs: closeAfter === 'never' ? null : Number(closeAfter) * 1000,
    faults: values.faults,
  });
  const link = await openSerialLink(values.path, Number(values.baud));
  sim.attach(link);
  if (values.verbose) sim.on((e) => process.stdout.write(`${JSON.stringify(e)}\n`));
  process.stdout.write(
    `lockboard simulator on ${values.path}: ${profile.name} boards ${sim.addresses.join(', ')}, latency ${sim.latencyMs} ms, faults ${values.faults}; type "help"\n`,
  );
  const rl = createInterface({ input: process.stdin, terminal: false });
  rl.on('line', (line) => {
    const reply = runControlCommand(sim, line);
    if (reply) process.stdout.write(`${reply}\n`);
  });
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    // stdin closed (e.g. `< /dev/null`): keep serving until a signal.
  });
  rl.close();
  sim.stop();
  await link.close();
}
