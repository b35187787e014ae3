// Dashboard reports (SPEC §9, §17): the week (ISO week) or any date range, per station with
// totals, bottles per sponsor, riders to reach out to, the trend chart (12 weeks, or the range's
// days), CSV download and the printed report. Service days are Beijing days (Asia/Shanghai).
// Each load announces `report:loaded` on document (detail: the report) for the comparison.
'use strict';

i18n.register({
  zh: {
    'nav.mode': '报表', 'nav.mode.week': '按周', 'nav.mode.range': '按日期区间',
    'nav.week': '周', 'nav.from': '开始日期', 'nav.to': '结束日期', 'nav.thisMonth': '本月', 'nav.lastMonth': '上月',
    'nav.station': '站点', 'nav.allStations': '全部站点',
    'nav.zones': '片区', 'nav.zonesRangeOnly': '片区（仅按日期区间）', 'nav.zone': '片区 {zone} 的全部站点', 'nav.csvTable': '导出表格', 'nav.csv': '下载 CSV', 'nav.print': '打印报表',
    'csv.stations': '各站点', 'csv.sponsors': '赞助方', 'csv.lapsed': '待联系骑手',
    'csv.failed': '下载失败：{message}',
    'report.weekTitle': '每周签到', 'report.rangeTitle': '日期区间签到',
    'report.weekRange': '{week}：{from} 至 {to}（周一至周日，按北京时间的服务日）',
    'report.rangeRange': '{from} 至 {to}，共 {days} 天（按北京时间的服务日）',
    'report.rangeMissing': '这个云端还不能按日期区间出报表（没有 /v1/reports/range）：请先用“按周”查看，或请管理员升级云端。',
    'report.rangeInvalid': '请选择开始和结束日期，开始日期不能晚于结束日期，然后再看。',
    'report.total': '合计（骑手按人去重）',
    'col.station': '站点', 'col.checkins': '签到次数', 'col.riders': '骑手人数', 'col.new': '新骑手', 'col.returning': '回访骑手',
    'col.hot': '热饮（瓶）', 'col.cold': '冷饮（瓶）', 'col.syncedThrough': '数据完整至（站点时间）',
    'col.sponsor': '赞助方', 'col.bottles': '发放（瓶）', 'col.restocked': '补货（瓶）',
    'sponsors.title': '各赞助方的瓶数', 'sponsors.unnamed': '（未注明赞助方）',
    'lapsed.title': '未再签到的骑手编号', 'lapsed.hint': '上周签到、本周未签到',
    'lapsed.weekOnly': '这个云端的日期区间报表不列出待联系骑手：请切换到“按周”查看。',
    'lapsed.rangeHint': '{from} 至 {to} 来过、本区间没有来',
    'csv.days': '每日', 'nav.xlsx': '下载 Excel（全部表格）',
    'trend.weeksTitle': '近 {n} 周趋势', 'trend.daysTitle': '每日趋势',
    'trend.x.weeks': '周（标注该周周一的日期，北京时间）', 'trend.x.days': '日期（服务日，北京时间）',
    'trend.y.weeks': '数量（次 / 人 / 瓶）', 'trend.y.days': '数量（次 / 瓶）',
    'trend.chartName': '{title}：{series}',
    'series.checkins': '签到次数', 'series.riders': '骑手人数', 'series.bottles': '发放瓶数',
    'unit.times': '次', 'unit.people': '人', 'unit.bottles': '瓶',
    'chart.legend': '{name}（{unit}）',
    'print.head': '骑手驿站报表 · {period} · 站点：{station} · 打印于 {time}',
  },
  en: {
    'nav.mode': 'Report', 'nav.mode.week': 'By week', 'nav.mode.range': 'By date range',
    'nav.week': 'Week', 'nav.from': 'From', 'nav.to': 'To', 'nav.thisMonth': 'This month', 'nav.lastMonth': 'Last month',
    'nav.station': 'Station', 'nav.allStations': 'all stations',
    'nav.zones': 'Zones', 'nav.zonesRangeOnly': 'Zones (by date range only)', 'nav.zone': 'all stations of zone {zone}', 'nav.csvTable': 'Table to export', 'nav.csv': 'Download CSV', 'nav.print': 'Print the report',
    'csv.stations': 'per station', 'csv.sponsors': 'sponsors', 'csv.lapsed': 'riders to reach out to',
    'csv.failed': 'download failed: {message}',
    'report.weekTitle': 'Weekly check-ins', 'report.rangeTitle': 'Check-ins over a date range',
    'report.weekRange': '{week}: {from} to {to} (Monday to Sunday, service days in Beijing time)',
    'report.rangeRange': '{from} to {to}, {days} days (service days in Beijing time)',
    'report.rangeMissing': 'This cloud cannot report a date range yet (no /v1/reports/range): use "By week" for now, or ask the administrator to upgrade the cloud.',
    'report.rangeInvalid': 'Choose a start and an end date, the start not after the end, to see the range.',
    'report.total': 'all (riders counted once)',
    'col.station': 'Station', 'col.checkins': 'Check-ins', 'col.riders': 'Riders', 'col.new': 'New', 'col.returning': 'Returning',
    'col.hot': 'Hot bottles', 'col.cold': 'Cold bottles', 'col.syncedThrough': 'Complete through (station time)',
    'col.sponsor': 'Sponsor', 'col.bottles': 'Bottles given', 'col.restocked': 'Restocked',
    'sponsors.title': 'Bottles per sponsor', 'sponsors.unnamed': '(no sponsor named)',
    'lapsed.title': 'Riders who did not check in again (ids)', 'lapsed.hint': 'checked in last week, not this week',
    'lapsed.weekOnly': 'This cloud\'s range report does not list riders to reach out to: switch to "By week".',
    'lapsed.rangeHint': 'came {from} to {to}, not in this range',
    'csv.days': 'day by day', 'nav.xlsx': 'Download Excel (all tables)',
    'trend.weeksTitle': '{n}-week trend', 'trend.daysTitle': 'Day by day',
    'trend.x.weeks': 'week (the date of its Monday, Beijing time)', 'trend.x.days': 'date (service day, Beijing time)',
    'trend.y.weeks': 'count (check-ins / riders / bottles)', 'trend.y.days': 'count (check-ins / bottles)',
    'trend.chartName': '{title}: {series}',
    'series.checkins': 'Check-ins', 'series.riders': 'Riders', 'series.bottles': 'Bottles given',
    'unit.times': 'check-ins', 'unit.people': 'riders', 'unit.bottles': 'bottles',
    'chart.legend': '{name}',
    'print.head': 'Waystation report · {period} · station: {station} · printed {time}',
  },
});

