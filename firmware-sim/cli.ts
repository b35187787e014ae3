/**
 * `npm run sim -- <device> ...` / `waystation-sim <device> ...` (SPEC §11): lockboard,
 * dispenser, scanner. Each device's options are documented by `<device> --help`.
 */
import { runLockboardCli } from './lockboard/cli.ts';
import { runScannerCli } from './scanner/cli.ts';

const USAGE = `usage: waystation-sim <lockboard|dispenser|scanner> [options]   (<device> --help for its options)`;

async function main(argv: string[]): Promise<void> {
  const [device, ...rest] = argv;
  switch (device) {
    case 'lockboard':
      return runLockboardCli(rest);
    case 'scanner':
      return runScannerCli(rest);
    case 'dispenser': {
      // Loaded only when asked for (it brings the MQTT client); the dispenser simulator's entry
      // point lives with it: runDispenserCli(argv) takes the options after the device word.
      const { runDispenserCli } = await import('./dispenser/cli.ts');
      return runDispenserCli(rest);
    }
    default:
      process.stderr.write(`${USAGE}\n`);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`waystation-sim: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
