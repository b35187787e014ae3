/**
 * Open a serial port with the platform binding, or with an injected one (tests pass the
 * simulator's mock line binding). Shared by the lock-bus and scanner drivers.
 */
import { SerialPort } from 'serialport';

/**
 * The slice of a serialport binding the drivers need to accept one. Declared locally: the
 * `@serialport/*` packages publish `exports` without a `types` condition, so their
 * declarations do not resolve under this project's module resolution.
 */
export interface BindingInterface {
  list(): Promise<unknown[]>;
  open(options: { path: string; baudRate: number }): Promise<unknown>;
}

export async function openSerialPort(opts: { path: string; baudRate: number; binding?: BindingInterface | undefined }): Promise<SerialPort> {
  // `SerialPort` takes the auto-detected binding unless the options name another one; its type
  // omits `binding`, the constructor honours it (serialport 13: `{ binding: Detected, ...options }`).
  const options = { path: opts.path, baudRate: opts.baudRate, autoOpen: false, ...(opts.binding ? { binding: opts.binding } : {}) };
  const port = new SerialPort(options as ConstructorParameters<typeof SerialPort>[0]);
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  return port;
}

/** Exponential backoff with a little jitter: 1×, 2×, 4× … `initialMs`, capped at `maxMs`. */
export function backoffMs(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 20));
  return Math.round(base * (0.8 + 0.4 * random()));
}
