// The station screen (SPEC §8 rider API; docs/station.md "kiosk"). Plain ES module, no build.
// A code arrives from the serial scanner over server-sent events, or is pasted in; the page
// then shows the rider's status and offers check-in, hot/cold water and the locker. Every
// outcome is shown in Chinese and English and says what to do next. The code is kept only in
// memory and forgotten after `idleResetMs` without a touch, or sooner (with a countdown) once a
// locker has opened, so the next person cannot use it. 完成 / Done is always there.

const $ = (id) => document.getElementById(id);

/** Messages per API code: [中文, English]. `{to}` is the last day of the window. */
const TEXT = {
  checked_in: ['报到成功，{from} 至 {to} 每天可领一瓶水', 'Checked in: one bottle a day from {from} to {to}'],
  already_checked_in: ['您已报到，有效期至 {to}', 'You are already checked in; your window ends {to}'],
  // One quota across a zone (SPEC §13): the window was opened, or the day's bottle taken, at another station.
  already_checked_in_elsewhere: ['您已在 {station} 报到，本站同样有效，有效期至 {to}', 'You already checked in at {station}: the window is open here too, until {to}'],
  committed_hot: ['请取走您的热水', 'Please take your hot water'],
  committed_cold: ['请取走您的冷水', 'Please take your cold water'],
  deposited: ['{label} 号柜门已打开，请放入物品并关好柜门', 'Compartment {label} is open: put your items in and close the door'],
  retrieved: ['{label} 号柜门已打开，请取走物品并关好柜门', 'Compartment {label} is open: take your items and close the door'],
  invalid_credential: ['无法识别此二维码', 'This code is not a valid rider code'],
  stale_code: ['二维码已过期，请在手机上刷新后再扫', 'This code is out of date: refresh it on your phone and scan again'],
  expired_credential: ['二维码已过期，请获取新的二维码', 'This code has expired; please get a new one'],
  revoked: ['此二维码已停用', 'This code has been revoked'],
  not_checked_in: ['请先报到', 'Please check in first'],
  already_claimed_today: ['今日已领取，有效期至 {to}', 'Already taken today; your window ends {to}'],
  already_claimed_elsewhere: ['今日已在 {station} 领取，明天可再领，有效期至 {to}', 'Already taken today at {station}; come back tomorrow, your window ends {to}'],
  out_of_stock: ['该饮水已发完，请选择另一种', 'That water has run out; please choose the other'],
  dispenser_unavailable: ['饮水机暂不可用，请稍后再来', 'The water dispenser is not available right now; please come back later'],
  dispense_failed: ['出水失败，今日额度已退回，请再试一次', 'Nothing dropped; your quota was given back, please try once more'],
  dispense_failed_again: ['仍未出水，额度已退回。请稍后再来，工作人员会检查饮水机', 'Still nothing dropped; your quota was given back. Please come back later: staff will check the dispenser'],
  dispense_unknown: ['饮水机未回应：本次尚未计入，工作人员会核实（编号 {ref}）', 'The dispenser did not answer: not counted yet, staff will check (reference {ref})'],
  locker_already_held: ['您已在使用 {label} 号柜', 'You already hold compartment {label}'],
  no_free_compartment: ['暂无空闲柜格，请稍后再来', 'No compartment is free right now; please come back later'],
  locker_unavailable: ['储物柜暂不可用，您的物品是安全的，请稍后再来', 'The lockers are not available right now; your items are safe, please come back later'],
  no_locker_held: ['您没有存放物品', 'You have no items stored'],
  rate_limited: ['操作太频繁，请稍等一分钟再试', 'Too many tries; please wait a minute and try again'],
  too_soon: ['请稍等几秒再操作储物柜', 'Please wait a few seconds before using the lockers again'],
  ledger_unavailable: ['系统暂时无法记录，请稍后再试', 'The station cannot record right now; please try later'],
  network: ['网络错误，请重试', 'Connection problem; please try again'],
  wait: ['请稍候…', 'One moment…'],
  other: ['操作未完成，请重试或联系工作人员', 'That did not work; try again or ask staff'],
};

let code = null;
let idleTimer = null;
let countdownTimer = null;
let failedVends = 0;
let info = { idleResetMs: 60_000, afterLockerResetMs: 15_000, timezone: 'Asia/Shanghai', waterState: { hot: 'ok', cold: 'ok' } };

