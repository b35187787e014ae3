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
    // Fault codes (SPEC §5, §6a, §6b) in words, as the maintenance console names them (edge/console/faults.js).
    'fault.jam': '卡货', 'fault.drop_sensor': '落货传感器故障', 'fault.no_drop_detected': '未检测到出货', 'fault.motor': '电机故障', 'fault.door_open': '机门未关', 'fault.heater': '加热故障', 'fault.compressor': '制冷故障', 'fault.temp_high': '温度过高', 'fault.temp_low': '温度过低', 'fault.temp_sensor': '温度传感器故障', 'fault.out_of_stock_hot': '热水已空', 'fault.out_of_stock_cold': '冷水已空', 'fault.low_stock_hot': '热水快空了', 'fault.low_stock_cold': '冷水快空了', 'fault.temp_out_of_range_hot': '热水温度异常', 'fault.temp_out_of_range_cold': '冷水温度异常', 'fault.door_forced': '柜门被强行打开', 'fault.door_stuck': '柜门开锁后没打开', 'fault.feedback_suspect': '门状态读数异常', 'fault.no_reply': '没有应答', 'fault.port_closed': '串口断开', 'fault.status_offline': '设备已下线', 'fault.clock_jump': '系统时间跳变', 'fault.device_list_mismatch': '设备清单与云端不一致', 'fault.hot': '热水', 'fault.cold': '冷水',
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
    'fault.jam': 'jam', 'fault.drop_sensor': 'drop sensor fault', 'fault.no_drop_detected': 'no drop detected', 'fault.motor': 'motor fault', 'fault.door_open': 'dispenser door open', 'fault.heater': 'heater fault', 'fault.compressor': 'compressor fault', 'fault.temp_high': 'temperature high', 'fault.temp_low': 'temperature low', 'fault.temp_sensor': 'temperature sensor fault', 'fault.out_of_stock_hot': 'hot side empty', 'fault.out_of_stock_cold': 'cold side empty', 'fault.low_stock_hot': 'hot stock low', 'fault.low_stock_cold': 'cold stock low', 'fault.temp_out_of_range_hot': 'hot temperature out of range', 'fault.temp_out_of_range_cold': 'cold temperature out of range', 'fault.door_forced': 'door opened without an unlock', 'fault.door_stuck': 'door did not open when unlocked', 'fault.feedback_suspect': 'door feedback looks wrong', 'fault.no_reply': 'no answer', 'fault.port_closed': 'serial port gone', 'fault.status_offline': 'device went offline', 'fault.clock_jump': 'the clock jumped', 'fault.device_list_mismatch': 'device list differs from the cloud', 'fault.hot': 'hot', 'fault.cold': 'cold',
    'sev.critical': 'critical', 'sev.warning': 'warning', 'sev.info': 'info',
    'state.offline': 'offline', 'state.degraded': 'degraded', 'state.online': 'online', 'state.out_of_service': 'out of service',
    'state.firing': 'firing', 'state.resolved': 'resolved',
  },
});

const healthState = { health: null, alerts: null, inboxState: 'firing' };
/** A known code in words, else the code itself (a kind added later still shows). */
const word = (prefix, code) => (t(`${prefix}.${code}`) === `${prefix}.${code}` ? code : t(`${prefix}.${code}`));
/** A fault code in words; `door_forced:1-3` keeps the compartment after it. */
const faultWord = (code) => {
  const [base, ...where] = String(code).split(':');
  return [word('fault', base), ...where].join(':');
};
const stationTimeOf = (ms, stationId) => times.dateTime(ms, stationZone(stationId), { seconds: true });

function alertWhat(a) {
  const q = a.fingerprint.slice(a.fingerprint.lastIndexOf('/') + 1).split(':').slice(1).join(':');
  return `${word('kind', a.kind)}${q ? ` · ${faultWord(q)}` : ''}`;
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
      d.faults.map(faultWord).join(', ') || '—',
    ]);
    fillTable('stock-table', h.stock, (d) => [
      d.stationId, d.deviceId, [d.stock.hot ?? '—', d.low.includes('hot') ? 'n low' : 'n'], [d.stock.cold ?? '—', d.low.includes('cold') ? 'n low' : 'n'],
      word('state', d.state),
    ]);
    fillTable('station-health', h.stations, (s) => [
      s.stationId, s.zone, [word('state', s.online ? 'online' : 'offline'), s.online ? 'online' : 'offline'], stationTimeOf(s.lastHeartbeatAt, s.stationId),
      [s.backlog ?? '—', 'n'], s.syncedSeq,
    ]);
    fillTable('fault-table', h.openFaults, (f) => [f.stationId, f.deviceId, faultWord(f.fault), stationTimeOf(f.since, f.stationId)]);
    fillTable('lowstock-table', h.lowStock, (f) => [f.stationId, f.deviceId, faultWord(f.fault), stationTimeOf(f.since, f.stationId)]);
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