const TREND_WEEKS = 12;
/** What the report view last loaded; rendering reads only this, so the toggle redraws at once. */
const reportState = { mode: 'week', report: null, chart: null, message: null };

const reportMode = () => document.querySelector('input[name="mode"]:checked').value;

function reportQuery() {
  const q = new URLSearchParams();
  if (reportMode() === 'week') {
    if ($('week').value) q.set('week', $('week').value);
  } else {
    q.set('from', $('range-from').value);
    q.set('to', $('range-to').value);
  }
  // `zone:<name>` picks a zone's stations (the range report only, SPEC §17).
  const scope = $('station').value;
  if (scope.startsWith('zone:')) q.set('zone', scope.slice(5));
  else if (scope) q.set('station', scope);
  return q;
}

/** Stations, then zones (a zone is offered in the range view only: the week has no zone scope). */
function fillStationChoice() {
  const sel = $('station');
  const have = new Set(Array.from(sel.options, (o) => o.value));
  for (const s of stationList) if (!have.has(s.id)) sel.add(new Option(s.id, s.id));
  let group = sel.querySelector('optgroup');
  const zones = [...new Set(stationList.map((s) => s.zone).filter(Boolean))].sort();
  if (!group && zones.length) {
    group = document.createElement('optgroup');
    group.setAttribute('data-i18n-label', 'nav.zones');
    group.label = t('nav.zones');
    sel.append(group);
  }
  for (const z of zones) {
    if (have.has(`zone:${z}`)) continue;
    const o = new Option(t('nav.zone', { zone: z }), `zone:${z}`);
    o.dataset.zone = z;
    group.append(o);
  }
  const week = reportMode() === 'week';
  for (const o of sel.querySelectorAll('option[data-zone]')) {
    o.disabled = week;
    o.textContent = t('nav.zone', { zone: o.dataset.zone });
  }
  if (group) group.label = t(week ? 'nav.zonesRangeOnly' : 'nav.zones');
  if (week && sel.value.startsWith('zone:')) sel.value = '';
}

/** A month's first and last day, `offset` months from the one `day` is in. */
function monthOf(day, offset = 0) {
  const y = Number(day.slice(0, 4));
  const m = Number(day.slice(5, 7)) - 1 + offset;
  const first = new Date(Date.UTC(y, m, 1)).toISOString().slice(0, 10);
  const last = new Date(Date.UTC(y, m + 1, 0)).toISOString().slice(0, 10);
  return { first, last };
}

