/**
 * "Since when" for the console: the health body says what each device is now, the ledger says
 * when it became so (`device.online` / `device.offline` / `device.service` / `device.fault`
 * events, SPEC §10). Read incrementally from the last seq seen, so each snapshot reads only the
 * new events; a device whose events were pruned shows no time rather than a wrong one.
 */
import type Database from 'better-sqlite3';

const TYPES = ['device.online', 'device.offline', 'device.service', 'device.fault', 'device.recovered'];

interface Seen {
  stateTs: number | null;
  faults: Map<string, number>;
}

export class DeviceSince {
  private lastSeq = 0;
  private readonly byDevice = new Map<string, Seen>();
  private readonly query: Database.Statement;

  constructor(db: Database.Database) {
    this.query = db.prepare(`SELECT seq, type, ts, data FROM events WHERE seq > ? AND type IN (${TYPES.map(() => '?').join(', ')}) ORDER BY seq LIMIT 10000`);
  }

  private update(): void {
    for (;;) {
      const rows = this.query.all(this.lastSeq, ...TYPES) as Array<{ seq: number; type: string; ts: number; data: string }>;
      for (const r of rows) {
        this.lastSeq = r.seq;
        const d = JSON.parse(r.data) as { deviceId?: string; fault?: string };
        if (!d.deviceId) continue;
        let s = this.byDevice.get(d.deviceId);
        if (!s) this.byDevice.set(d.deviceId, (s = { stateTs: null, faults: new Map() }));
        if (r.type === 'device.fault' && d.fault) s.faults.set(d.fault, r.ts);
        else if (r.type === 'device.recovered' && d.fault) s.faults.delete(d.fault);
        else s.stateTs = r.ts;
      }
      if (rows.length < 10000) return;
    }
  }

  /** The health body with `since` (state) and `faultSince` on each device. */
  annotate(body: Record<string, unknown>): Record<string, unknown> {
    this.update();
    const devices = (body.devices as Array<{ id: string; state: string; faults: string[] }>).map((d) => {
      const s = this.byDevice.get(d.id);
      const faultSince = Object.fromEntries(d.faults.flatMap((f) => (s?.faults.has(f) ? [[f, s.faults.get(f)!]] : [])));
      const times = Object.values(faultSince);
      // Degraded since its oldest current fault; otherwise since the last online/offline/service change.
      const since = d.state === 'degraded' && times.length > 0 ? Math.min(...times) : (s?.stateTs ?? null);
      return { ...d, since, faultSince };
    });
    return { ...body, devices };
  }
}
