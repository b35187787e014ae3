/**
 * `npm run sim -- dispenser --url mqtt://127.0.0.1:1883 --id disp-1 --password <secret>
 *  [--stock 40] [--faults <profile>]` (SPEC §11), plus a console on standard input for live
 * fault injection (`help` lists the commands; docs/dispensers.md, Simulator, describes them).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { COMPARTMENTS, isDeviceId, type Compartment } from '../../protocol/index.ts';
import { isVendFault, parseFaultProfile, VEND_FAULTS } from './faults.ts';
import { JsonFileStore } from './memory.ts';
import { DispenserSimulator, type Condition, type DispenserSimOptions } from './simulator.ts';

export const DISPENSER_USAGE = `usage: waystation-sim dispenser --url mqtt://127.0.0.1:1883 --id disp-1 --password <secret> [--stock 40] [--faults <profile>]
  extra options: [--telemetry-ms 10000] [--motor-ms 1500] [--memory <file>] [--fw 1.4.2-sim]
  profiles: none | flaky[@seed] | random:<rate>[@seed] | <fault>[,<fault>...] (every vend) | flaky+<fault>
  faults: ${VEND_FAULTS.join(', ')}`;

const HELP = `commands:
  fault <name>                 one-shot fault on the next vend (${VEND_FAULTS.join(', ')})
  profile <profile>            none | flaky[@seed] | random:<rate>[@seed] | <fault>,... (every vend)
  jam on|off                   a jam that fails every vend until cleared
  drop-sensor on|off           a broken drop sensor (every vend fails: drop_sensor)
  heater on|off                hot compartment loses its heater (refuses: temperature)
  compressor on|off            cold compartment loses its compressor (refuses: temperature)
  temp-sensor on|off           temperature sensor fault (both compartments refuse)
  temp hot|cold <°C>|auto      force a temperature reading
  door open|closed             the service door
  stock hot|cold <n>           set the stock
  power-loss [ms]              cut the power now; boots again after ms (default 3000)
  disconnect [ms]              lose the network for ms (default 3000)
  clear                        close the door, clear every fault and the profile
  telemetry                    publish telemetry now
  status                       print the machine state
  quit                         say offline and exit`;

/** `--help`: the usage is the whole answer. */
export class HelpRequested extends Error {}

export function parseDispenserArgs(argv: string[]): DispenserSimOptions {
  const args = argv[0] === 'dispenser' ? argv.slice(1) : argv;
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      url: { type: 'string' },
      id: { type: 'string' },
      password: { type: 'string' },
      stock: { type: 'string' },
      faults: { type: 'string' },
      'telemetry-ms': { type: 'string' },
      'motor-ms': { type: 'string' },
      memory: { type: 'string' },
      fw: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) throw new HelpRequested(DISPENSER_USAGE);
  const problems: string[] = [];
  if (!values.url || !/^mqtts?:\/\/[^/]+/.test(values.url)) problems.push('--url must be like mqtt://127.0.0.1:1883');
  if (!values.id || !isDeviceId(values.id)) problems.push('--id must be a device id like disp-1');
  if (!values.password) problems.push('--password is required');
  const int = (name: string, v: string | undefined, def: number): number => {
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) problems.push(`--${name} must be a whole number ≥ 0`);
    return n;
  };
  const stock = int('stock', values.stock, 40);
  const telemetryIntervalMs = int('telemetry-ms', values['telemetry-ms'], 10_000);
  const motorMs = int('motor-ms', values['motor-ms'], 1500);
  try {
    parseFaultProfile(values.faults);
  } catch (e) {
    problems.push(`--faults: ${(e as Error).message}`);
  }
  if (problems.length > 0) throw new RangeError(`${problems.join('\n')}\n${DISPENSER_USAGE}`);
  const id = values.id!;
  return {
    url: values.url!,
    id,
    password: values.password!,
    stock,
    faults: values.faults ?? 'none',
    telemetryIntervalMs,
    motorMs,
    ...(values.fw ? { fw: values.fw } : {}),
    // The vend memory survives a restart of the simulator, as the device's flash would.
    memory: new JsonFileStore(values.memory ?? join(tmpdir(), 'waystation-sim', `${id}.vend-memory.json`)),
  };
}

