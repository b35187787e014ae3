// The rider's code page (SPEC §14): the rotating QR `<credential>.<step>.<sig>`, signed on this
// phone with its non-extractable Ed25519 key and redrawn every 30 s, the seconds left, and what
// the cloud last said about this rider (marked with its time, so offline it is still shown).
import qrcode from '/r/vendor/qrcode.mjs';
import { eraseAll, get, put } from '/r/store.js';

const STEP_MS = 30_000;
const TZ = 'Asia/Shanghai';
const $ = (id) => document.getElementById(id);
const when = (ms) =>
  `${new Intl.DateTimeFormat('zh-CN', { timeZone: TZ, dateStyle: 'medium', timeStyle: 'short', hourCycle: 'h23' }).format(ms)}（北京时间 / China time）`;

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

function showStatus(saved) {
  const box = $('status');
  box.replaceChildren();
  if (!saved) return;
  const s = saved.answer;
  const line = (text) => {
    const p = document.createElement('p');
    p.textContent = text;
    box.append(p);
  };
  line(`分组 / Group: ${GROUPS[s.group] ?? s.group}`);
  if (s.window) {
    line(`领水期 / Window: ${s.window.from} – ${s.window.to}，还剩 ${s.daysLeft} 天 / ${s.daysLeft} days left`);
    line(s.claimedToday ? '今日已领水 / Today’s bottle taken' : '今日还可领一瓶 / Today’s bottle not taken yet');
  }
  if (s.credentialExpiresAt) line(`通行码有效期至 / Code valid until: ${when(s.credentialExpiresAt)}`);
  const at = document.createElement('p');
  at.className = 'small';
  at.textContent = `以上信息更新于 / As of: ${when(saved.at)}`;
  box.append(at);
  box.dataset.at = String(saved.at);
}

async function refreshStatus() {
  try {
    const res = await fetch('/v1/me', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: currentCode }) });
    const answer = await res.json();
    if (res.status === 403 && answer.error === 'revoked') return say('此通行码已停用，请联系服务窗口。 / This code was stopped; please ask the service desk.', 'revoked');
    if (!res.ok) return;
    const saved = { answer, at: Date.now() };
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
  for (const id of ['code', 'withdraw-box']) $(id).hidden = true;
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
  showStatus(await get('status').catch(() => null));
  await draw();
  tick();
  setInterval(tick, 1000);
  $('withdraw').addEventListener('click', () => ($('confirm').hidden = false));
  $('confirm-no').addEventListener('click', () => ($('confirm').hidden = true));
  $('confirm-yes').addEventListener('click', withdraw);
  document.body.dataset.ready = 'true';
  refreshStatus();
}

init();
