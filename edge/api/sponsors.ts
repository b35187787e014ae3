/**
 * Who a restock may name as its sponsor (SPEC §17): the cloud's sponsor records once a config
 * document carried some, so every station writes the recorded names; the station config's
 * `sponsors` list until then (or when the cloud has none). `inRelay` is the sponsor whose relay
 * covers the station today, which the console picks first.
 */
import type { AppContext } from './context.ts';

export function restockSponsors(ctx: Pick<AppContext, 'config' | 'trust'>): { sponsors: string[]; inRelay: string | null } {
  const doc = ctx.trust.cloudConfig();
  const synced = doc?.sponsors?.map((s) => s.name) ?? [];
  if (synced.length === 0) return { sponsors: [...ctx.config.sponsors], inRelay: null };
  return { sponsors: synced, inRelay: doc?.sponsorToday?.name ?? null };
}