async function loadReport() {
  fillStationChoice();
  const mode = reportMode();
  reportState.mode = mode;
  reportState.message = null;
  reportState.report = null;
  reportState.chart = null;
  try {
    if (mode === 'week') {
      const report = await (await api(`/v1/reports/weekly?${reportQuery()}`)).json();
      if (!$('week').value) $('week').value = report.week;
      const q = reportQuery();
      q.set('week', report.week);
      q.set('weeks', String(TREND_WEEKS));
      const { weeks } = await (await api(`/v1/reports/trend?${q}`)).json();
      reportState.report = report;
      reportState.chart = { kind: 'weeks', points: weeks };
    } else if (!$('range-from').value || !$('range-to').value || $('range-from').value > $('range-to').value) {
      reportState.message = { key: 'report.rangeInvalid' };
    } else {
      const report = await (await api(`/v1/reports/range?${reportQuery()}`)).json();
      reportState.report = report;
      reportState.chart = { kind: 'days', points: report.days || [] };
    }
  } catch (e) {
    // What the office asked for cannot be shown (dates, a range too long, a role): say so in
    // place of the report. A cloud without the range report answers the route's own 404.
    if (!(e instanceof ApiFailure) || e.status < 400 || e.status >= 500) throw e;
    reportState.message = mode === 'range' && e.code === 'not_found' ? { key: 'report.rangeMissing' } : { code: e.code };
  }
  renderReport();
}

function renderReport() {
  const { report, mode, message } = reportState;
  document.body.dataset.mode = mode;
  fillStationChoice();
  // Only a range has a day-by-day table.
  const days = $('csv-table').querySelector('option[value="days"]');
  days.disabled = mode !== 'range';
  days.hidden = mode !== 'range';
  if (days.disabled && $('csv-table').value === 'days') $('csv-table').value = 'stations';
  $('report-title').setAttribute('data-i18n', mode === 'week' ? 'report.weekTitle' : 'report.rangeTitle');
  $('report-title').textContent = t($('report-title').getAttribute('data-i18n'));
  $('report-message').hidden = !message;
  $('report-message').textContent = !message ? '' : message.key ? t(message.key) : errorText(message.code);
  const stations = report?.stations || [];
  $('week-range').textContent = !report ? ''
    : mode === 'week' ? t('report.weekRange', { week: report.week, from: report.from, to: report.to })
    : t('report.rangeRange', { from: report.from, to: report.to, days: (report.days || []).length });
  fillTable('weekly-table', stations, (s) => [
    s.stationId, s.checkins, s.riders, s.newRiders, s.returningRiders, s.bottles.hot, s.bottles.cold,
    times.dateTime(report.completeThrough?.[s.stationId], stationZone(s.stationId)),
  ]);
  const foot = document.querySelector('#weekly-table tfoot');
  foot.replaceChildren();
  if (report?.totals) {
    const tot = report.totals;
    const tr = document.createElement('tr');
    const heads = Array.from(document.querySelectorAll('#weekly-table thead th'), (th) => th.textContent.trim());
    [t('report.total'), tot.checkins, tot.riders, tot.newRiders, tot.returningRiders, tot.bottles.hot, tot.bottles.cold, ''].forEach((v, i) => {
      const td = document.createElement('td');
      td.textContent = String(v);
      if (i > 0 && v !== '' && heads[i]) td.dataset.label = heads[i];
      if (v === '') td.className = 'blank';
      if (typeof v === 'number') td.className = 'n';
      tr.append(td);
    });
    foot.append(tr);
  }
  fillTable('sponsor-table', report?.sponsors || [], (s) => [s.sponsor || t('sponsors.unnamed'), s.bottles, s.restocked]);
  const list = $('lapsed-list');
  list.replaceChildren();
  const lapsed = report?.lapsedRiders;
  const item = (text, cls) => { const li = document.createElement('li'); li.textContent = text; if (cls) li.className = cls; list.append(li); };
  $('lapsed-hint').textContent = mode === 'range' && report?.lapsedFrom
    ? t('lapsed.rangeHint', { from: report.lapsedFrom, to: report.lapsedTo }) : t('lapsed.hint');
  if (mode === 'range' && report && !lapsed) item(t('lapsed.weekOnly'), 'empty');
  else if (!lapsed || lapsed.length === 0) item(t('common.none'), 'empty');
  else for (const id of lapsed) item(id);
  renderTrend();
  renderPrintHead();
  document.dispatchEvent(new CustomEvent('report:loaded', { detail: report }));
}

