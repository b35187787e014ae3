/**
 * Vitest global setup: the socat suites need `socat` to make pseudo-terminal pairs; install it
 * on a fresh machine (apt-get, as root or with passwordless sudo) before any test runs. A failed
 * install does not stop other suites: the socat suite itself then fails with the reason.
 */
import { ensureSocat } from '../../firmware-sim/lockboard/pty';

export default function setup(): void {
  try {
    ensureSocat();
  } catch (err) {
    process.stderr.write(`socat could not be installed (${(err as Error).message}); the socat suites will fail\n`);
  }
}
