// What each fault or state means to the person standing at the station, and what to do.
// Codes from SPEC §5 (dispenser telemetry), §6b (the edge's own alerts), §6a (lockers) and the
// station itself. [中文, English, 中文: 怎么办, English: what to do].

export const FAULTS = {
  jam: ['卡货', 'jam', '打开前面板，清理出货通道，然后按"清除"', 'open the front panel, clear the chute, then press Clear'],
  drop_sensor: ['落货传感器故障', 'drop sensor fault', '擦净出货口的传感器；仍报错请联系维修', 'wipe the drop sensor at the outlet; if it stays, call service'],
  door_open: ['机门未关', 'dispenser door open', '关好饮水机的门并锁上', 'close and lock the dispenser door'],
  heater: ['加热故障', 'heater fault', '检查热水仓电源；暂停热水并联系维修', 'check the hot side power; take hot water out of service and call service'],
  compressor: ['制冷故障', 'compressor fault', '检查通风口是否被挡；暂停冷水并联系维修', 'check the vents are clear; take cold water out of service and call service'],
  temp_high: ['温度过高', 'temperature high', '检查制冷和通风，关好门', 'check cooling and vents, keep the door shut'],
  temp_low: ['温度过低', 'temperature low', '检查加热和温控设置', 'check heating and the thermostat'],
  temp_sensor: ['温度传感器故障', 'temperature sensor fault', '联系维修更换传感器', 'call service to replace the sensor'],
  out_of_stock_hot: ['热水已空', 'hot side empty', '补热水，然后在下方"补货"中登记', 'refill hot bottles, then record it under Restock below'],
  out_of_stock_cold: ['冷水已空', 'cold side empty', '补冷水，然后在下方"补货"中登记', 'refill cold bottles, then record it under Restock below'],
  low_stock_hot: ['热水快空了', 'hot stock low', '尽快补热水并登记', 'refill hot bottles soon and record it'],
  low_stock_cold: ['冷水快空了', 'cold stock low', '尽快补冷水并登记', 'refill cold bottles soon and record it'],
  temp_out_of_range_hot: ['热水温度异常', 'hot temperature out of range', '检查加热；必要时暂停该机', 'check the heater; take the dispenser out of service if needed'],
  temp_out_of_range_cold: ['冷水温度异常', 'cold temperature out of range', '检查制冷；必要时暂停该机', 'check cooling; take the dispenser out of service if needed'],
  door_forced: ['柜门被强行打开', 'door opened without an unlock', '查看该柜格，关好门；如有损坏请停用', 'check the compartment and close it; take it out of service if damaged'],
  door_stuck: ['柜门开锁后没打开', 'door did not open when unlocked', '检查门锁和门缝是否卡住', 'check the lock and the door edge for a jam'],
  feedback_suspect: ['门状态读数异常（全部显示开）', 'door feedback looks wrong (all open)', '检查锁控板的反馈线和接线', "check the lock board's feedback wiring"],
  no_reply: ['没有应答', 'no answer', '检查电源、RS-485 线和拨码地址', 'check power, the RS-485 cable and the DIP address'],
  port_closed: ['串口断开', 'serial port gone', '检查 USB 线；在 /dev/serial/by-id/ 查看设备', 'check the USB cable; look in /dev/serial/by-id/'],
  status_offline: ['设备已下线', 'device went offline', '检查电源和网络', 'check its power and network'],
  clock_jump: ['系统时间跳变', 'the clock jumped', '检查网络时间同步（NTP）', 'check network time (NTP)'],
  device_list_mismatch: ['设备清单与云端不一致', 'device list differs from the cloud', '核对本站配置和云端配置', "compare the station's config with the cloud's"],
};

/** `door_forced:1-3` → the entry for `door_forced`, naming the compartment. */
export function explainFault(code) {
  const [base, where] = String(code).split(':');
  const f = FAULTS[base];
  if (!f) return { zh: `故障 ${code}`, en: `fault ${code}`, doZh: '记录故障代码并联系维修', doEn: 'note the code and call service' };
  const at = where ? ` (${where})` : '';
  return { zh: f[0] + at, en: f[1] + at, doZh: f[2], doEn: f[3] };
}

export const STATES = {
  online: ['正常', 'online'],
  degraded: ['有故障', 'degraded'],
  offline: ['离线', 'offline'],
  out_of_service: ['已停用', 'out of service'],
};

export const KINDS = { dispenser: ['饮水机', 'dispenser'], lockboard: ['锁控板', 'lock board'], scanner: ['扫码器', 'scanner'] };

/** Reasons a maintainer may open a compartment for (SPEC §8 `reason`). */
export const OPEN_REASONS = [
  ['rider_locked_out', '骑手取不出物品', 'rider cannot get their items out'],
  ['overdue_cleanup', '超时未取，清理柜格', 'overdue: clearing the compartment'],
  ['door_check', '检查柜门或门锁', 'checking the door or lock'],
  ['cleaning', '清洁', 'cleaning'],
  ['found_item', '取出遗留物品', 'removing a left item'],
];
