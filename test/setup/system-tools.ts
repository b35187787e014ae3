/**
 * Vitest global setup: the system tools some suites drive, installed on a fresh machine before
 * any test runs (apt-get, as root): `socat` for the pseudo-terminal suites, Debian's `chromium`
 * for the page tests (never a downloaded browser), `zbarimg` for reading QR codes back. A failed install does not stop the other
 * suites: the suites that need the tool then fail with the reason.
 */
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ensureSocat } from '../../firmware-sim/lockboard/pty.ts';

export const CHROMIUM = '/usr/bin/chromium';

function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  process.stderr.write('installing Debian chromium for the page tests (apt-get) …\n');
  execSync('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium', {
    stdio: ['ignore', 'ignore', 'inherit'],
    shell: '/bin/sh',
    timeout: 900_000,
  });
}

/** `zbarimg` (Debian's zbar-tools) reads QR codes from screenshots in the page tests. */
export const ZBARIMG = '/usr/bin/zbarimg';

function ensureZbar(): void {
  if (existsSync(ZBARIMG)) return;
  process.stderr.write('installing zbar-tools for the QR tests (apt-get) …\n');
  execSync('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zbar-tools', {
    stdio: ['ignore', 'ignore', 'inherit'],
    shell: '/bin/sh',
    timeout: 900_000,
  });
}

export default function setup(): void {
  for (const [tool, ensure] of [
    ['socat', ensureSocat],
    ['chromium', ensureChromium],
    ['zbar-tools', ensureZbar],
  ] as const) {
    try {
      ensure();
    } catch (err) {
      process.stderr.write(`${tool} could not be installed (${(err as Error).message}); the suites that need it will fail\n`);
    }
  }
}
