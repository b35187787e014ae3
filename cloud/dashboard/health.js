// Dashboard operations (SPEC §15): the alert inbox, devices needing attention, stock per
// dispenser and fleet health. Every time is the station's own, labelled with its zone.
'use strict';

i18n.register({
  zh: {
    'inbox.title': '告警', 'inbox.show': '显示', 'inbox.all': '全部', 'inbox.firingCount': '{n} 条告警中', 'inbox.count': '{n} 条',
    'devices.title': '需要处理的设备', 'stock.title': '饮水机库存', 'health.title': '设备与同步',
    'health.faults': '未解决的故障', 'health.lowStock': '库存不足', 'health.overdue': '超时未取的储物柜', 'health.chain': '日志校验告警',
    'health.devices': '设备：{list}', 'health.deviceState': '{n} 台{state}',
    'col.severity': '级别', 'col.device': '设备/格口', 'col.what': '情况', 'col.sinceStation': '开始（站点时间）', 'col.state': '状态',
    'col.action': '操作', 'col.faults': '故障', 'col.dispenser': '饮水机', 'col.stockHot': '热饮（瓶）', 'col.stockCold': '冷饮（瓶）',
    'col.zone': '片区', 'col.lastHeartbeat': '最后心跳（站点时间）', 'col.backlog': '待上传', 'col.syncedSeq': '已同步序号',
    'col.fault': '故障', 'col.compartment': '格口', 'col.kind': '类型', 'col.seq': '序号', 'col.detail': '详情', 'col.count': '次数',
    'col.lastStation': '最近一次（站点时间）',
    'alert.wholeStation': '整站', 'alert.ack': '确认', 'alert.ackedBy': '{state} · 已由 {by} 确认',
    'alert.ackFailed': '确认失败：{message}',
    'kind.device_offline': '设备离线', 'kind.device_fault': '设备故障', 'kind.low_stock': '库存不足', 'kind.temperature': '温度异常',
    'kind.locker_overdue': '储物柜超时', 'kind.door_left_open': '柜门未关', 'kind.station_silent': '站点无心跳',
    'kind.chain_broken': '日志校验失败', 'kind.invalid_event': '无效事件', 'kind.replay_mismatch': '重放不一致（令牌可能被盗）',
    'sev.critical': '严重', 'sev.warning': '警告', 'sev.info': '提示',
    'state.offline': '离线', 'state.degraded': '故障', 'state.online': '在线', 'state.out_of_service': '停用',
    'state.firing': '告警中', 'state.resolved': '已恢复',
  },
  en: {
    'inbox.title': 'Alert inbox', 'inbox.show': 'Show', 'inbox.all': 'all', 'inbox.firingCount': '{n} firing', 'inbox.count': '{n}',
    'devices.title': 'Devices needing attention', 'stock.title': 'Stock per dispenser', 'health.title': 'Fleet health',
    'health.faults': 'Open faults', 'health.lowStock': 'Low stock', 'health.overdue': 'Overdue lockers', 'health.chain': 'Hash-chain alerts',
    'health.devices': 'Devices: {list}', 'health.deviceState': '{n} {state}',
    'col.severity': 'Severity', 'col.device': 'Device', 'col.what': 'What', 'col.sinceStation': 'Since (station time)', 'col.state': 'State',
    'col.action': 'Action', 'col.faults': 'Faults', 'col.dispenser': 'Dispenser', 'col.stockHot': 'Hot (bottles)', 'col.stockCold': 'Cold (bottles)',
    'col.zone': 'Zone', 'col.lastHeartbeat': 'Last heartbeat (station time)', 'col.backlog': 'Backlog', 'col.syncedSeq': 'Synced seq',
    'col.fault': 'Fault', 'col.compartment': 'Compartment', 'col.kind': 'Kind', 'col.seq': 'Seq', 'col.detail': 'Detail', 'col.count': 'Count',
    'col.lastStation': 'Last (station time)',
    'alert.wholeStation': 'station', 'alert.ack': 'Acknowledge', 'alert.ackedBy': '{state} · acked by {by}',
    'alert.ackFailed': 'acknowledging failed: {message}',
    'kind.device_offline': 'device offline', 'kind.device_fault': 'device fault', 'kind.low_stock': 'low stock', 'kind.temperature': 'temperature',
    'kind.locker_overdue': 'locker overdue', 'kind.door_left_open': 'door left open', 'kind.station_silent': 'station silent',
    'kind.chain_broken': 'hash chain broken', 'kind.invalid_event': 'invalid event', 'kind.replay_mismatch': 'replay mismatch (token may be stolen)',
    'sev.critical': 'critical', 'sev.warning': 'warning', 'sev.info': 'info',
    'state.offline': 'offline', 'state.degraded': 'degraded', 'state.online': 'online', 'state.out_of_service': 'out of service',
    'state.firing': 'firing', 'state.resolved': 'resolved',
  },
});

