/** Station records in the SQLite store (SPEC §12); the PostgreSQL store keeps the same table. */
import type { Database, Statement } from 'better-sqlite3';
import type { StationInput, StationPatch, StationRow } from './store.ts';
import { newStation, patched, STATION_COLUMNS, stationOf, stationValues } from './stationRows.ts';

type Row = Record<string, unknown>;
const asInt = (b: boolean) => (b ? 1 : 0);

export class SqliteStations {
  private readonly s: Record<string, Statement>;

  constructor(private readonly db: Database) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      insert: p(`INSERT INTO stations (${STATION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`),
      update: p('UPDATE stations SET token_sha256 = ?, timezone = ?, zone = ?, enabled = ?, maintenance_tokens = ?, devices = ?, updated_at = ?, config_applied = ? WHERE id = ?'),
      byId: p('SELECT * FROM stations WHERE id = ?'),
      byToken: p('SELECT * FROM stations WHERE token_sha256 = ?'),
      all: p('SELECT * FROM stations ORDER BY id'),
      pulled: p('UPDATE stations SET config_etag = ?, config_pulled_at = ? WHERE id = ?'),
    };
  }

  create(s: StationInput, at: number): StationRow | null {
    const row = newStation(s, at);
    return this.s.insert!.run(stationValues(row, asInt)).changes === 1 ? row : null;
  }

  get(id: string): StationRow | null {
    const r = this.s.byId!.get(id) as Row | undefined;
    return r ? stationOf(r) : null;
  }

  byToken(tokenSha256: string): StationRow | null {
    const r = this.s.byToken!.get(tokenSha256) as Row | undefined;
    return r ? stationOf(r) : null;
  }

  all(): StationRow[] {
    return (this.s.all!.all() as Row[]).map(stationOf);
  }

  update(id: string, patch: StationPatch, at: number): StationRow | null {
    return this.db.transaction(() => {
      const cur = this.get(id);
      return cur ? this.write(patched(cur, patch, at)) : null;
    })();
  }

  pulled(id: string, etag: string, at: number): void {
    this.s.pulled!.run(etag, at, id);
  }

  private write(next: StationRow): StationRow {
    const [id, ...rest] = stationValues(next, asInt);
    this.s.update!.run(...rest.filter((_, i) => i !== 6), id);
    return next;
  }
}
