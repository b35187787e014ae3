/**
 * The fleet's HTTP client: a `fetch` for the edge's Uploader over node:http with a keep-alive
 * agent per cloud instance (issue 14). The global fetch (undici, WHATWG streams, a Request, a
 * Headers list and an AbortSignal per call) cost the simulated stations' process about as much
 * CPU per upload as a cloud instance spends answering it, on the same two cores; the bytes sent
 * are the same (the Uploader builds the method, headers and body, as it does on a station).
 *
 * The answer is read whole before the promise settles (so an upload's time includes its body)
 * and handed back as a small Response-like object with what the Uploader reads of one — the
 * status, `json()`, `text()` and `clone()` — not a WHATWG Response.
 */
import { Agent, request, type IncomingHttpHeaders } from 'node:http';

/**
 * Connections to each instance, as a load balancer's connection limit per server (HAProxy's
 * `maxconn`): an upload beyond them waits in the fleet's process, unsent. Measured with 10,000
 * stations behind on this machine, the more uploads an instance held at once the worse: with
 * 6,000 connections each, 75,350 uploads had no answer within the Uploader's 30 s and were sent
 * again — often after the instance had stored them, so they came back as replays — with 2,000
 * 29,830, with 256 13,696 (the global fetch: 4,361; docs/performance.md).
 */
export const SOCKETS_PER_INSTANCE = 256;

export class FleetResponse {
  constructor(
    readonly status: number,
    private readonly body: Buffer,
    readonly rawHeaders: IncomingHttpHeaders,
  ) {}

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  get headers(): { get(name: string): string | null } {
    return { get: (name) => headerValue(this.rawHeaders[name.toLowerCase()]) };
  }

  async text(): Promise<string> {
    return this.body.toString('utf8');
  }

  async json(): Promise<unknown> {
    return JSON.parse(this.body.toString('utf8')) as unknown;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    return this.body.buffer.slice(this.body.byteOffset, this.body.byteOffset + this.body.byteLength) as ArrayBuffer;
  }

  clone(): FleetResponse {
    return new FleetResponse(this.status, this.body, this.rawHeaders);
  }
}

function headerValue(v: string | string[] | undefined): string | null {
  return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
}

function headersOf(h: RequestInit['headers']): Record<string, string> {
  if (!h) return {};
  if (h instanceof Headers) {
    const out: Record<string, string> = {};
    h.forEach((v, k) => (out[k] = v));
    return out;
  }
  if (Array.isArray(h)) return Object.fromEntries(h);
  return { ...(h as Record<string, string>) };
}

/** A `fetch` for requests to one instance (`origin`, http://host:port) over a keep-alive agent of up to `maxSockets` connections. */
export function instanceFetch(origin: string, maxSockets: number): { fetch: (path: string, init?: RequestInit) => Promise<FleetResponse>; close(): void } {
  const u = new URL(origin);
  // Up to `maxSockets` connections, every idle one kept (node's default keeps 256, so each burst
  // of uploads opened new ones); an upload beyond them waits for a free connection, and that
  // wait is part of its time.
  const agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  return {
    fetch: (path, init = {}) =>
      new Promise<FleetResponse>((resolve, reject) => {
        const body = init.body;
        if (body !== undefined && body !== null && typeof body !== 'string') throw new TypeError('the fleet client sends string bodies only');
        const headers = headersOf(init.headers);
        if (typeof body === 'string') headers['content-length'] = String(Buffer.byteLength(body));
        const req = request(
          { host: u.hostname, port: u.port, path, method: init.method ?? 'GET', headers, agent, ...(init.signal ? { signal: init.signal } : {}) },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve(new FleetResponse(res.statusCode ?? 0, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), res.headers)));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(typeof body === 'string' ? body : undefined);
      }),
    close: () => agent.destroy(),
  };
}
