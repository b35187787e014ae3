// Station comparison (issue 15): the stations of the chosen week or range side by side, one
// horizontal bar per station (bottles stacked hot / cold), sorted by the chosen figure. Bars
// are rows, so a phone shows every station at full width without scrolling sideways.
'use strict';

i18n.register({
  zh: {
    'compare.title': '站点对比', 'compare.metric': '比较', 'compare.sort': '排序',
    'compare.m.bottles': '发放瓶数（热饮 / 冷饮）', 'compare.m.checkins': '签到次数', 'compare.m.riders': '骑手人数',
    'compare.m.newRiders': '新骑手', 'compare.m.returningRiders': '回访骑手',
    'compare.s.desc': '从多到少', 'compare.s.asc': '从少到多', 'compare.s.id': '按站点编号',
    'compare.hot': '热饮', 'compare.cold': '冷饮',
    'compare.bottlesValue': '{total} 瓶（热饮 {hot} · 冷饮 {cold}）',
    'compare.value.checkins': '{n} 次', 'compare.value.riders': '{n} 人', 'compare.value.newRiders': '{n} 人', 'compare.value.returningRiders': '{n} 人',
  },
  en: {
    'compare.title': 'Stations compared', 'compare.metric': 'Compare', 'compare.sort': 'Sort',
    'compare.m.bottles': 'bottles given (hot / cold)', 'compare.m.checkins': 'check-ins', 'compare.m.riders': 'riders',
    'compare.m.newRiders': 'new riders', 'compare.m.returningRiders': 'returning riders',
    'compare.s.desc': 'most first', 'compare.s.asc': 'fewest first', 'compare.s.id': 'by station id',
    'compare.hot': 'hot', 'compare.cold': 'cold',
    'compare.bottlesValue': '{total} bottles (hot {hot} · cold {cold})',
    'compare.value.checkins': '{n} check-ins', 'compare.value.riders': '{n} riders', 'compare.value.newRiders': '{n} new', 'compare.value.returningRiders': '{n} returning',
  },
});

let compareStations = [];

const metricOf = (s, metric) => (metric === 'bottles' ? s.bottles.hot + s.bottles.cold : s[metric]);

/** The stations in the order the select asks for; ties and `id` order by station id. */
function compareOrder(stations, metric, sort) {
  const byId = (a, b) => (a.stationId < b.stationId ? -1 : a.stationId > b.stationId ? 1 : 0);
  const sorted = [...stations];
  if (sort === 'id') return sorted.sort(byId);
  const dir = sort === 'asc' ? 1 : -1;
  return sorted.sort((a, b) => dir * (metricOf(a, metric) - metricOf(b, metric)) || byId(a, b));
}

function renderCompare() {
  const metric = $('compare-metric').value;
  const sort = $('compare-sort').value;
  const list = $('compare-bars');
  const legend = $('compare-legend');
  legend.replaceChildren();
  if (metric === 'bottles') {
    for (const seg of ['hot', 'cold']) {
      const li = document.createElement('li');
      const sw = document.createElement('span');
      sw.className = `swatch seg-${seg}`;
      const name = document.createElement('span');
      name.textContent = t(`compare.${seg}`);
      li.append(sw, name);
      legend.append(li);
    }
  }
  legend.hidden = metric !== 'bottles';
  list.replaceChildren();
  const stations = compareOrder(compareStations, metric, sort);
  if (stations.length === 0) {
    const li = document.createElement('li');
    li.className = 'empty';
    li.textContent = t('common.none');
    list.append(li);
    return;
  }
  const max = Math.max(1, ...stations.map((s) => metricOf(s, metric)));
  for (const s of stations) {
    const li = document.createElement('li');
    li.dataset.station = s.stationId;
    li.dataset.value = String(metricOf(s, metric));
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = s.stationId;
    const track = document.createElement('span');
    track.className = 'track';
    const segments = metric === 'bottles' ? [['hot', s.bottles.hot], ['cold', s.bottles.cold]] : [['one', s[metric]]];
    for (const [seg, v] of segments) {
      const bar = document.createElement('span');
      bar.className = `bar seg-${seg}`;
      bar.style.width = `${(100 * v) / max}%`;
      track.append(bar);
    }
    const value = document.createElement('span');
    value.className = 'value';
    value.textContent = metric === 'bottles'
      ? t('compare.bottlesValue', { total: s.bottles.hot + s.bottles.cold, hot: s.bottles.hot, cold: s.bottles.cold })
      : t(`compare.value.${metric}`, { n: s[metric] });
    track.setAttribute('aria-label', `${s.stationId}: ${value.textContent}`);
    track.setAttribute('role', 'img');
    li.append(name, value, track);
    list.append(li);
  }
}

document.addEventListener('report:loaded', (ev) => {
  compareStations = ev.detail?.stations || [];
  renderCompare();
});
$('compare-metric').addEventListener('change', renderCompare);
$('compare-sort').addEventListener('change', renderCompare);
