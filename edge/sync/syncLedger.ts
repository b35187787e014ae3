/**
 * The part of the station ledger (edge/ledger/ledger.ts) the sync jobs use. The real Ledger
 * satisfies it; naming it here keeps the uploader's needs visible.
 */
import type { StationEvent } from '../../protocol/index.ts';

export interface SyncLedger {
  eventsAfter(seq: number, limit: number): StationEvent[];
  head(): { seq: number; hash: string };
  ackedSeq(): number;
  /** Monotonic: a lower value is ignored. */
  setAckedSeq(seq: number): void;
  backlog(): number;
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  /** Called after each committed event; returns an unsubscribe function. */
  onEvent?(listener: (e: StationEvent) => void): () => void;
}

/** How the edge reaches its cloud (SPEC §11 `cloud` key). */
export interface CloudLink {
  stationId: string;
  /** Base URL, e.g. `https://cloud.example`. */
  cloudUrl: string;
  /** The station token (sent as a bearer; never logged). */
  token: string;
}

export interface SyncError {
  code: string;
  message: string;
  at: number;
}

/** `fetch` with a timeout and an outer abort signal (stop()). */
export async function fetchWithTimeout(
  fetchFn: typeof fetch,
  url: string,
  init: RequestInit,
  timeoutMs: number,
  outer: AbortSignal,
): Promise<Response> {
  const ctl = new AbortController();
  const onAbort = () => ctl.abort(outer.reason);
  outer.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => ctl.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  try {
    return await fetchFn(url, { ...init, signal: ctl.signal });
  } finally {
    clearTimeout(timer);
    outer.removeEventListener('abort', onAbort);
  }
}

export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}
