/**
 * Weekly figures for a seeded data set, checked against figures computed here from the raw
 * events (SPEC §9 definitions), without the cloud's code.
 */
import { seededRandom } from '../../firmware-sim/faults.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StationEvent } from '../../protocol/index.ts';
import { chain, type EventSpec } from './helpers.ts';
import { harness, type Harness } from './appHarness.ts';

const STATIONS = ['dn-001', 'dn-002', 'jd-003'];
const FIRST_MONDAY = Date.UTC(2026, 10, 2); // 2026-11-02 is the Monday of ISO week 2026-W45
const WEEKS = 6;


interface Raw {
  stationId: string;
  weekIndex: number;
  type: 'checkin' | 'claim.committed';
  riderId: string;
  compartment?: 'hot' | 'cold';
  sponsor?: string;
}

function dataset() {
  const rnd = seededRandom(48);
  const raw: Raw[] = [];
  const specs = new Map<string, EventSpec[]>(STATIONS.map((s) => [s, []]));
  for (let dayIndex = 0; dayIndex < WEEKS * 7; dayIndex++) {
    const dayUtc = new Date(FIRST_MONDAY + dayIndex * 86_400_000).toISOString().slice(0, 10);
    for (const stationId of STATIONS) {
      const n = Math.floor(rnd() * 6);
      for (let k = 0; k < n; k++) {
        const riderId = `r${Math.floor(rnd() * 25)}`;
        const checkin = rnd() < 0.35;
        // Local times across the whole day, including just after midnight and just before it:
        // the service day (not the UTC date) decides the week.
        const minutes = [5, 30, 720, 1410, 1435][Math.floor(rnd() * 5)]!;
        const ts = Date.parse(`${dayUtc}T00:00:00+08:00`) + minutes * 60_000;
        const sponsor = ['bank-a', 'bank-b', undefined][Math.floor(rnd() * 3)];
        const compartment = rnd() < 0.5 ? 'hot' : 'cold';
        raw.push({ stationId, weekIndex: Math.floor(dayIndex / 7), type: checkin ? 'checkin' : 'claim.committed', riderId, compartment, ...(sponsor ? { sponsor } : {}) });
        specs.get(stationId)!.push(
          checkin
            ? { type: 'checkin', ts, day: dayUtc, data: { riderId, windowFrom: dayUtc, windowTo: dayUtc } }
            : {
                type: 'claim.committed',
                ts,
                day: dayUtc,
                data: { claimId: `c${raw.length}`, riderId, compartment, dispenserId: 'disp-1', ...(sponsor ? { sponsor } : {}) },
              },
        );
        // Health events between, which the weekly report must ignore.
        if (rnd() < 0.1) specs.get(stationId)!.push({ type: 'station.heartbeat', ts, day: dayUtc, data: { uptimeS: 1, backlog: 0 } });
      }
    }
  }
  return { raw, specs };
}

function expected(raw: Raw[], w: number) {
  // "First check-in ever": anywhere in the network (riders move between stations).
  const firstWeek = new Map<string, number>();
  for (const r of raw) if (r.type === 'checkin') firstWeek.set(r.riderId, Math.min(firstWeek.get(r.riderId) ?? Infinity, r.weekIndex));
  const stations = STATIONS.map((stationId) => {
    const at = raw.filter((r) => r.stationId === stationId);
    const inWeek = at.filter((r) => r.weekIndex === w);
    const checkins = inWeek.filter((r) => r.type === 'checkin');
    const claims = inWeek.filter((r) => r.type === 'claim.committed');
    const checkedIn = new Set(checkins.map((r) => r.riderId));
    return {
      stationId,
      checkins: checkins.length,
      riders: new Set(inWeek.map((r) => r.riderId)).size,
      newRiders: [...checkedIn].filter((id) => firstWeek.get(id) === w).length,
      returningRiders: [...checkedIn].filter((id) => firstWeek.get(id)! < w).length,
      bottles: { hot: claims.filter((r) => r.compartment === 'hot').length, cold: claims.filter((r) => r.compartment === 'cold').length },
    };
  });
  const checkedInWeek = (k: number) => new Set(raw.filter((r) => r.type === 'checkin' && r.weekIndex === k).map((r) => r.riderId));
  const now = checkedInWeek(w);
  const lapsed = [...checkedInWeek(w - 1)].filter((id) => !now.has(id)).sort();
  const sponsors = new Map<string, number>();
  for (const r of raw) if (r.weekIndex === w && r.type === 'claim.committed') sponsors.set(r.sponsor ?? '', (sponsors.get(r.sponsor ?? '') ?? 0) + 1);
  return { stations, lapsed, sponsors: [...sponsors].sort(([a], [b]) => a.localeCompare(b)) };
}

