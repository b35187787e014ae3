// The rider's code page (SPEC §14): the rotating QR `<credential>.<step>.<sig>`, signed on this
// phone with its non-extractable Ed25519 key and redrawn every 30 s, the seconds left, and what
// the cloud last said about this rider (marked with its time, so offline it is still shown).
import qrcode from '/r/vendor/qrcode.mjs';
import { eraseAll, get, put } from '/r/store.js';
import { initHazards, showHazards } from '/r/hazard.js';

const STEP_MS = 30_000;
const DEFAULT_TZ = 'Asia/Shanghai';
const $ = (id) => document.getElementById(id);
/** 'UTC+6' for a zone at an instant. */
const offsetOf = (tz, ms) =>
  (new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'shortOffset' }).formatToParts(ms).find((p) => p.type === 'timeZoneName')?.value ?? '').replace(/^GMT/, 'UTC');
/** Which clock a time is read on: Beijing time in China's zone, else the station's zone by name and offset. */
const zoneZh = (tz, ms) => (tz === DEFAULT_TZ ? '北京时间' : `当地时间 ${tz} ${offsetOf(tz, ms)}`);
const zoneEn = (tz, ms) => (tz === DEFAULT_TZ ? 'Beijing time' : `local time, ${tz} ${offsetOf(tz, ms)}`);
const when = (ms, tz = DEFAULT_TZ) =>
  `${new Intl.DateTimeFormat('zh-CN', { timeZone: tz, dateStyle: 'medium', timeStyle: 'short', hourCycle: 'h23' }).format(ms)}（${zoneZh(tz, ms)} / ${tz === DEFAULT_TZ ? 'China time' : zoneEn(tz, ms)}）`;

let rider;
let device;
let shownStep = -1;
let currentCode = '';

const b64url = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');

async function codeAt(step) {
  const signed = `${rider.credential}.${step}`;
  const sig = await crypto.subtle.sign('Ed25519', device.privateKey, new TextEncoder().encode(signed));
  return `${signed}.${b64url(sig)}`;
}

async function draw() {
  const step = Math.floor(Date.now() / STEP_MS);
  if (step === shownStep) return;
  shownStep = step;
  currentCode = await codeAt(step);
  const qr = qrcode(0, 'L');
  qr.addData(currentCode);
  qr.make();
  $('qr').innerHTML = qr.createSvgTag({ cellSize: 4, margin: 4, scalable: true });
  $('qr').dataset.step = String(step);
}

function tick() {
  const left = Math.ceil((STEP_MS - (Date.now() % STEP_MS)) / 1000);
  $('seconds').textContent = String(left);
  $('seconds-en').textContent = String(left);
  draw();
}