function fill(s, vars) {
  return s.replace(/\{(\w+)\}/g, (_, k) => (vars && vars[k] != null ? String(vars[k]) : ''));
}

function span(lang, text) {
  const s = document.createElement('span');
  s.lang = lang;
  s.textContent = text;
  return s;
}

function show(kind, key, vars) {
  const [zh, en] = TEXT[key] ?? TEXT.other;
  const el = $('outcome');
  el.className = `outcome ${kind}`;
  el.dataset.code = key;
  el.replaceChildren(span('zh', fill(zh, vars)), span('en', fill(en, vars)));
  el.hidden = false;
}

/** `11-25 14:03` in the station's time zone. */
function localTime(ms, withDate = true) {
  const parts = new Intl.DateTimeFormat('zh-CN', {
    timeZone: info.timezone, month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(new Date(ms));
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  return withDate ? `${p.month}-${p.day} ${p.hour}:${p.minute}` : `${p.hour}:${p.minute}`;
}

/** A short reference a rider can quote to staff: the claim id's first 8 characters. */
const refOf = (claimId) => String(claimId ?? '').replace(/-/g, '').slice(0, 8).toUpperCase();

// ---- session timers ------------------------------------------------------------------------

function endSessionIn(ms, visible) {
  clearTimeout(idleTimer);
  clearInterval(countdownTimer);
  const el = $('countdown');
  el.hidden = true;
  const endsAt = Date.now() + ms;
  idleTimer = setTimeout(reset, ms);
  if (!visible) return;
  const tick = () => {
    const s = Math.max(0, Math.ceil((endsAt - Date.now()) / 1000));
    el.replaceChildren(span('zh', `${s} 秒后自动退出`), document.createTextNode(' / '), span('en', `ending in ${s} s`));
    el.dataset.seconds = String(s);
    el.hidden = false;
  };
  tick();
  countdownTimer = setInterval(tick, 1000);
}

const touch = () => endSessionIn(info.idleResetMs, false);

function reset() {
  clearTimeout(idleTimer);
  clearInterval(countdownTimer);
  code = null;
  failedVends = 0;
  $('countdown').hidden = true;
  $('rider').hidden = true;
  $('idle').hidden = false;
  $('outcome').hidden = true;
  $('code-input').value = '';
}

// ---- API -----------------------------------------------------------------------------------

// A kiosk on a separate screen is opened once as `/#kiosk-token=…` (config kiosk.tokenSha256);
// the token is kept on that screen and sent with every rider request.
const hashToken = /(?:^#|&)kiosk-token=([^&]+)/.exec(location.hash);
if (hashToken) {
  localStorage.setItem('kioskToken', decodeURIComponent(hashToken[1]));
  history.replaceState(null, '', location.pathname);
}
const kioskToken = localStorage.getItem('kioskToken');

async function api(method, path, body) {
  const init = { method, headers: kioskToken ? { 'x-kiosk-token': kioskToken } : {} };
  if (body) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  try {
    const res = await fetch(path, init);
    const json = await res.json().catch(() => ({}));
    return { status: res.status, body: json };
  } catch {
    return { status: 0, body: { error: 'network' } };
  }
}

// ---- rendering -----------------------------------------------------------------------------

function line(zh, en, cls) {
  const p = document.createElement('p');
  if (cls) p.className = cls;
  p.dataset.line = cls ?? '';
  p.append(span('zh', zh), document.createTextNode(' / '), span('en', en));
  return p;
}

function renderStatus(s) {
  const lines = [];
  const w = s.window;
  if (w) {
    lines.push(line(`报到有效期：${w.from} 至 ${w.to}（还剩 ${s.windowDaysLeft} 天）`, `Checked in: ${w.from} to ${w.to} (${s.windowDaysLeft} days left)`, 'window'));
  } else if (s.lastWindowTo) {
    lines.push(line(`上次报到已于 ${s.lastWindowTo} 结束，请重新报到`, `Your last window ended ${s.lastWindowTo}: check in again`, 'ended'));
  } else {
    lines.push(line('尚未报到，请先报到', 'Not checked in: please check in first'));
  }
  if (s.pendingClaim) {
    const ref = refOf(s.pendingClaim.claimId);
    lines.push(line(`今日这瓶尚未计入，工作人员会核实（编号 ${ref}）`, `Today's bottle is not counted yet; staff will check (reference ${ref})`, 'pending'));
  } else if (s.claimedToday && s.claimedAt) {
    lines.push(line(`今日已在 ${s.claimedAt} 领取`, `Already taken today at ${s.claimedAt}`, 'taken'));
  } else if (s.claimedToday) {
    lines.push(line('今日已领取', 'Already taken today', 'taken'));
  } else if (w) {
    lines.push(line('今日可领一瓶水', 'One bottle available today'));
  }
  if (w && s.claimedToday) {
    if (s.nextBottleDay) lines.push(line(`明天可再领（${s.nextBottleDay}）`, `Next bottle tomorrow (${s.nextBottleDay})`, 'next'));
    else lines.push(line('有效期今天结束，明天请重新报到', 'Your window ends today: check in again tomorrow', 'next'));
  }
  const water = info.waterState ?? { hot: 'ok', cold: 'ok' };
  if (water.hot !== 'ok' && water.cold !== 'ok') {
    const empty = water.hot === 'empty' && water.cold === 'empty';
    lines.push(empty
      ? line('饮水已发完，工作人员补货后可领', 'The water has run out; staff will restock it', 'nowater')
      : line('饮水机暂停服务，请稍后再来', 'The water dispenser is out of service; please come back later', 'nowater'));
  }
  if (s.locker && s.locker.since && s.locker.deadline) {
    const since = localTime(s.locker.since);
    const due = localTime(s.locker.deadline);
    lines.push(line(`您的柜格：${s.locker.label}，${since} 存入，请在 ${due} 前取走`, `Your compartment: ${s.locker.label}, stored ${since}; take your items by ${due}`, 'locker'));
    lines.push(line(`时间为当地时间（${info.timezone}）`, `times are local (${info.timezone})`, 'tz'));
  } else if (s.locker) {
    lines.push(line(`您的柜格：${s.locker.label}，关好柜门后开始计时`, `Your compartment: ${s.locker.label}; storage time starts when the door is closed`, 'locker'));
  }
  $('rider-status').replaceChildren(...lines);
  const canClaim = !!w && !s.claimedToday;
  $('btn-checkin').disabled = !!w;
  $('btn-hot').disabled = !canClaim || water.hot !== 'ok';
  $('btn-cold').disabled = !canClaim || water.cold !== 'ok';
  $('btn-deposit').disabled = !!s.locker;
  $('btn-retrieve').disabled = !s.locker;
  $('btn-done').disabled = false;
}

function renderInfo() {
  $('station').textContent = `${info.stationId ?? ''} · ${info.day ?? ''}`;
  $('clock').textContent = info.now ? `${localTime(info.now, false)}（${info.timezone} 当地时间 / local time）` : '';
  const offers = [];
  const w = info.waterState ?? {};
  offers.push(['热水', 'hot water', w.hot === 'ok']);
  offers.push(['冷水', 'cold water', w.cold === 'ok']);
  if (info.lockers?.total) offers.push([`储物柜（空闲 ${info.lockers.free}）`, `lockers (${info.lockers.free} free)`, info.lockers.free > 0]);
  $('offers').replaceChildren(
    ...offers.map(([zh, en, on]) => {
      const li = document.createElement('li');
      if (!on) li.className = 'off';
      li.append(span('zh', zh), document.createTextNode(' / '), span('en', en));
      return li;
    }),
  );
  const enrol = $('enrol');
  if (info.enrolUrl) {
    if (!$('enrol-qr').getAttribute('src')) $('enrol-qr').src = '/kiosk/enrol-qr.svg';
    enrol.hidden = false;
  } else enrol.hidden = true;
  const help = $('help-line');
  help.textContent = info.helpLine ?? '';
  help.hidden = !info.helpLine;
  // "Scanner connected" means the scanner's serial port, as the station sees it.
  const scanner = info.scanner ?? 'none';
  document.body.dataset.scanner = scanner;
  $('scanner-state').textContent =
    scanner === 'connected' ? '扫码器已连接 / Scanner connected'
      : scanner === 'disconnected' ? '扫码器未连接，可粘贴代码，或联系工作人员 / Scanner not connected: paste your code, or ask staff'
        : '请粘贴代码 / Paste your code';
}

async function loadInfo() {
  const r = await api('GET', '/v1/kiosk/info');
  if (r.status !== 200) return;
  info = r.body;
  renderInfo();
}

async function refresh() {
  await loadInfo();
  const r = await api('GET', `/v1/riders/status?credential=${encodeURIComponent(code)}`);
  if (!code) return false;
  if (r.status !== 200) {
    show('err', r.body.error ?? 'other', r.body);
    $('rider').hidden = true;
    $('idle').hidden = false;
    code = null;
    return false;
  }
  renderStatus(r.body);
  return true;
}

// ---- actions -------------------------------------------------------------------------------

async function onCode(text) {
  const trimmed = String(text ?? '').trim();
  if (!trimmed) return;
  code = trimmed;
  failedVends = 0;
  touch();
  $('outcome').hidden = true;
  if (await refresh()) {
    $('idle').hidden = true;
    $('rider').hidden = false;
  }
}

async function act(action) {
  if (action === 'done') return reset();
  if (!code) return;
  touch();
  // While a request runs the other actions wait; 完成 / Done stays usable.
  document.querySelectorAll('.actions button:not(#btn-done)').forEach((b) => (b.disabled = true));
  show('warn', 'wait');
  const credential = code;
  let r;
  let lockerOpened = false;
  if (action === 'checkin') {
    r = await api('POST', '/v1/checkins', { credential });
    if (r.status === 201) show('ok', 'checked_in', r.body.window);
    else if (r.status === 200 && r.body.station) show('ok', 'already_checked_in_elsewhere', { ...r.body.window, station: r.body.station });
    else if (r.status === 200) show('ok', 'already_checked_in', r.body.window);
  } else if (action === 'hot' || action === 'cold') {
    r = await api('POST', '/v1/claims', { credential, compartment: action });
    if (r.status === 201) show('ok', `committed_${action}`);
  } else if (action === 'deposit') {
    r = await api('POST', '/v1/lockers/deposit', { credential });
    if (r.status === 201) {
      show('ok', 'deposited', r.body);
      lockerOpened = true;
    }
  } else if (action === 'retrieve') {
    r = await api('POST', '/v1/lockers/retrieve', { credential });
    if (r.status === 200) {
      show('ok', 'retrieved', r.body);
      lockerOpened = true;
    }
  }
  if (code !== credential) return; // Done was pressed meanwhile: the screen belongs to the next person.
  if (r && (r.status >= 400 || r.status === 0)) {
    let err = TEXT[r.body.error] ? r.body.error : 'other';
    if (err === 'dispense_failed' && ++failedVends > 1) err = 'dispense_failed_again';
    if (err === 'already_claimed_today' && r.body.station) err = 'already_claimed_elsewhere';
    const vars = { ...(r.body.window ?? {}), label: r.body.label ?? r.body.compartment, ref: refOf(r.body.claimId), station: r.body.station };
    show(r.status >= 500 || r.status === 0 ? 'err' : 'warn', err, vars);
  }
  await refreshKeepingOutcome();
  if (lockerOpened) endSessionIn(info.afterLockerResetMs ?? 15_000, true);
}

async function refreshKeepingOutcome() {
  await loadInfo();
  if (!code) return;
  const r = await api('GET', `/v1/riders/status?credential=${encodeURIComponent(code)}`);
  if (r.status === 200 && code) renderStatus(r.body);
  else $('btn-done').disabled = false;
}

function connectScanner() {
  const es = new EventSource('/v1/kiosk/events');
  es.addEventListener('open', () => (document.body.dataset.stream = 'connected'));
  es.addEventListener('scan', (ev) => {
    try {
      onCode(JSON.parse(ev.data).code);
    } catch {
      /* a malformed frame is ignored; the next scan works */
    }
  });
  // The page's own stream (scans reach it through this); EventSource reconnects by itself.
  es.addEventListener('error', () => (document.body.dataset.stream = 'disconnected'));
}

async function init() {
  await loadInfo();
  $('paste-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    onCode($('code-input').value);
  });
  document.querySelectorAll('.actions button').forEach((b) => b.addEventListener('click', () => act(b.dataset.action)));
  connectScanner();
  // The header's date and time follow the clock (past midnight too) and what can be served.
  setInterval(() => void (code ? refreshKeepingOutcome() : loadInfo()), 20_000);
  document.body.dataset.ready = 'true';
}

init();
