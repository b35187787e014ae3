/** A local HTTP receiver for notification tests: listens on port 0, records every request. */
import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface Received {
  url: string;
  body: Record<string, unknown>;
  at: number;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Answer with this status and body from now on. */
  answer(status: number, body?: unknown): void;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `ok` is what the channel kind answers when it takes a message (`{"errcode":0}` for the robots). */
export async function receiver(path: string, ok: unknown = { errcode: 0, errmsg: 'ok' }): Promise<Receiver> {
  let status = 200;
  let answer: unknown = ok;
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    void readBody(req).then((text) => {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        body = { unparsed: text };
      }
      received.push({ url: req.url ?? '', body, at: Date.now() });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    received,
    answer(s, b = ok) {
      status = s;
      answer = b;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
