/**
 * Live health for the maintenance console (`GET /v1/maintenance/events`, SSE): one snapshot
 * of `GET /v1/health` is taken when a device changes (DeviceHealth.onChange), after every
 * maintenance action (`nudge`), and on a slow tick for what has no event (lockers' timers,
 * claims), and pushed as `event: health` only when it differs from the last one sent. Nothing
 * runs while no console is connected, and the number of streams is bounded (`maxClients`), so
 * a client cannot make the station hold more than that many sockets open.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from '../log.ts';

export interface ConsoleHubOptions {
  /** The health body (stationHealth). */
  snapshot: () => Record<string, unknown>;
  /** Subscribe to device changes; answers the unsubscribe. */
  onDeviceChange: (listener: () => void) => () => void;
  logger: Logger;
  tickMs?: number;
  keepAliveMs?: number;
  maxClients?: number;
  /** Coalesce a burst of changes into one push. */
  debounceMs?: number;
}

/** The snapshot without what changes every second by itself (time, uptime, disk, db size). */
export function comparable(body: Record<string, unknown>): string {
  const station = { ...(body.station as Record<string, unknown> | undefined) };
  delete station.now;
  delete station.uptimeS;
  delete station.diskFreeBytes;
  delete station.dbBytes;
  delete station.sync;
  return JSON.stringify({ ...body, station });
}

export class ConsoleHub {
  private readonly clients = new Set<ServerResponse>();
  private tick: NodeJS.Timeout | undefined;
  private keepAlive: NodeJS.Timeout | undefined;
  private pending: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private last = '';
  private nextId = 1;
  private stopped = false;

  constructor(private readonly opts: ConsoleHubOptions) {}

  get clientCount(): number {
    return this.clients.size;
  }

  hasRoom(): boolean {
    return !this.stopped && this.clients.size < (this.opts.maxClients ?? 16);
  }

  /** Take over a response as an event stream; the first frame is the full health body. */
  attach(res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 3000\n\n');
    this.clients.add(res);
    res.on('close', () => {
      this.clients.delete(res);
      if (this.clients.size === 0) this.idle();
    });
    if (this.clients.size === 1) this.wake();
    const body = this.opts.snapshot();
    this.last = comparable(body);
    this.send(res, body);
  }

  /** Something changed (an action was taken): push soon if the health body differs. */
  nudge(): void {
    if (this.clients.size === 0 || this.pending || this.stopped) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.pushIfChanged();
    }, this.opts.debounceMs ?? 50);
    this.pending.unref();
  }

  stop(): void {
    this.stopped = true;
    this.idle();
    for (const c of this.clients) c.end();
    this.clients.clear();
  }

  private wake(): void {
    this.unsubscribe = this.opts.onDeviceChange(() => this.nudge());
    this.tick = setInterval(() => this.pushIfChanged(), this.opts.tickMs ?? 2000);
    this.tick.unref();
    this.keepAlive = setInterval(() => this.broadcast(': keep-alive\n\n'), this.opts.keepAliveMs ?? 15_000);
    this.keepAlive.unref();
  }

  private idle(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const t of [this.tick, this.keepAlive]) if (t) clearInterval(t);
    if (this.pending) clearTimeout(this.pending);
    this.tick = this.keepAlive = this.pending = undefined;
  }

  private pushIfChanged(): void {
    if (this.clients.size === 0) return;
    let body: Record<string, unknown>;
    try {
      body = this.opts.snapshot();
    } catch (e) {
      this.opts.logger.error({ err: e }, 'console: cannot take a health snapshot');
      return;
    }
    const key = comparable(body);
    if (key === this.last) return;
    this.last = key;
    for (const c of this.clients) this.send(c, body);
  }

  private send(res: ServerResponse, body: Record<string, unknown>): void {
    // JSON never contains a raw newline, so one `data:` line carries it (SSE framing).
    if (!res.writableEnded) res.write(`id: ${this.nextId++}\nevent: health\ndata: ${JSON.stringify(body)}\n\n`);
  }

  private broadcast(frame: string): void {
    for (const c of this.clients) if (!c.writableEnded) c.write(frame);
  }
}
