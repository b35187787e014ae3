/**
 * Vitest global setup: the system tools some suites drive, installed on a fresh machine before
 * any test runs (apt-get, as root): `socat` for the pseudo-terminal suites, Debian's `chromium`
 * for the page tests (never a downloaded browser), `zbarimg` for reading QR codes back. A failed
 * install does not stop the other suites: the suites that need the tool then fail with the reason.
 */
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ensureSocat } from '../../firmware-sim/lockboard/pty.ts';

export const CHROMIUM = '/usr/bin/chromium';
/** `zbarimg` (Debian's zbar-tools) reads QR codes from screenshots in the page tests. */
export const ZBARIMG = '/usr/bin/zbarimg';

/** Install a Debian package when `binary` is missing, saying what it is for. */
function ensureDebian(binary: string, pkg: string, what: string): () => void {
  return () => {
    if (existsSync(binary)) return;
    process.stderr.write(`installing Debian ${pkg} for ${what} (apt-get) …\n`);
    execSync(`apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${pkg}`, {
      stdio: ['ignore', 'ignore', 'inherit'],
      shell: '/bin/sh',
      timeout: 900_000,
    });
  };
}

export default function setup(): void {
  for (const [tool, ensure] of [
    ['socat', ensureSocat],
    ['chromium', ensureDebian(CHROMIUM, 'chromium', 'the page tests')],
    ['zbar-tools', ensureDebian(ZBARIMG, 'zbar-tools', 'the QR tests')],
  ] as const) {
    try {
      ensure();
    } catch (err) {
      process.stderr.write(`${tool} could not be installed (${(err as Error).message}); the suites that need it will fail\n`);
    }
  }
}
