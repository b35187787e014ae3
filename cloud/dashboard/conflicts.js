// Dashboard: zone conflicts (SPEC §13) — riders granted a bottle at two stations of one zone on
// one service day while the stations could not hear each other. In the page's language (i18n.js);
// each claim's time in its station's own time zone, labelled (time.js); how old the station's
// zone feed was when it granted. For the week in the week picker (a new week refreshes every
// loader) and the zone typed here. Data is written with textContent only.
'use strict';

const conflictsView = (() => {
  i18n.register({
    zh: {
      'conflicts.title': '跨站冲突',
      'conflicts.hint': '同一骑手同一天在同一片区的两个站点都领到了水（站点断网时无法互相知晓）。',
      'conflicts.zone': '片区',
      'conflicts.zonePh': '全部片区',
      'conflicts.col.day': '服务日', 'conflicts.col.zone': '片区', 'conflicts.col.rider': '骑手', 'conflicts.col.claims': '领取记录',
      'conflicts.count': '{week} · {n} 起', 'conflicts.countOne': '{week} · 1 起',
      'conflicts.empty': '本周没有冲突',
      'conflicts.claim': '{station} · {time} · 数据延迟 {lag}',
      'conflicts.lag.unknown': '未知', 'conflicts.lag.s': '{n} 秒', 'conflicts.lag.min': '{n} 分钟', 'conflicts.lag.h': '{n} 小时',
    },
    en: {
      'conflicts.title': 'Zone conflicts',
      'conflicts.hint': 'A rider took a bottle at two stations of one zone on one day, while the stations could not hear each other.',
      'conflicts.zone': 'Zone',
      'conflicts.zonePh': 'all zones',
      'conflicts.col.day': 'Service day', 'conflicts.col.zone': 'Zone', 'conflicts.col.rider': 'Rider', 'conflicts.col.claims': 'Claims',
      'conflicts.count': '{week} · {n} cases', 'conflicts.countOne': '{week} · 1 case',
      'conflicts.empty': 'No conflicts this week',
      'conflicts.claim': '{station} · {time} · feed lag {lag}',
      'conflicts.lag.unknown': 'unknown', 'conflicts.lag.s': '{n} s', 'conflicts.lag.min': '{n} min', 'conflicts.lag.h': '{n} h',
    },
  });

  /** What was last loaded; rendering reads only this, so the toggle redraws at once. */
  const state = { report: null, error: null };

  /** How stale a station's zone feed was when it granted, in words. */
  function feedLag(ms) {
    if (ms === undefined || ms === null) return t('conflicts.lag.unknown');
    if (ms < 60_000) return t('conflicts.lag.s', { n: Math.round(ms / 1000) });
    if (ms < 3_600_000) return t('conflicts.lag.min', { n: Math.round(ms / 60_000) });
    return t('conflicts.lag.h', { n: (ms / 3_600_000).toFixed(1) });
  }

  /** One line per granted claim: station, its local time (labelled), feed lag. */
  function claimsCell(claims) {
    const ul = document.createElement('ul');
    ul.className = 'claims';
    for (const c of claims) {
      const li = document.createElement('li');
      li.textContent = t('conflicts.claim', {
        station: c.stationId,
        time: times.dateTime(c.ts, stationZone(c.stationId), { seconds: true }),
        lag: feedLag(c.feedLagMs),
      });
      ul.append(li);
    }
    return ul;
  }

  function render() {
    const r = state.report;
    const count = $('conflicts-count');
    count.className = state.error ? 'error' : '';
    if (state.error) count.textContent = errorText(state.error);
    else if (!r) count.textContent = '';
    else count.textContent = t(r.conflicts.length === 1 ? 'conflicts.countOne' : 'conflicts.count', { week: r.week, n: r.conflicts.length });
    fillTable('conflicts-table', r?.conflicts || [], (c) => [c.day, c.zone, c.riderId, claimsCell(c.claims)]);
    if (r && r.conflicts.length === 0) document.querySelector('#conflicts-table tbody td').textContent = t('conflicts.empty');
  }

  async function load() {
    const q = new URLSearchParams();
    if ($('week').value) q.set('week', $('week').value);
    const zone = $('conflicts-zone').value.trim();
    if (zone) q.set('zone', zone);
    try {
      state.report = await (await api(`/v1/reports/conflicts?${q}`)).json();
      state.error = null;
    } catch (e) {
      Object.assign(state, { report: null, error: e instanceof ApiFailure ? e.code : 'internal' });
      render();
      throw e;
    }
    render();
  }

  addLoader(load);
  // The zone is this section's own filter: only the list reloads.
  $('conflicts-zone').addEventListener('change', () => load().catch(() => undefined));
  i18n.onChange(() => { if (state.report || state.error) render(); });
  return { load, render };
})();
