// Dashboard times (SPEC §17, issue 15): every time in Asia/Shanghai, or in the station's own
// zone where a station's time is shown, and always labelled with the zone — whatever zone the
// browser runs in. Intl.DateTimeFormat with an explicit timeZone; never toLocaleString().
//
//   times.dateTime(ms, tz?)        '2026-12-04 08:15 (北京时间 UTC+8)'   ('—' for none)
//   times.dateTime(ms, tz, { seconds: true })
//   times.clock(ms, tz?)           '08:15:03 (北京时间 UTC+8)'
//   times.zoneLabel(tz?, ms?)      '北京时间 UTC+8' / 'Beijing time, UTC+8' / 'Asia/Urumqi UTC+6'
//   times.dayOf(ms, tz?)           '2026-12-04'  (the calendar day there)
//   times.isoWeekOf('2026-12-04')  '2026-W49';  times.weekMonday('2026-W49') '2026-11-30'
//   times.addDays('2026-12-04', -1) '2026-12-03'
// Needs i18n.js (loaded before it) for the label's language.
'use strict';

const times = (() => {
  const DEFAULT_TZ = 'Asia/Shanghai';
  const formats = new Map();
  const format = (tz, opts) => {
    const key = `${tz}|${JSON.stringify(opts)}`;
    if (!formats.has(key)) formats.set(key, new Intl.DateTimeFormat('en-US', { timeZone: tz, ...opts }));
    return formats.get(key);
  };
  const parts = (ms, tz) => {
    const p = {};
    const f = format(tz, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    for (const { type, value } of f.formatToParts(new Date(ms))) p[type] = value;
    return p;
  };

  /** 'UTC+8', 'UTC+5:45', 'UTC' for the zone at that instant (offsets move with summer time). */
  function offset(tz, ms = Date.now()) {
    const name = format(tz, { timeZoneName: 'shortOffset' }).formatToParts(new Date(ms)).find((p) => p.type === 'timeZoneName')?.value ?? '';
    return name.replace(/^GMT/, 'UTC');
  }

  function zoneLabel(tz = DEFAULT_TZ, ms = Date.now()) {
    if (tz === DEFAULT_TZ) return t('time.beijing', { offset: offset(tz, ms) });
    return `${tz} ${offset(tz, ms)}`;
  }

  function dateTime(ms, tz = DEFAULT_TZ, { seconds = false } = {}) {
    if (!ms) return '—';
    const p = parts(ms, tz);
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}${seconds ? `:${p.second}` : ''} (${zoneLabel(tz, ms)})`;
  }

  function clock(ms, tz = DEFAULT_TZ) {
    const p = parts(ms, tz);
    return `${p.hour}:${p.minute}:${p.second} (${zoneLabel(tz, ms)})`;
  }

  function dayOf(ms, tz = DEFAULT_TZ) {
    const p = parts(ms, tz);
    return `${p.year}-${p.month}-${p.day}`;
  }

  // Calendar arithmetic on 'YYYY-MM-DD' service days, in UTC so no zone can shift a day.
  const toUtc = (day) => Date.UTC(Number(day.slice(0, 4)), Number(day.slice(5, 7)) - 1, Number(day.slice(8, 10)));
  const fromUtc = (ms) => new Date(ms).toISOString().slice(0, 10);
  const addDays = (day, n) => fromUtc(toUtc(day) + n * 86_400_000);

  /** ISO 8601 week of a day: the week of its Thursday. */
  function isoWeekOf(day) {
    const d = new Date(toUtc(day));
    const dow = (d.getUTCDay() + 6) % 7; // Monday 0
    const thursday = new Date(d.getTime() + (3 - dow) * 86_400_000);
    const year = thursday.getUTCFullYear();
    const week = 1 + Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * 86_400_000));
    return `${year}-W${String(week).padStart(2, '0')}`;
  }

  function weekMonday(week) {
    const year = Number(week.slice(0, 4));
    const n = Number(week.slice(6));
    const jan4 = new Date(Date.UTC(year, 0, 4));
    const week1Monday = jan4.getTime() - ((jan4.getUTCDay() + 6) % 7) * 86_400_000;
    return fromUtc(week1Monday + (n - 1) * 7 * 86_400_000);
  }

  return { DEFAULT_TZ, offset, zoneLabel, dateTime, clock, dayOf, addDays, isoWeekOf, weekMonday };
})();

i18n.register({
  zh: {
    'time.beijing': '北京时间 {offset}',
    'time.note': '本页所有时间均为北京时间（Asia/Shanghai，{offset}）；站点的时间按该站点所在时区显示并注明。',
  },
  en: {
    'time.beijing': 'Beijing time, {offset}',
    'time.note': 'All times on this page are Beijing time (Asia/Shanghai, {offset}); a station\'s own times are in its time zone and say which.',
  },
});