function renderTrend() {
  const box = $('trend-chart');
  const chart = reportState.chart;
  const title = $('trend-title');
  if (!chart) {
    title.textContent = reportState.mode === 'week' ? t('trend.weeksTitle', { n: TREND_WEEKS }) : t('trend.daysTitle');
    box.replaceChildren();
    return;
  }
  const legend = (nameKey, unitKey) => t('chart.legend', { name: t(nameKey), unit: t(unitKey) });
  let spec;
  if (chart.kind === 'weeks') {
    title.textContent = t('trend.weeksTitle', { n: chart.points.length });
    spec = {
      xTitle: t('trend.x.weeks'),
      yTitle: t('trend.y.weeks'),
      labels: chart.points.map((w) => {
        const monday = times.weekMonday(w.week);
        return { text: monday.slice(5), sub: w.week.slice(5), tip: `${w.week} (${monday})` };
      }),
      series: [
        { name: t('series.checkins'), legend: legend('series.checkins', 'unit.times'), values: chart.points.map((w) => w.checkins) },
        { name: t('series.riders'), legend: legend('series.riders', 'unit.people'), values: chart.points.map((w) => w.riders) },
        { name: t('series.bottles'), legend: legend('series.bottles', 'unit.bottles'), values: chart.points.map((w) => w.bottles) },
      ],
    };
  } else {
    title.textContent = t('trend.daysTitle');
    spec = {
      xTitle: t('trend.x.days'),
      yTitle: t('trend.y.days'),
      labels: chart.points.map((d) => ({ text: d.day.slice(5), tip: d.day })),
      series: [
        { name: t('series.checkins'), legend: legend('series.checkins', 'unit.times'), values: chart.points.map((d) => d.checkins) },
        { name: t('series.bottles'), legend: legend('series.bottles', 'unit.bottles'), values: chart.points.map((d) => d.bottles) },
      ],
    };
  }
  spec.title = t('trend.chartName', { title: title.textContent, series: spec.series.map((s) => s.name).join(', ') });
  lineChart.draw(box, spec);
}

function renderPrintHead() {
  const r = reportState.report;
  const period = !r ? '' : reportState.mode === 'week' ? `${r.week} (${r.from} – ${r.to})` : `${r.from} – ${r.to}`;
  $('print-head').textContent = t('print.head', {
    period,
    station: $('station').selectedOptions[0]?.textContent || t('nav.allStations'),
    time: times.dateTime(Date.now()),
  });
}

/** The report as a file: one table as CSV, or every table as an .xlsx workbook (SPEC §17). */
async function download(format) {
  const q = reportQuery();
  q.set('format', format);
  if (format === 'csv') q.set('table', $('csv-table').value);
  q.set('lang', i18n.lang());
  const path = reportMode() === 'week' ? '/v1/reports/weekly' : '/v1/reports/range';
  const res = await api(`${path}?${q}`);
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') || '')?.[1]
    || `waystation-${reportMode() === 'week' ? $('week').value || 'week' : `${$('range-from').value}_${$('range-to').value}`}.${format}`;
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function setRange(offsetMonths) {
  const { first, last } = monthOf(times.dayOf(Date.now()), offsetMonths);
  const today = times.dayOf(Date.now());
  $('range-from').value = first;
  $('range-to').value = offsetMonths === 0 && last > today ? today : last;
  document.querySelector('input[name="mode"][value="range"]').checked = true;
  document.body.dataset.mode = 'range';
  refresh();
}

addLoader(loadReport);
for (const r of document.querySelectorAll('input[name="mode"]')) {
  r.addEventListener('change', () => {
    // Show the mode's fields at once; the figures follow when they are loaded.
    document.body.dataset.mode = reportMode();
    if (reportMode() === 'range' && !$('range-from').value) { setRange(0); return; }
    refresh();
  });
}
$('week').addEventListener('change', refresh);
$('range-from').addEventListener('change', refresh);
$('range-to').addEventListener('change', refresh);
$('this-month').addEventListener('click', () => setRange(0));
$('last-month').addEventListener('click', () => setRange(-1));
$('station').addEventListener('change', refresh);
for (const [id, format] of [['csv', 'csv'], ['xlsx', 'xlsx']]) {
  $(id).addEventListener('click', () => download(format).catch((e) => {
    $('status').textContent = t('csv.failed', { message: e instanceof ApiFailure ? errorText(e.code) : errorText('network') });
  }));
}
$('print').addEventListener('click', () => window.print());
window.addEventListener('beforeprint', renderPrintHead);
i18n.onChange(() => { if (reportState.report || reportState.message) renderReport(); });
let trendResize = null;
window.addEventListener('resize', () => {
  clearTimeout(trendResize);
  trendResize = setTimeout(renderTrend, 150);
});
