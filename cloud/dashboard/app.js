// Waystation dashboard: plain browser script, no build step. The admin token stays in
// sessionStorage (gone when the tab closes) and goes out as a bearer token. Data is only ever
// written with textContent, never as HTML.
'use strict';

const TOKEN_KEY = 'waystation.adminToken';
const $ = (id) => document.getElementById(id);
let trendChart = null;

function token() { return sessionStorage.getItem(TOKEN_KEY); }

async function api(path, init = {}) {
  const res = await fetch(path, { ...init, headers: { authorization: `Bearer ${token()}` } });
  if (res.status === 401) { logout('Your session is not valid; log in again.'); throw new Error('unauthorized'); }
  if (!res.ok) {
    let msg = `${res.status}`;
    try { const b = await res.json(); msg = `${b.error}: ${b.message}`; } catch { /* not JSON */ }
    throw new Error(msg);
  }
  return res;
}

const fmtTime = (ms) => (ms ? new Date(ms).toLocaleString() : '—');

function fillTable(id, rows, cells) {
  const body = document.querySelector(`#${id} tbody`);
  body.replaceChildren();
  for (const r of rows) {
    const tr = document.createElement('tr');
    for (const c of cells(r)) {
      const td = document.createElement('td');
      if (c instanceof Node) { td.append(c); tr.append(td); continue; }
      const [text, cls] = Array.isArray(c) ? c : [c, typeof c === 'number' ? 'n' : ''];
      td.textContent = String(text);
      if (cls) td.className = cls;
      tr.append(td);
    }
    body.append(tr);
  }
  if (rows.length === 0) {
    const tr = document.createElement('tr');
    const td = document.createElement('td');
    td.colSpan = document.querySelectorAll(`#${id} thead th`).length;
    td.textContent = 'none';
    tr.append(td);
    body.append(tr);
  }
}

function query() {
  const q = new URLSearchParams();
  if ($('week').value) q.set('week', $('week').value);
  if ($('station').value) q.set('station', $('station').value);
  return q;
}

async function loadWeekly() {
  const report = await (await api(`/v1/reports/weekly?${query()}`)).json();
  if (!$('week').value) $('week').value = report.week;
  $('week-range').textContent = `${report.week}: ${report.from} – ${report.to}`;
  const sel = $('station');
  if (sel.options.length === 1 && !sel.value) {
    for (const s of report.stations) sel.add(new Option(s.stationId, s.stationId));
  }
  fillTable('weekly-table', report.stations, (s) => [
    s.stationId, s.checkins, s.riders, s.newRiders, s.returningRiders, s.bottles.hot, s.bottles.cold,
    fmtTime(report.completeThrough[s.stationId]),
  ]);
  const t = report.totals;
  const foot = document.querySelector('#weekly-table tfoot');
  foot.replaceChildren();
  const tr = document.createElement('tr');
  for (const v of ['all (distinct riders)', t.checkins, t.riders, t.newRiders, t.returningRiders, t.bottles.hot, t.bottles.cold, '']) {
    const td = document.createElement('td');
    td.textContent = String(v);
    if (typeof v === 'number') td.className = 'n';
    tr.append(td);
  }
  foot.append(tr);
  fillTable('sponsor-table', report.sponsors, (s) => [s.sponsor || '(no sponsor)', s.bottles, s.restocked]);
  const list = $('lapsed-list');
  list.replaceChildren();
  for (const id of report.lapsedRiders) { const li = document.createElement('li'); li.textContent = id; list.append(li); }
  if (report.lapsedRiders.length === 0) { const li = document.createElement('li'); li.textContent = 'none'; list.append(li); }
}

