/**
 * A serial port that stays open: opened at start, watched, and reopened with backoff when it
 * fails or goes away (a USB adapter pulled and put back). Shared by the lock-bus wire and the
 * scanner reader, which only say what the bytes mean.
 */
import type { SerialPort } from 'serialport';
import type { Logger } from '../log.ts';
import { backoffMs, openSerialPort, type BindingInterface } from './lockbus/open-port.ts';

/**
 * What an installer should check when a serial port cannot be opened (docs/install.md): the
 * serialport bindings give no errno code, only the OS message, so this reads the message.
 */
export function serialOpenHint(path: string, err: unknown): { reason: string; hint: string } {
  const msg = err instanceof Error ? err.message : String(err);
  if (/No such file|ENOENT/i.test(msg))
    return { reason: 'no such port', hint: `check the USB/RS-485 cable and that ${path} exists; stable names are in /dev/serial/by-id/ (ls -l /dev/serial/by-id/)` };
  if (/Permission denied|EACCES|EPERM/i.test(msg))
    return { reason: 'permission denied', hint: `the station's user may not open ${path}: add it to the dialout group (usermod -aG dialout <user>) and restart it` };
  if (/lock|busy|EBUSY|temporarily unavailable/i.test(msg))
    return { reason: 'port in use', hint: `another program holds ${path} (is the station already running? systemctl stop waystation-edge first)` };
  if (/ioctl|baud/i.test(msg)) return { reason: 'not a serial port', hint: `${path} is not a serial device; check the path in the config (/dev/serial/by-id/…)` };
  return { reason: msg, hint: `check the cable, the path ${path} (/dev/serial/by-id/…) and that the user is in the dialout group` };
}

export interface ReopeningPortOptions {
  path: string;
  baudRate: number;
  binding?: BindingInterface | undefined;
  /** What the port is, for log lines ("lock bus", "scanner"). */
  name: string;
  log: Logger;
  reopenInitialMs: number;
  reopenMaxMs: number;
  onData: (chunk: Buffer) => void;
  /** The port is (again) open. */
  onOpen?: () => void;
  /** The port failed or went away; it is being reopened. */
  onLost?: (err: Error) => void;
  /** How often a port that stays unopenable is mentioned again (default 10 min); the retries in between log at debug. */
  remindEveryMs?: number;
}

export class ReopeningPort {
  private port: SerialPort | undefined;
  private reopenTimer: NodeJS.Timeout | undefined;
  private reopenAttempt = 0;
  private running = false;
  /** Times the port was reopened after a failure. */
  reopens = 0;
  /** Failed opens since the port was last open (the first is logged with what to check; the rest quietly). */
  private failedOpens = 0;
  private lastReason: string | undefined;
  private lastRemindMs = 0;
  /** Why the port is not open, with what to check; undefined while open (the start-up summary shows it). */
  problem: { reason: string; hint: string } | undefined;

  constructor(private readonly opts: ReopeningPortOptions) {}

  /** Open the port; when that fails, keep retrying in the background. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.open();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.reopenTimer) clearTimeout(this.reopenTimer);
    this.reopenTimer = undefined;
    const port = this.port;
    this.port = undefined;
    if (port) {
      port.removeAllListeners('data');
      port.removeAllListeners('close');
      if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
      port.removeAllListeners();
    }
  }

  get isOpen(): boolean {
    return !!this.port?.isOpen;
  }

  /** Write bytes; false when the port is not open. */
  write(bytes: Buffer): boolean {
    const port = this.port;
    if (!port?.isOpen) return false;
    port.write(bytes);
    return true;
  }

  private async open(): Promise<void> {
    try {
      const port = await openSerialPort({ path: this.opts.path, baudRate: this.opts.baudRate, binding: this.opts.binding });
      if (!this.running) {
        port.close();
        return;
      }
      this.port = port;
      this.reopenAttempt = 0;
      port.on('data', (chunk: Buffer) => this.opts.onData(chunk));
      port.on('error', (err) => {
        // A pulled adapter errors once and then closes; the close says it in plain words.
        if (/EIO|ENXIO|ENODEV|disconnected/i.test(err.message)) this.opts.log.debug({ err }, `${this.opts.name} port error (it is going away)`);
        else this.opts.log.warn({ err }, `${this.opts.name} port error`);
      });
      port.on('close', (err: Error | null) => this.lost(err ?? new Error('port closed')));
      this.opts.log.info(this.failedOpens > 0 ? `${this.opts.name} port open after ${this.failedOpens} failed attempts` : `${this.opts.name} port open`);
      this.failedOpens = 0;
      this.lastReason = undefined;
      this.problem = undefined;
      this.opts.onOpen?.();
    } catch (err) {
      this.failedOpens++;
      const h = serialOpenHint(this.opts.path, err);
      this.problem = h;
      // One clear line when the port cannot be opened (or the reason changes), then quiet
      // retries with backoff and a reminder now and then — not a raw error every second.
      const now = performance.now();
      const remind = now - this.lastRemindMs >= (this.opts.remindEveryMs ?? 600_000);
      if (h.reason !== this.lastReason || remind) {
        this.lastReason = h.reason;
        this.lastRemindMs = now;
        const again = this.failedOpens > 1 ? ` (still, after ${this.failedOpens} attempts)` : '';
        this.opts.log.error({ path: this.opts.path, reason: h.reason, attempts: this.failedOpens }, `cannot open ${this.opts.name} port ${this.opts.path}: ${h.reason}${again}; ${h.hint}. Retrying with backoff.`);
      } else {
        this.opts.log.debug({ path: this.opts.path, reason: h.reason, attempts: this.failedOpens, err }, `${this.opts.name} port still cannot be opened`);
      }
      this.scheduleReopen();
    }
  }

  private lost(err: Error): void {
    if (!this.running) return;
    this.opts.log.error({ path: this.opts.path, reason: err.message }, `${this.opts.name} port ${this.opts.path} went away (${err.message}); check the cable and /dev/serial/by-id/. Reopening with backoff.`);
    this.port?.removeAllListeners();
    this.port = undefined;
    this.problem = { reason: 'port went away', hint: `check the cable and /dev/serial/by-id/` };
    // The next failure to open (the adapter is gone) is the same story: say it once.
    this.lastReason = 'no such port';
    this.lastRemindMs = performance.now();
    this.opts.onLost?.(err);
    this.scheduleReopen();
  }

  private scheduleReopen(): void {
    if (!this.running || this.reopenTimer) return;
    const ms = backoffMs(this.reopenAttempt++, this.opts.reopenInitialMs, this.opts.reopenMaxMs);
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = undefined;
      this.reopens++;
      void this.open();
    }, ms);
    this.reopenTimer.unref?.();
  }
}
