/** Small HTTP helpers for the edge tests: real requests to a station listening on port 0. */

export interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
  text: string;
}

export async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  opts: { headers?: Record<string, string>; raw?: string | Uint8Array; token?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  let payload: string | Uint8Array | undefined;
  if (opts.raw !== undefined) {
    payload = opts.raw;
    headers['content-type'] ??= 'application/json';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['content-type'] ??= 'application/json';
  }
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const res = await fetch(`${base}${path}`, { method, headers, ...(payload !== undefined ? { body: payload as BodyInit } : {}) });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    /* not JSON (metrics, pages) */
  }
  return { status: res.status, body: parsed, headers: res.headers, text };
}
