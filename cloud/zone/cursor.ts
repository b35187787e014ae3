/**
 * The zone feed's cursor (SPEC §13): opaque to stations, a string they send back as `after`.
 * `z1.<zone>.<zseq>`: the zone's counter up to which the station holds the feed;
 * `b1.<zone>.<head>.<zseq>`: part way through a bootstrap taken at `head` (SPEC §13 "a station
 * also learns … what it needs"), delivered up to `zseq`. The zone is base64url, so any zone
 * name fits and the cursor stays one URL-safe token.
 */
export type Cursor =
  | { kind: 'bootstrap_start' }
  | { kind: 'live'; zone: string; zseq: number }
  | { kind: 'bootstrap'; zone: string; head: number; zseq: number };

const NUM = /^(0|[1-9]\d{0,15})$/;
const B64 = /^[A-Za-z0-9_-]{1,128}$/;

const enc = (zone: string) => Buffer.from(zone, 'utf8').toString('base64url');

export function liveCursor(zone: string, zseq: number): string {
  return `z1.${enc(zone)}.${zseq}`;
}

export function bootstrapCursor(zone: string, head: number, zseq: number): string {
  return `b1.${enc(zone)}.${head}.${zseq}`;
}

/** The cursor a station sent, or null for garbage (answered 400 `bad_cursor`). */
export function parseCursor(after: string | undefined): Cursor | null {
  if (after === undefined || after === '') return { kind: 'bootstrap_start' };
  const parts = after.split('.');
  const zoneOf = (b: string | undefined): string | null => {
    if (!b || !B64.test(b)) return null;
    const zone = Buffer.from(b, 'base64url').toString('utf8');
    return zone.length > 0 && zone.length <= 64 && enc(zone) === b ? zone : null;
  };
  const n = (s: string | undefined): number | null => (s !== undefined && NUM.test(s) && Number.isSafeInteger(Number(s)) ? Number(s) : null);
  if (parts[0] === 'z1' && parts.length === 3) {
    const zone = zoneOf(parts[1]);
    const zseq = n(parts[2]);
    return zone !== null && zseq !== null ? { kind: 'live', zone, zseq } : null;
  }
  if (parts[0] === 'b1' && parts.length === 4) {
    const zone = zoneOf(parts[1]);
    const head = n(parts[2]);
    const zseq = n(parts[3]);
    return zone !== null && head !== null && zseq !== null && zseq <= head ? { kind: 'bootstrap', zone, head, zseq } : null;
  }
  return null;
}
