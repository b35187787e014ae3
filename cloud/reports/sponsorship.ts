/**
 * Who supplied a bottle or a restock (SPEC §17), decided at report time so that a relay added
 * after the events arrived counts them: a sponsor named in the event counts for the sponsor
 * record of that name (names compared normalised), or stays a free-text name; an event without
 * one counts for the sponsor whose relay covers its station and service day, if any.
 */
import type { DayFactRow, RelayRow, SponsorRecord } from '../store/store.ts';

/** NFKC, whitespace runs to one space, trimmed, lower case: "农夫山泉  Nongfu" = "农夫山泉 nongfu". */
export function sponsorNameKey(name: string): string {
  return name.normalize('NFKC').replace(/\s+/gu, ' ').trim().toLowerCase();
}

/** A tidy display name: NFC, whitespace runs to one space, trimmed. */
export function tidySponsorName(name: string): string {
  return name.normalize('NFC').replace(/\s+/gu, ' ').trim();
}

export interface Attribution {
  /** The sponsor record, or null for a free-text name or none. */
  sponsorId: string | null;
  /** The record's name, the free-text name, or '' for none. */
  sponsor: string;
  /** How it was decided. */
  by: 'named' | 'relay' | 'none';
}

export class Sponsorship {
  private readonly byKey: Map<string, SponsorRecord>;
  private readonly byId: Map<string, SponsorRecord>;
  private readonly relaysByStation = new Map<string, RelayRow[]>();
  private readonly named = new Map<string, Attribution>();

  constructor(sponsors: readonly SponsorRecord[], relays: readonly RelayRow[]) {
    this.byKey = new Map(sponsors.map((s) => [s.nameKey, s]));
    this.byId = new Map(sponsors.map((s) => [s.id, s]));
    for (const r of relays) {
      let list = this.relaysByStation.get(r.stationId);
      if (!list) this.relaysByStation.set(r.stationId, (list = []));
      list.push(r);
    }
  }

  /** The relay covering a station on a service day (relays of one station never overlap). */
  relayOn(stationId: string, day: string): RelayRow | null {
    for (const r of this.relaysByStation.get(stationId) ?? []) if (r.from <= day && day <= r.to) return r;
    return null;
  }

  /** The sponsor in relay at a station on a day, as `{id, name}`. */
  inRelay(stationId: string, day: string): { id: string; name: string } | null {
    const r = this.relayOn(stationId, day);
    const s = r ? this.byId.get(r.sponsorId) : undefined;
    return s ? { id: s.id, name: s.name } : null;
  }

  /**
   * As `of`, when the database already found the relay covering an unnamed fact's station and
   * day (`relaySponsorId`, null for none): the range report's aggregated rows.
   */
  ofRelay(sponsor: string, relaySponsorId: string | null): Attribution {
    if (sponsor !== '') return this.of({ stationId: '', day: '', sponsor });
    const s = relaySponsorId === null ? undefined : this.byId.get(relaySponsorId);
    return s ? { sponsorId: s.id, sponsor: s.name, by: 'relay' } : { sponsorId: null, sponsor: '', by: 'none' };
  }

  of(f: Pick<DayFactRow, 'stationId' | 'day' | 'sponsor'>): Attribution {
    if (f.sponsor !== '') {
      // A report sees few distinct names: normalise each once.
      let a = this.named.get(f.sponsor);
      if (!a) {
        const s = this.byKey.get(sponsorNameKey(f.sponsor));
        a = s ? { sponsorId: s.id, sponsor: s.name, by: 'named' } : { sponsorId: null, sponsor: f.sponsor, by: 'named' };
        this.named.set(f.sponsor, a);
      }
      return a;
    }
    const s = this.inRelay(f.stationId, f.day);
    return s ? { sponsorId: s.id, sponsor: s.name, by: 'relay' } : { sponsorId: null, sponsor: '', by: 'none' };
  }
}
