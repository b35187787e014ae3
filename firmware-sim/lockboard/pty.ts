/**
 * A pseudo-terminal pair made with `socat -d -d pty,raw,echo=0 pty,raw,echo=0`: what one end
 * writes the other reads, through the kernel's tty layer, so the real serialport binding can
 * talk to a simulator. The two /dev/pts paths are parsed from socat's stderr (never guessed).
 * Note: a pty does not enforce a baud rate; bytes move as fast as the kernel copies them.
 */
import { execSync, spawn, type ChildProcess } from 'node:child_process';

export function hasSocat(): boolean {
  try {
    execSync('command -v socat', { stdio: 'ignore', shell: '/bin/sh' });
    return true;
  } catch {
    return false;
  }
}

/** Install socat with apt-get when it is missing (root, or passwordless sudo). */
export function ensureSocat(): void {
  if (hasSocat()) return;
  const sudo = process.getuid?.() === 0 ? '' : 'sudo -n ';
  execSync(`${sudo}apt-get update -qq && ${sudo}env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq socat`, {
    stdio: 'inherit',
    shell: '/bin/sh',
    timeout: 300_000,
  });
  if (!hasSocat()) throw new Error('socat is still missing after apt-get install');
}

export interface PtyPair {
  /** One end (give it to the simulator). */
  device: string;
  /** The other end (give it to the driver). */
  host: string;
  close(): Promise<void>;
}

export function openPtyPair(timeoutMs = 5000): Promise<PtyPair> {
  const child: ChildProcess = spawn('socat', ['-d', '-d', 'pty,raw,echo=0', 'pty,raw,echo=0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise<PtyPair>((resolve, reject) => {
    const paths: string[] = [];
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`socat gave no pty pair within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      stderr += text;
      for (const m of text.matchAll(/PTY is (\/dev\/\S+)/g)) paths.push(m[1]!);
      if (paths.length >= 2 && /starting data transfer loop/.test(stderr)) {
        clearTimeout(timer);
        child.stderr!.removeAllListeners('data');
        child.stderr!.resume(); // keep draining so socat never blocks on a full pipe
        resolve({
          device: paths[0]!,
          host: paths[1]!,
          close: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null || child.signalCode !== null) return done();
              child.once('exit', () => done());
              child.kill('SIGTERM');
            }),
        });
      }
    });
  });
}