const GROUPS = { courier: '快递员 / Courier', food_delivery: '外卖骑手 / Food delivery', outdoor_worker: '户外劳动者 / Outdoor worker', other: '其他 / Other' };
const clockTime = (ms, tz) => new Intl.DateTimeFormat('zh-CN', { timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(ms);
const dayOf = (ms, tz) => new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(ms);
const shortWhen = (ms, tz) => (dayOf(ms, tz) === dayOf(Date.now(), tz) ? clockTime(ms, tz) : `${dayOf(ms, tz).slice(5)} ${clockTime(ms, tz)}`);

/** What the cloud last said of this rider (issue 12), with the time of that answer. */
function showStatus(saved) {
  const box = $('status');
  box.replaceChildren();
  if (!saved) return;
  const s = saved.answer;
  // Every time of the answer is read on the clock of the station that opened the window (or
  // took the bottle): its service day is that zone's, and the caption below names the zone.
  const tz = s.timezone ?? DEFAULT_TZ;
  const line = (text, id, cls) => {
    const p = document.createElement('p');
    p.textContent = text;
    if (id) p.id = id;
    if (cls) p.className = cls;
    box.append(p);
  };
  // A day old answer says nothing about today: its "today" is named.
  const sameDay = s.today === dayOf(Date.now(), tz);
  line(`分组 / Group: ${GROUPS[s.group] ?? s.group}`);
  if (s.window?.active) {
    line(`领水期 ${s.window.from} 至 ${s.window.to}，还剩 ${s.daysLeft} 天 / Window ${s.window.from} – ${s.window.to}: ${s.daysLeft} days left`, 'st-window');
    const day = sameDay ? '今日' : `${s.today}`;
    const dayEn = sameDay ? 'Today’s bottle' : `Bottle of ${s.today}`;
    if (s.claimedToday && s.lastClaim) {
      line(`${day}已领水（${s.lastClaim.stationId}，${clockTime(s.lastClaim.at, tz)}）/ ${dayEn}: taken at ${s.lastClaim.stationId}, ${clockTime(s.lastClaim.at, tz)}`, 'st-bottle');
    } else {
      line(`${day}还可领一瓶 / ${dayEn}: not taken yet`, 'st-bottle');
    }
  } else if (s.window) {
    line(`领水期已于 ${s.window.to} 结束，到驿站扫码报到即可再领 7 天 / Your window ended on ${s.window.to}: check in at a station for 7 more days`, 'st-window');
  } else {
    line('还没有领水期：到驿站扫码报到后，7 天内每天可领一瓶 / No window yet: check in at a station, then take a bottle a day for 7 days', 'st-window');
  }
  for (const l of s.lockers ?? []) {
    const deadline = l.deadlineAt ? `，请在 ${shortWhen(l.deadlineAt, tz)} 前取出 / take out by ${shortWhen(l.deadlineAt, tz)}` : '';
    line(
      `储物柜 ${l.label}（${l.stationId}）：${shortWhen(l.depositedAt, tz)} 存入${deadline}${l.overdue ? '（已超时，请尽快取出或联系工作人员 / overdue: take your things or ask the staff）' : ''} / Locker ${l.label} at ${l.stationId}, in since ${shortWhen(l.depositedAt, tz)}`,
      null,
      l.overdue ? 'locker overdue' : 'locker',
    );
  }
  if (s.credentialExpiresAt) line(`通行码有效期至 / Code valid until: ${when(s.credentialExpiresAt, tz)}`);
  const at = document.createElement('p');
  at.className = 'small';
  at.id = 'status-at';
  at.textContent = `更新于 ${shortWhen(saved.at, tz)}（${zoneZh(tz, saved.at)}）/ updated at ${shortWhen(saved.at, tz)} (${zoneEn(tz, saved.at)})`;
  box.append(at);
  box.dataset.at = String(saved.at);
  showHazards(s.hazards ?? []);
}

async function refreshStatus() {
  try {
    const res = await fetch('/v1/me', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: currentCode }) });
    const answer = await res.json();
    if (res.status === 403 && answer.error === 'revoked') return say('此通行码已停用，请联系服务窗口。 / This code was stopped; please ask the service desk.', 'revoked');
    if (!res.ok) return;
    const saved = { answer, at: answer.at ?? Date.now() };
    await put('status', saved);
    showStatus(saved);
  } catch {
    // Offline: the last answer stays on screen with its time.
  }
}

function say(text, code) {
  $('message').textContent = text;
  $('message').dataset.code = code;
}

async function withdraw() {
  $('confirm-yes').disabled = true;
  try {
    const res = await fetch('/v1/me/withdraw', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: currentCode }) });
    const answer = await res.json().catch(() => ({}));
    if (!res.ok && answer.error !== 'revoked') return say('未能退出，请稍后再试或到服务窗口办理。 / Could not withdraw; try again later or ask the service desk.', answer.error ?? 'other');
  } catch {
    return say('退出需要联网，请联网后再按。 / Withdrawing needs the internet: connect and press again.', 'network');
  } finally {
    $('confirm-yes').disabled = false;
  }
  await eraseAll();
  for (const id of ['code', 'withdraw-box', 'hazard-box']) $(id).hidden = true;
  $('gone').hidden = false;
  document.body.dataset.withdrawn = 'true';
}

async function init() {
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('/r/sw.js', { scope: '/r/' }).catch(() => {});
  rider = await get('rider').catch(() => null);
  device = await get('device').catch(() => null);
  if (!rider?.credential || !device?.privateKey) {
    $('none').hidden = false;
    document.body.dataset.ready = 'true';
    return;
  }
  $('code').hidden = false;
  $('withdraw-box').hidden = false;
  $('hazard-box').hidden = false;
  initHazards({ code: () => currentCode, sent: refreshStatus });
  showStatus(await get('status').catch(() => null));
  await draw();
  tick();
  setInterval(tick, 1000);
  $('withdraw').addEventListener('click', () => ($('confirm').hidden = false));
  $('confirm-no').addEventListener('click', () => ($('confirm').hidden = true));
  $('confirm-yes').addEventListener('click', withdraw);
  document.body.dataset.ready = 'true';
  refreshStatus();
  setInterval(refreshStatus, 60_000);
  document.addEventListener('visibilitychange', () => document.visibilityState === 'visible' && refreshStatus());
}

init();