function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Apply one console line; returns false on `quit`. Exported for tests. */
export function applyConsoleCommand(sim: DispenserSimulator, line: string, out: (s: string) => void = say): boolean {
  const [cmd, a, b] = line.trim().split(/\s+/);
  const onOff = (v: string | undefined): boolean | undefined => (v === 'on' ? true : v === 'off' ? false : undefined);
  const compartment = (v: string | undefined): Compartment | undefined => (COMPARTMENTS as readonly string[]).includes(v ?? '') ? (v as Compartment) : undefined;
  const conditions: Record<string, Condition> = {
    jam: 'jam',
    'drop-sensor': 'drop_sensor',
    heater: 'heater',
    compressor: 'compressor',
    'temp-sensor': 'temp_sensor',
  };
  switch (cmd) {
    case undefined:
    case '':
      return true;
    case 'help':
      out(HELP);
      return true;
    case 'quit':
    case 'exit':
      return false;
    case 'fault':
      if (!a || !isVendFault(a)) out(`unknown fault "${a ?? ''}"; one of ${VEND_FAULTS.join(', ')}`);
      else {
        sim.failNext(a);
        out(`next vend: ${a}`);
      }
      return true;
    case 'profile':
      try {
        sim.setProfile(a ?? 'none');
        out(`profile ${a ?? 'none'}`);
      } catch (e) {
        out((e as Error).message);
      }
      return true;
    case 'door':
      if (a !== 'open' && a !== 'closed') out('door open|closed');
      else sim.setDoor(a);
      return true;
    case 'temp': {
      const c = compartment(a);
      if (!c || (b !== 'auto' && !Number.isFinite(Number(b)))) out('temp hot|cold <°C>|auto');
      else sim.setTemperature(c, b === 'auto' ? undefined : Number(b));
      return true;
    }
    case 'stock': {
      const c = compartment(a);
      const n = Number(b);
      if (!c || !Number.isInteger(n) || n < 0) out('stock hot|cold <n>');
      else sim.setStock(c, n);
      return true;
    }
    case 'power-loss':
      sim.powerLoss(a ? Number(a) : 3000);
      return true;
    case 'disconnect':
      sim.disconnectNetwork(a ? Number(a) : 3000);
      return true;
    case 'clear':
      sim.clearFaults();
      out('cleared');
      return true;
    case 'telemetry':
      sim.publishTelemetry();
      return true;
    case 'status':
      out(
        JSON.stringify({
          connected: sim.connected,
          ...sim.telemetry(),
          dropped: sim.droppedTotal,
          motorRuns: sim.motorRuns,
          boots: sim.boots,
        }),
      );
      return true;
    default: {
      const condition = conditions[cmd];
      const on = onOff(a);
      if (condition && on !== undefined) {
        sim.setCondition(condition, on);
        out(`${condition} ${a}`);
      } else out(`unknown command "${line.trim()}"; type help`);
      return true;
    }
  }
}

/** Run the dispenser simulator until `quit`, SIGINT or SIGTERM. */
export async function runDispenserCli(argv: string[]): Promise<void> {
  let options: DispenserSimOptions;
  try {
    options = parseDispenserArgs(argv);
  } catch (e) {
    say((e as Error).message);
    if (!(e instanceof HelpRequested)) process.exitCode = 2;
    return;
  }
  const sim = new DispenserSimulator({
    ...options,
    log: (level, msg, data) => say(`[${options.id}] ${level} ${msg}${data ? ` ${JSON.stringify(data)}` : ''}`),
  });
  sim.on('vended', (r: { id: string; state: string; reason?: string }) => say(`[${options.id}] vend ${r.id}: ${r.state}${r.reason ? ` (${r.reason})` : ''}`));
  say(`[${options.id}] connecting to ${options.url}; type "help" for the fault console`);
  sim.start().catch((e: unknown) => say(`[${options.id}] ${(e as Error).message}; still trying`));

  await new Promise<void>((resolve) => {
    const rl = createInterface({ input: process.stdin, terminal: false });
    const finish = (): void => {
      rl.close();
      process.off('SIGINT', finish);
      process.off('SIGTERM', finish);
      resolve();
    };
    rl.on('line', (line) => {
      if (!applyConsoleCommand(sim, line)) finish();
    });
    // End of standard input (e.g. started by a script) does not stop the device.
    process.once('SIGINT', finish);
    process.once('SIGTERM', finish);
  });
  await sim.stop();
  say(`[${options.id}] stopped`);
}