async function loadTrend() {
  const q = query();
  q.set('weeks', '12');
  const { weeks } = await (await api(`/v1/reports/trend?${q}`)).json();
  const data = {
    labels: weeks.map((w) => w.week),
    datasets: [
      { label: 'check-ins', data: weeks.map((w) => w.checkins), borderColor: '#1f5f8b', backgroundColor: '#1f5f8b' },
      { label: 'riders', data: weeks.map((w) => w.riders), borderColor: '#e07b00', backgroundColor: '#e07b00' },
      { label: 'bottles', data: weeks.map((w) => w.bottles), borderColor: '#2e9d5b', backgroundColor: '#2e9d5b', yAxisID: 'y1' },
    ],
  };
  if (typeof Chart === 'undefined') return;
  if (trendChart) { trendChart.data = data; trendChart.update(); return; }
  trendChart = new Chart($('trend-chart'), {
    type: 'line',
    data,
    options: {
      maintainAspectRatio: false,
      animation: false,
      scales: { y: { beginAtZero: true }, y1: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false } } },
    },
  });
}

async function loadHealth() {
  const h = await (await api('/v1/fleet/health')).json();
  loadDevices(h);
  $('device-states').textContent = `Devices: ${Object.entries(h.devicesByState).map(([k, v]) => `${v} ${k}`).join(', ')}`;
  fillTable('station-health', h.stations, (s) => [
    s.stationId, s.zone, [s.online ? 'online' : 'offline', s.online ? 'online' : 'offline'], fmtTime(s.lastHeartbeatAt),
    s.backlog ?? '—', s.syncedSeq,
  ]);
  fillTable('fault-table', h.openFaults, (f) => [f.stationId, f.deviceId, f.fault, fmtTime(f.since)]);
  fillTable('lowstock-table', h.lowStock, (f) => [f.stationId, f.deviceId, f.fault, fmtTime(f.since)]);
  fillTable('overdue-table', h.overdueLockers, (l) => [l.stationId, l.compartment, fmtTime(l.since)]);
  fillTable('alert-table', h.chainAlerts, (a) => [a.stationId, a.kind, a.seq ?? '', a.detail, a.count, fmtTime(a.at), ackButton(a)]);
}

// ---- alerts and devices (SPEC §15): Chinese first, English beside; times in the station's zone.

let stationZones = {};
const KINDS = {
  device_offline: '设备离线 device offline', device_fault: '设备故障 device fault', low_stock: '库存不足 low stock',
  temperature: '温度异常 temperature', locker_overdue: '储物柜超时 locker overdue', door_left_open: '柜门未关 door left open',
  station_silent: '站点无心跳 station silent', chain_broken: '日志校验失败 hash chain broken', invalid_event: '无效事件 invalid event',
};
const SEVERITY = { critical: '严重 critical', warning: '警告 warning', info: '提示 info' };
const STATES = { offline: '离线 offline', degraded: '故障 degraded', online: '在线 online', out_of_service: '停用 out of service', firing: '告警中 firing', resolved: '已恢复 resolved' };

