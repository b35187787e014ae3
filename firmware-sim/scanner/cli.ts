/**
 * `npm run sim -- scanner --path <serial path>` (SPEC §11): every line typed on standard input
 * is scanned as a code, ended by CR (or `--terminator lf|crlf`).
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { openSerialLink } from '../lockboard/link.ts';
import { ScannerSim, type Terminator } from './sim.ts';

export const SCANNER_USAGE = `usage: scanner --path <serial path> [--terminator cr|lf|crlf] [--faults <profile>] [--baud 9600]
  reads codes from standard input, one per line, and sends each to the serial path
  --faults  none | flaky[@seed] | random:<rate>[@seed] | split,repeat,oversized,mixed_terminators`;

export async function runScannerCli(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      path: { type: 'string' },
      terminator: { type: 'string', default: 'cr' },
      faults: { type: 'string', default: 'none' },
      baud: { type: 'string', default: '9600' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help || !values.path) {
    process.stderr.write(`${SCANNER_USAGE}\n`);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const terminator = values.terminator.toUpperCase();
  if (terminator !== 'CR' && terminator !== 'LF' && terminator !== 'CRLF') throw new Error(`--terminator must be cr, lf or crlf`);
  const link = await openSerialLink(values.path, Number(values.baud));
  const sim = new ScannerSim(link, { terminator: terminator as Terminator, faults: values.faults });
  const rl = createInterface({ input: process.stdin, terminal: false });
  for await (const line of rl) {
    if (line.length > 0) await sim.scan(line);
  }
  // Let the last bytes leave before closing the port.
  await new Promise((r) => setTimeout(r, 50));
  await link.close();
}