describe('weekly check-in report (SPEC §9)', () => {
  let h: Harness;
  const { raw, specs } = dataset();
  const logs = new Map<string, StationEvent[]>([...specs].map(([s, sp]) => [s, chain(sp)]));

  beforeAll(async () => {
    h = await harness();
    // Upload the stations interleaved, in uneven batches.
    const cursors = new Map(STATIONS.map((s) => [s, 0]));
    let size = 7;
    while ([...cursors].some(([s, c]) => c < logs.get(s)!.length)) {
      for (const s of STATIONS) {
        const c = cursors.get(s)!;
        const batch = logs.get(s)!.slice(c, c + size);
        if (batch.length === 0) continue;
        const r = await h.upload(s, batch);
        expect(r.statusCode).toBe(200);
        cursors.set(s, c + batch.length);
      }
      size = (size * 3) % 50 + 1;
    }
  });
  afterAll(async () => {
    await h.close();
  });

  for (let w = 0; w < WEEKS; w++) {
    const week = `2026-W${45 + w}`;
    it(`weekly figures for ${week} match figures computed independently from the raw events`, async () => {
      const r = await h.admin('GET', `/v1/reports/weekly?week=${week}`);
      expect(r.statusCode).toBe(200);
      const report = r.json();
      const want = expected(raw, w);
      expect(report.week).toBe(week);
      expect(report.stations.map(({ otherBottles: _, conflicts: __, ...s }: { otherBottles: number; conflicts: number }) => s)).toEqual(want.stations);
      // Station-scoped zones (the default policy): no conflicts are kept.
      expect(report.stations.map((s: { conflicts: number }) => s.conflicts)).toEqual(STATIONS.map(() => 0));
      expect(report.lapsedRiders).toEqual(want.lapsed);
      expect(report.sponsors.filter((s: { bottles: number }) => s.bottles > 0).map((s: { sponsor: string; bottles: number }) => [s.sponsor, s.bottles])).toEqual(
        want.sponsors,
      );
      for (const s of STATIONS) expect(report.completeThrough[s]).toBe(logs.get(s)!.at(-1)!.ts);
    });
  }

  it('uses a data set that exercises every figure', () => {
    const all = Array.from({ length: WEEKS }, (_, w) => expected(raw, w));
    const sum = (f: (s: ReturnType<typeof expected>['stations'][number]) => number) => all.flatMap((e) => e.stations).reduce((a, s) => a + f(s), 0);
    expect(sum((s) => s.newRiders)).toBeGreaterThan(0);
    expect(sum((s) => s.returningRiders)).toBeGreaterThan(0);
    expect(sum((s) => s.riders - s.newRiders - s.returningRiders)).toBeGreaterThan(0); // riders who only took water
    expect(all.some((e) => e.lapsed.length > 0)).toBe(true);
    // Riders who moved: first checked in at one station, later at another, where they are not new.
    const moved = [...new Set(raw.map((r) => r.riderId))].some((id) => {
      const cs = raw.filter((r) => r.riderId === id && r.type === 'checkin');
      const first = Math.min(...cs.map((r) => r.weekIndex));
      return cs.some((r) => r.weekIndex > first && !cs.some((q) => q.stationId === r.stationId && q.weekIndex === first));
    });
    expect(moved).toBe(true);
  });

  it('narrows to one station with &station=, with that station’s lapsed riders', async () => {
    const report = (await h.admin('GET', '/v1/reports/weekly?week=2026-W47&station=dn-002')).json();
    expect(report.stations.map((s: { stationId: string }) => s.stationId)).toEqual(['dn-002']);
    expect(Object.keys(report.completeThrough)).toEqual(['dn-002']);
    const at = raw.filter((r) => r.stationId === 'dn-002' && r.type === 'checkin');
    const w1 = new Set(at.filter((r) => r.weekIndex === 1).map((r) => r.riderId));
    const w2 = new Set(at.filter((r) => r.weekIndex === 2).map((r) => r.riderId));
    expect(report.lapsedRiders).toEqual([...w1].filter((id) => !w2.has(id)).sort());
  });

  it('CSV matches JSON, one table per file, in English with lang=en', async () => {
    const json = (await h.admin('GET', '/v1/reports/weekly?week=2026-W48')).json();
    const table = async (name: string) => {
      const res = await h.admin('GET', `/v1/reports/weekly?week=2026-W48&format=csv&table=${name}&lang=en`);
      expect(res.headers['content-type']).toMatch(/^text\/csv/);
      expect(res.headers['content-disposition']).toContain(`waystation-weekly-2026-W48-${name}.csv`);
      const [header, ...lines] = res.body.replace(/^\uFEFF/, '').trim().split('\r\n').map((l) => l.split(','));
      return lines.map((l) => Object.fromEntries(header!.map((c, i) => [c, l[i]!])));
    };
    const stations = await table('stations');
    expect(stations.map((r) => ({
      stationId: r.station,
      checkins: Number(r['check-ins']),
      riders: Number(r.riders),
      newRiders: Number(r['new riders']),
      returningRiders: Number(r['returning riders']),
      bottles: { hot: Number(r['hot bottles']), cold: Number(r['cold bottles']) },
      otherBottles: Number(r['other bottles']),
      conflicts: Number(r.conflicts),
    }))).toEqual(json.stations);
    for (const r of stations) {
      expect(r['time zone']).toBe('Asia/Shanghai');
      const ms = json.completeThrough[r.station!];
      // Local time in the station's zone: UTC+8, no DST.
      expect(r['complete through (local time)']).toBe(ms ? new Date(ms + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ') : '');
    }
    expect((await table('lapsed')).map((r) => r['rider id'])).toEqual(json.lapsedRiders);
    expect((await table('sponsors')).map((r) => [r.sponsor, Number(r['bottles given'])])).toEqual(
      json.sponsors.map((s: { sponsor: string; bottles: number }) => [s.sponsor, s.bottles]),
    );
  });

  it('CSV opens in a Chinese Excel as it is: a byte-order mark, then Chinese headers', async () => {
    const res = await h.admin('GET', '/v1/reports/weekly?week=2026-W48&format=csv');
    const bytes = res.rawPayload;
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(bytes.subarray(3).toString('utf8').split('\r\n')[0]).toBe(
      '周,站点,签到次数,骑手人数,新骑手,回访骑手,热饮（瓶）,冷饮（瓶）,其他（瓶）,跨站冲突,数据完整至（当地时间）,时区',
    );
    expect((await h.admin('GET', '/v1/reports/weekly?week=2026-W48&format=csv&table=nope')).statusCode).toBe(400);
  });

  it('gives a 12-week trend whose last week agrees with the weekly report', async () => {
    const trend = (await h.admin('GET', '/v1/reports/trend?week=2026-W50&weeks=12')).json();
    expect(trend.weeks).toHaveLength(12);
    expect(trend.weeks[0].week).toBe('2026-W39');
    const last = trend.weeks.at(-1);
    const report = (await h.admin('GET', '/v1/reports/weekly?week=2026-W50')).json();
    expect(last.checkins).toBe(report.totals.checkins);
    expect(last.riders).toBe(report.totals.riders);
  });

  it('refuses a week that does not exist', async () => {
    const r = await h.admin('GET', '/v1/reports/weekly?week=2026-W60');
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toBe('bad_week');
    expect((await h.admin('GET', '/v1/reports/weekly?week=2026-W48&station=zz-9')).json().error).toBe('unknown_station');
  });
});
