/**
 * Hazard reports (SPEC §17): riders as street observers (线索上报人) report what they see from
 * the rider page, proved by their device-bound code; the office lists them, looks at the photo
 * and moves each one forward with a note. What a rider can make the cloud store is bounded: the
 * text (1,000 characters), the place (200), one photo (`riders.hazardPhotoMaxBytes`, JPEG or
 * PNG by its magic bytes, not by what the page claims), `riders.hazardsPerDay` reports in any
 * 24 hours.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../../protocol/index.ts';
import type { CloudConfig } from '../config.ts';
import { apiError } from '../errors.ts';
import type { CloudStore, HazardCategory, HazardPlace, HazardRow, HazardState } from '../store/store.ts';

export const HAZARD_TEXT_MAX = 1000;
export const HAZARD_PLACE_MAX = 200;
export const PHOTO_TYPES = ['image/jpeg', 'image/png'] as const;
export type PhotoType = (typeof PHOTO_TYPES)[number];

export interface HazardRequest {
  category: HazardCategory;
  text: string;
  place?: { text?: string; lat?: number; lon?: number };
  photo?: { type: PhotoType; data: string };
}

const DAY_MS = 86_400_000;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The image type its first bytes say, or null: JPEG `FF D8 FF`, PNG `89 50 4E 47 0D 0A 1A 0A`. */
export function sniffImage(b: Buffer): PhotoType | null {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  return null;
}

/** Base64 of at most `maxBytes`, as a ceiling on the JSON body of a filing. */
export const base64Length = (maxBytes: number) => Math.ceil(maxBytes / 3) * 4;

/** Reports older than `riders.keepDays` are deleted at a filing at most this often per instance. */
const PRUNE_EVERY_MS = 3_600_000;

export class HazardReports {
  private prunedAt = -Infinity;

  constructor(
    private readonly store: CloudStore,
    private readonly config: CloudConfig,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** File one report of `riderId` (already proved by its code). Nothing is stored on any refusal. */
  async file(riderId: string, r: HazardRequest): Promise<HazardRow> {
    const text = r.text.trim();
    if (text.length === 0) throw apiError('bad_request', 'say in a few words what you saw (text is empty)');
    if ([...text].length > HAZARD_TEXT_MAX) throw apiError('bad_request', `the text is longer than ${HAZARD_TEXT_MAX} characters; shorten it`);
    const place = placeOf(r.place);
    const photo = r.photo ? this.photoOf(r.photo) : null;
    const now = this.clock.now();
    const res = await this.store.fileHazard(
      { id: `h-${randomBytes(8).toString('hex')}`, riderId, category: r.category, text, place, photo, at: now },
      { since: now - DAY_MS, max: this.config.riders.hazardsPerDay },
    );
    if (res.kind === 'limited') {
      throw apiError('rate_limited', `you sent ${res.count} reports in the last 24 hours, the most one rider may; for something urgent call 110 / 12345`);
    }
    this.logger.info({ riderId, id: res.hazard.id, category: r.category, photoBytes: photo?.data.length ?? 0 }, 'hazard reported');
    // Kept as long as the notice says (riders.keepDays), then deleted with their photos.
    if (now - this.prunedAt >= PRUNE_EVERY_MS) {
      this.prunedAt = now;
      const gone = await this.store.pruneHazards(now - this.config.riders.keepDays * DAY_MS);
      if (gone > 0) this.logger.info({ gone }, 'hazard reports past riders.keepDays deleted');
    }
    return res.hazard;
  }

  private photoOf(p: { type: PhotoType; data: string }): { type: PhotoType; data: Buffer } {
    const max = this.config.riders.hazardPhotoMaxBytes;
    if (p.data.length > base64Length(max)) throw apiError('photo_too_large', `the photo is larger than ${Math.floor(max / 1024)} KiB; the page makes it smaller, so send it from the rider page`);
    if (p.data.length % 4 !== 0 || !BASE64.test(p.data)) throw apiError('photo_invalid', 'photo.data must be base64');
    const data = Buffer.from(p.data, 'base64');
    if (data.length > max) throw apiError('photo_too_large', `the photo is larger than ${Math.floor(max / 1024)} KiB`);
    const type = sniffImage(data);
    if (type === null) throw apiError('photo_invalid', 'the photo is not a JPEG or PNG image');
    if (type !== p.type) throw apiError('photo_invalid', `the photo is ${type}, not ${p.type}`);
    return { type, data };
  }

  list(filter: { state?: HazardState; riderId?: string; limit: number }): Promise<HazardRow[]> {
    return this.store.hazards(filter);
  }

  async get(id: string): Promise<HazardRow> {
    const h = await this.store.hazard(id);
    if (!h) throw apiError('not_found', 'no such hazard report');
    return h;
  }

  async photo(id: string): Promise<{ type: string; data: Buffer }> {
    const p = await this.store.hazardPhoto(id);
    if (!p) throw apiError('not_found', 'this report has no photo');
    return p;
  }

  async move(id: string, state: Exclude<HazardState, 'new'>, note: string | null, by: string): Promise<HazardRow> {
    const r = await this.store.changeHazardState(id, { state, note, by, at: this.clock.now() });
    if (r.kind === 'not_found') throw apiError('not_found', 'no such hazard report');
    if (r.kind === 'bad_transition') throw apiError('hazard_state', `this report is ${r.from} already; it can only move forward (new → acknowledged → resolved)`);
    this.logger.info({ id, state, by }, 'hazard report state changed');
    return r.hazard;
  }
}

function placeOf(p: HazardRequest['place']): HazardPlace | null {
  if (!p) return null;
  const text = p.text?.trim() ? p.text.trim() : null;
  if (text !== null && [...text].length > HAZARD_PLACE_MAX) throw apiError('bad_request', `the place is longer than ${HAZARD_PLACE_MAX} characters`);
  if ((p.lat === undefined) !== (p.lon === undefined)) throw apiError('bad_request', 'give both lat and lon, or neither');
  if (text === null && p.lat === undefined) return null;
  return { text, lat: p.lat ?? null, lon: p.lon ?? null };
}

/** What the rider sees of their own report: no office names, no rider id. */
export function riderHazardView(h: HazardRow): Record<string, unknown> {
  return { id: h.id, category: h.category, text: h.text, place: h.place, hasPhoto: h.photo !== null, state: h.state, note: h.note, createdAt: h.createdAt, updatedAt: h.updatedAt };
}

/** What the office sees: everything but the photo's bytes, with where to fetch them. */
export function officeHazardView(h: HazardRow): Record<string, unknown> {
  return { ...h, photo: h.photo ? { ...h.photo, url: `/v1/hazards/${h.id}/photo` } : null };
}