const healthState = { health: null, alerts: null, inboxState: 'firing' };
/** A known code in words, else the code itself (a kind added later still shows). */
const word = (prefix, code) => (t(`${prefix}.${code}`) === `${prefix}.${code}` ? code : t(`${prefix}.${code}`));
const stationTimeOf = (ms, stationId) => times.dateTime(ms, stationZone(stationId), { seconds: true });

function alertWhat(a) {
  const q = a.fingerprint.slice(a.fingerprint.lastIndexOf('/') + 1).split(':').slice(1).join(':');
  return `${word('kind', a.kind)}${q ? ` · ${q}` : ''}`;
}

/** Acknowledge an alert once looked into; it comes back if the station raises it again. */
function ackButton(a) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = t('alert.ack');
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      await api(`/v1/alerts/${a.id}/ack`, { method: 'POST' });
      await loadHealth();
    } catch (e) {
      b.disabled = false;
      $('status').textContent = t('alert.ackFailed', { message: e instanceof ApiFailure ? errorText(e.code) : errorText('network') });
    }
  });
  return b;
}

function renderHealth() {
  const h = healthState.health;
  if (h) {
    $('device-states').textContent = t('health.devices', {
      list: Object.entries(h.devicesByState).map(([k, v]) => t('health.deviceState', { n: v, state: word('state', k) })).join(', '),
    });
    fillTable('problem-table', h.problemDevices, (d) => [
      d.stationId, d.deviceId, [word('state', d.state), d.state === 'offline' ? 'offline' : 'sev-warning'], stationTimeOf(d.since, d.stationId),
      d.faults.join(', ') || '—',
    ]);
    fillTable('stock-table', h.stock, (d) => [
      d.stationId, d.deviceId, [d.stock.hot ?? '—', d.low.includes('hot') ? 'n low' : 'n'], [d.stock.cold ?? '—', d.low.includes('cold') ? 'n low' : 'n'],
      word('state', d.state),
    ]);
    fillTable('station-health', h.stations, (s) => [
      s.stationId, s.zone, [word('state', s.online ? 'online' : 'offline'), s.online ? 'online' : 'offline'], stationTimeOf(s.lastHeartbeatAt, s.stationId),
      s.backlog ?? '—', s.syncedSeq,
    ]);
    fillTable('fault-table', h.openFaults, (f) => [f.stationId, f.deviceId, f.fault, stationTimeOf(f.since, f.stationId)]);
    fillTable('lowstock-table', h.lowStock, (f) => [f.stationId, f.deviceId, f.fault, stationTimeOf(f.since, f.stationId)]);
    fillTable('overdue-table', h.overdueLockers, (l) => [l.stationId, l.compartment, stationTimeOf(l.since, l.stationId)]);
    fillTable('alert-table', h.chainAlerts, (a) => [a.stationId, word('kind', a.kind), a.seq ?? '', a.detail, a.count, stationTimeOf(a.at, a.stationId), ackButton(a)]);
  }
  const alerts = healthState.alerts;
  if (alerts) {
    const state = healthState.inboxState;
    $('inbox-count').textContent = state === 'firing' ? t('inbox.firingCount', { n: alerts.length }) : t('inbox.count', { n: alerts.length });
    fillTable('inbox-table', alerts, (a) => [
      [word('sev', a.severity), `sev-${a.severity}`], a.stationId, a.subject || t('alert.wholeStation'), alertWhat(a),
      stationTimeOf(a.since, a.stationId),
      a.ackedBy ? t('alert.ackedBy', { state: word('state', a.state), by: a.ackedBy }) : word('state', a.state),
      a.ackedAt ? '' : ackButton(a),
    ]);
  }
}

async function loadInbox() {
  const state = $('inbox-state').value;
  const { alerts } = await (await api(`/v1/alerts?state=${state}`)).json();
  healthState.alerts = alerts;
  healthState.inboxState = state;
  renderHealth();
}

async function loadHealth() {
  healthState.health = await (await api('/v1/fleet/health')).json();
  renderHealth();
  await loadInbox();
}

addLoader(loadHealth);
$('inbox-state').addEventListener('change', () => loadInbox().catch((e) => {
  $('status').textContent = t('status.failed', { message: e instanceof ApiFailure ? errorText(e.code) : errorText('network') });
}));
i18n.onChange(renderHealth);
