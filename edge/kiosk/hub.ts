/**
 * Server-sent events for the kiosk screen (`GET /v1/kiosk/events`): each code the serial
 * scanner reads (SPEC §7) is pushed to the page, which then checks the rider in, dispenses
 * or opens a locker through the rider API. A comment line every `keepAliveMs` keeps proxies
 * and the browser from closing an idle stream.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from '../log.ts';

export interface KioskHubOptions {
  logger: Logger;
  keepAliveMs?: number;
}

export class KioskHub {
  private readonly clients = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;
  private nextId = 1;

  constructor(private readonly opts: KioskHubOptions) {}

  start(): void {
    this.timer = setInterval(() => this.broadcast(': keep-alive\n\n'), this.opts.keepAliveMs ?? 15_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const c of this.clients) c.end();
    this.clients.clear();
  }

  /** Take over a response as an event stream until the client goes away. */
  attach(res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
  }

  /** A code read by the scanner. */
  publishScan(code: string): void {
    this.publish('scan', { code });
  }

  publish(event: string, data: Record<string, unknown>): void {
    const id = this.nextId++;
    // JSON never contains a raw newline, so one `data:` line carries it (SSE framing).
    this.broadcast(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    this.opts.logger.debug({ event, clients: this.clients.size }, 'kiosk event');
  }

  get clientCount(): number {
    return this.clients.size;
  }

  private broadcast(frame: string): void {
    for (const c of this.clients) {
      if (!c.writableEnded) c.write(frame);
    }
  }
}
