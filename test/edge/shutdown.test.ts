/**
 * Shutdown (issue 4): once the station starts stopping, a request that still arrives (on a
 * keep-alive connection, or injected) is refused with the API's own 503 `shutting_down` — a
 * stable code, counted like every refusal — and the claim in flight finishes.
 */
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { call } from './http.ts';
import { startHarness } from '../helpers/station.ts';

describe('shutdown', () => {
  it('refuses requests that arrive while stopping with 503 shutting_down, and lets the claim in flight finish', async () => {
    const h = await startHarness({ locks: 0 });
    const credential = await h.credential('rider-shutdown');
    expect((await call(h.station.httpUrl, 'POST', '/v1/checkins', { credential })).status).toBe(201);
    h.dispenser!.failNext('late_event'); // the answer takes 2 s; the claim is in flight during the stop
    const inFlight = call(h.station.httpUrl, 'POST', '/v1/claims', { credential, compartment: 'cold' });
    await new Promise((r) => setTimeout(r, 100));
    const { finish, answer } = await halfSentRequest(h.station.httpUrl, '/v1/checkins', JSON.stringify({ credential }));
    const stopping = h.stop();
    await new Promise((r) => setTimeout(r, 50));
    // A request whose headers were half sent before the stop began, finished after it.
    finish();
    const late = await answer;
    expect(late).toMatch(/^HTTP\/1\.1 503/);
    expect(late).toContain('"error":"shutting_down"');
    const claim = await inFlight;
    // Finished one way or the other, never lost: committed, or unknown when the drain timed out.
    expect([201, 504]).toContain(claim.status);
    await stopping;
  });
});

/** Open a connection and send a POST's first header lines; `finish()` sends the rest. */
async function halfSentRequest(base: string, path: string, body: string): Promise<{ finish: () => void; answer: Promise<string> }> {
  const { hostname, port } = new URL(base);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((r) => socket.once('connect', () => r()));
  let text = '';
  socket.on('data', (d) => (text += d.toString()));
  const answer = new Promise<string>((resolve) => {
    socket.once('close', () => resolve(text));
    socket.once('error', () => resolve(text));
  });
  socket.write(`POST ${path} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\n`);
  return { finish: () => socket.write(`Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`), answer };
}
