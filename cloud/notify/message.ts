/**
 * What a person reads (SPEC §15): the station, the device or compartment, what happened in plain
 * words (Chinese first, English beside), since when in the station's own time zone (labelled),
 * what to do, and a link to the dashboard. Pure: the channel formats (formats.ts) lay it out.
 */
import { qualifierOf } from '../alerts/rules.ts';
import type { AlertRow, NotificationPhase } from '../store/store.ts';

export interface StationInfo {
  timezone: string;
  zone: string;
}

export interface MessageContext {
  station(id: string): StationInfo;
  /** Make `station()` current for these ids (read from the store) before messages are laid out. */
  refresh?(ids: readonly string[]): Promise<void>;
  /** The dashboard's base URL (`publicUrl`); without it messages say where to look in words. */
  publicUrl?: string | undefined;
}

/** One alert, ready to lay out. */
export interface AlertText {
  phase: NotificationPhase;
  severity: AlertRow['severity'];
  title: string;
  station: string;
  subject: string;
  what: string;
  since: string;
  until: string | null;
  todo: string;
  link: string;
}

const SEVERITY: Record<AlertRow['severity'], string> = { critical: '严重 critical', warning: '警告 warning', info: '提示 info' };

const COMPARTMENT: Record<string, string> = { hot: '热水 hot', cold: '冷水 cold' };

/** Plain words per kind: [what, what to do], each Chinese then English. */
function words(a: AlertRow): { name: string; what: string; todo: string } {
  const q = qualifierOf(a.fingerprint);
  switch (a.kind) {
    case 'device_offline':
      return {
        name: '设备离线 / device offline',
        what: `设备 ${a.subject} 没有回应 / ${a.subject} has stopped answering`,
        todo: '检查设备电源与网线，重启后在看板确认恢复在线 / Check its power and cable, restart it, then see it come back online on the dashboard',
      };
    case 'device_fault':
      return {
        name: `设备故障 / device fault (${q})`,
        what: faultWhat(a.subject, q),
        todo: faultTodo(q),
      };
    case 'low_stock':
      return {
        name: `${COMPARTMENT[q] ?? q} 库存不足 / low stock`,
        what: `${a.subject} ${COMPARTMENT[q] ?? q} 快没水了（${a.detail}）/ ${a.subject} is running out of ${q} water (${a.detail})`,
        todo: '补货后在维护页登记补货数量 / Restock it, then record the count on the maintenance page',
      };
    case 'temperature':
      return {
        name: `温度异常 / temperature out of range (${q})`,
        what: `${a.subject} ${COMPARTMENT[q] ?? q} 温度超出范围 / ${a.subject} ${q} temperature is out of range`,
        todo: '检查加热或制冷是否工作、柜门是否关好 / Check the heater or cooler works and the door is shut',
      };
    case 'locker_overdue':
      return {
        name: '储物柜超时 / locker overdue',
        what: `格口 ${a.subject} 存放超时 / compartment ${a.subject} has been held past the storage limit`,
        todo: '联系骑手取件；必要时在维护页开柜并登记原因 / Reach the rider; if needed open it on the maintenance page with a reason',
      };
    case 'door_left_open':
      return {
        name: '柜门未关 / door left open',
        what: `格口 ${a.subject} 的门一直开着 / the door of compartment ${a.subject} was left open`,
        todo: '到站关好柜门，看门锁是否损坏 / Go and shut the door; check the lock is not broken',
      };
    case 'station_silent':
      return {
        name: '站点无心跳 / station silent',
        what: `站点 ${a.stationId} 没有上报心跳 / station ${a.stationId} has sent no heartbeat`,
        todo: '检查站点电源与网络（路由器、4G），必要时重启站点主机 / Check the station\u2019s power and network (router, 4G); restart the station box if needed',
      };
    case 'chain_broken':
      // A replayed seq with another hash: someone else holds this station's token and uploaded
      // a log of their own (issue 11). Say so, and what stops it (SPEC §12 token rotation).
      if (a.detail === 'replay_mismatch') {
        return {
          name: '站点令牌疑似被盗 / station token may be stolen',
          what: `用站点 ${a.stationId} 的令牌上传的第 ${a.seq ?? '?'} 条事件与云端已存的不同：另有人持有该令牌 / an upload with the token of ${a.stationId} holds event ${a.seq ?? '?'} different from the one the cloud already has: someone else holds this token`,
          todo: `立即为站点 ${a.stationId} 更换令牌并把新令牌只配给真实站点，再核对其日志后在看板确认 / Rotate the token of ${a.stationId} now, give the new one to the real station only, check its log, then acknowledge on the dashboard`,
        };
      }
      return {
        name: '日志校验失败 / hash chain broken',
        what: `站点 ${a.stationId} 上传的日志与链不符（${a.detail}）/ an upload from ${a.stationId} breaks its hash chain (${a.detail})`,
        todo: '请技术人员检查站点数据是否被改动，处理后在看板确认 / Have a technician check the station\u2019s data for tampering, then acknowledge on the dashboard',
      };
    case 'invalid_event':
      return {
        name: '无效事件 / invalid event',
        what: `站点 ${a.stationId} 上传了内容不对的事件 / ${a.stationId} uploaded an event whose data is wrong (${a.detail})`,
        todo: '请技术人员查看站点软件版本，处理后在看板确认 / Have a technician check the station\u2019s software version, then acknowledge on the dashboard',
      };
    default:
      return { name: a.kind, what: a.detail, todo: '在看板查看详情 / See the dashboard for details' };
  }
}