/** `2026-12-02 21:15:03 (Asia/Shanghai)`: the station's own time, labelled. */
function fmtLocal(ms, stationId) {
  if (!ms) return '—';
  const tz = stationZones[stationId] || 'Asia/Shanghai';
  const f = new Intl.DateTimeFormat('sv-SE', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  return `${f.format(new Date(ms))} (${tz})`;
}

function alertWhat(a) {
  const q = a.fingerprint.slice(a.fingerprint.lastIndexOf('/') + 1).split(':').slice(1).join(':');
  return `${KINDS[a.kind] || a.kind}${q ? ` · ${q}` : ''}`;
}

async function loadInbox() {
  const state = $('inbox-state').value;
  const { alerts } = await (await api(`/v1/alerts?state=${state}`)).json();
  $('inbox-count').textContent = state === 'firing' ? `${alerts.length} 条告警中 firing` : `${alerts.length}`;
  fillTable('inbox-table', alerts, (a) => [
    [SEVERITY[a.severity] || a.severity, `sev-${a.severity}`], a.stationId, a.subject || '整站 station', alertWhat(a),
    fmtLocal(a.since, a.stationId), a.ackedBy ? `${STATES[a.state]} · 已确认 acked by ${a.ackedBy}` : STATES[a.state] || a.state,
    a.ackedAt ? '' : ackButton(a, '确认 Acknowledge'),
  ]);
}

function loadDevices(h) {
  stationZones = Object.fromEntries(h.stations.map((s) => [s.stationId, s.timezone]));
  fillTable('problem-table', h.problemDevices, (d) => [
    d.stationId, d.deviceId, [STATES[d.state] || d.state, d.state === 'offline' ? 'offline' : 'sev-warning'], fmtLocal(d.since, d.stationId),
    d.faults.join(', ') || '—',
  ]);
  fillTable('stock-table', h.stock, (d) => [
    d.stationId, d.deviceId, [d.stock.hot ?? '—', d.low.includes('hot') ? 'n low' : 'n'], [d.stock.cold ?? '—', d.low.includes('cold') ? 'n low' : 'n'],
    STATES[d.state] || d.state,
  ]);
}

/** Acknowledge an alert once looked into; it comes back if the station raises it again. */
function ackButton(a, label = 'Acknowledge') {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      await api(`/v1/alerts/${a.id}/ack`, { method: 'POST' });
      await loadHealth();
      await loadInbox();
    } catch (e) {
      b.disabled = false;
      $('status').textContent = `failed: ${e.message}`;
    }
  });
  return b;
}

// The page refreshes itself while it is logged in and visible: every 15 s, or every
// `?refresh=N` seconds (at least 2; `?refresh=0` turns it off).
const AUTO_REFRESH_S = (() => {
  const v = new URLSearchParams(location.search).get('refresh');
  if (v === null || v === '' || Number.isNaN(Number(v))) return 15;
  return Number(v) <= 0 ? 0 : Math.max(2, Number(v));
})();
let refreshing = false;

async function refresh() {
  if (refreshing) return;
  refreshing = true;
  $('status').textContent = 'loading…';
  try {
    await loadWeekly();
    await Promise.all([loadTrend(), loadHealth()]);
    await loadInbox();
    const every = AUTO_REFRESH_S ? ` · refreshes every ${AUTO_REFRESH_S} s` : '';
    $('status').textContent = `updated ${new Date().toLocaleTimeString()}${every}`;
  } catch (e) {
    $('status').textContent = `failed: ${e.message}`;
  } finally {
    refreshing = false;
  }
}

if (AUTO_REFRESH_S) {
  setInterval(() => {
    if (token() && !document.hidden && !$('app-view').hidden) refresh();
  }, AUTO_REFRESH_S * 1000);
}

async function downloadCsv() {
  const q = query();
  q.set('format', 'csv');
  const res = await api(`/v1/reports/weekly?${q}`);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = `waystation-weekly-${$('week').value || 'current'}.csv`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function show(loggedIn) {
  $('login-view').hidden = loggedIn;
  $('app-view').hidden = !loggedIn;
  $('logout').hidden = !loggedIn;
}

function logout(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  show(false);
  $('login-error').textContent = message || '';
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const t = $('token').value.trim();
  const res = await fetch('/v1/fleet/health', { headers: { authorization: `Bearer ${t}` } });
  if (!res.ok) { $('login-error').textContent = 'That token was not accepted.'; return; }
  sessionStorage.setItem(TOKEN_KEY, t);
  $('token').value = '';
  $('login-error').textContent = '';
  show(true);
  await refresh();
});
$('logout').addEventListener('click', () => logout());
$('refresh').addEventListener('click', refresh);
$('week').addEventListener('change', refresh);
$('station').addEventListener('change', refresh);
$('inbox-state').addEventListener('change', () => loadInbox().catch((e) => { $('status').textContent = `failed: ${e.message}`; }));
$('csv').addEventListener('click', () => downloadCsv().catch((e) => { $('status').textContent = `CSV failed: ${e.message}`; }));

if (token()) { show(true); refresh(); } else { show(false); }