/** SPEC §5 fault names (and the edge's lock-board ones) in plain words. */
const FAULT_WORDS: Record<string, [string, string]> = {
  jam: ['卡货', 'is jammed'],
  motor: ['电机故障', 'has a motor fault'],
  drop_sensor: ['落货传感器故障', 'has a faulty drop sensor'],
  no_drop_detected: ['未检测到出货', 'did not detect a bottle drop'],
  door_open: ['柜门未关', 'has its door open'],
  heater: ['加热故障', 'has a heater fault'],
  compressor: ['制冷故障', 'has a cooling fault'],
  client_id_conflict: ['设备编号冲突', 'shares its device id with another device'],
};

function faultWhat(subject: string, fault: string): string {
  const stuck = /^door_stuck:(.+)$/.exec(fault);
  if (stuck) return `格口 ${stuck[1]} 的门打不开，已停用 / the door of compartment ${stuck[1]} does not open; it is out of service`;
  const forced = /^door_forced:(.+)$/.exec(fault);
  if (forced) return `格口 ${forced[1]} 的门未开锁却被打开 / the door of compartment ${forced[1]} was opened without an unlock`;
  const w = FAULT_WORDS[fault];
  return w ? `${subject} ${w[0]}（${fault}）/ ${subject} ${w[1]}` : `${subject} 报告故障 ${fault} / ${subject} reports fault ${fault}`;
}

function faultTodo(fault: string): string {
  if (fault === 'jam') return '打开前面板，清理出货通道，再按“清除” / Open the front panel, clear the chute, then press Clear';
  if (fault === 'door_open') return '关好饮水机柜门 / Shut the dispenser\u2019s door';
  if (fault === 'drop_sensor' || fault === 'no_drop_detected') return '擦净并检查落货传感器 / Clean and check the drop sensor';
  if (fault === 'heater' || fault === 'compressor') return '联系设备厂家维修 / Call the maker for a repair';
  if (fault.startsWith('door_stuck:')) return '检查该格口门锁与线缆，修好后在维护页恢复使用 / Check that compartment\u2019s lock and cable, then put it back in service';
  if (fault.startsWith('door_forced:')) return '到站查看该格口是否被撬 / Go and check that compartment for a break-in';
  return '到站查看设备，处理后故障会自动清除 / Check the device on site; the alert clears when the fault does';
}

/** `2026-12-02 21:15:03` in the zone, labelled with it. */
export function localTime(ms: number, timezone: string): string {
  const f = new Intl.DateTimeFormat('sv-SE', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  return `${f.format(new Date(ms))} (${timezone})`;
}

export function dashboardLink(publicUrl: string | undefined, stationId: string): string {
  if (!publicUrl) return '看板 dashboard /dashboard';
  return `${publicUrl.replace(/\/+$/, '')}/dashboard#station=${encodeURIComponent(stationId)}`;
}

export function alertText(phase: NotificationPhase, a: AlertRow, ctx: MessageContext): AlertText {
  const tz = ctx.station(a.stationId).timezone;
  const w = words(a);
  const head = phase === 'firing' ? `【告警 ALERT · ${SEVERITY[a.severity]}】` : '【已恢复 RESOLVED】';
  return {
    phase,
    severity: a.severity,
    title: `${head}${a.stationId} ${a.subject ? `${a.subject} ` : ''}${w.name}`,
    station: `${a.stationId}（片区 zone ${ctx.station(a.stationId).zone}）`,
    subject: a.subject || '整站 whole station',
    what: phase === 'firing' ? w.what : `已恢复正常 / back to normal: ${w.what}`,
    since: localTime(a.since, tz),
    until: a.until !== null ? localTime(a.until, tz) : null,
    todo: phase === 'firing' ? w.todo : '无需处理，可在看板查看记录 / Nothing to do; the record is on the dashboard',
    link: dashboardLink(ctx.publicUrl, a.stationId),
  };
}

/** The lines of one alert, as `label: value`, Chinese label first. */
export function alertLines(t: AlertText): Array<[string, string]> {
  const lines: Array<[string, string]> = [
    ['站点 Station', t.station],
    ['设备/格口 Device', t.subject],
    ['情况 What', t.what],
    ['开始 Since', t.since],
  ];
  if (t.until) lines.push(['恢复 Until', t.until]);
  lines.push(['处理 To do', t.todo], ['看板 Dashboard', t.link]);
  return lines;
}
