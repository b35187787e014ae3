// The station screen (SPEC §8 rider API; issue 4 "kiosk page"). Plain ES module, no build.
// A code arrives from the serial scanner over server-sent events, or is pasted in; the page
// then shows the rider's status and offers check-in, hot/cold water and the locker. Every
// outcome is shown in Chinese and English. The code is kept only in memory and forgotten
// after `idleResetMs` without a touch.

const $ = (id) => document.getElementById(id);

/** Messages per API code: [中文, English]. `{to}` is the last day of the window. */
const TEXT = {
  checked_in: ['报到成功，{from} 至 {to} 每天可领一瓶水', 'Checked in: one bottle a day from {from} to {to}'],
  already_checked_in: ['您已报到，有效期至 {to}', 'You are already checked in; your window ends {to}'],
  committed_hot: ['请取走您的热水', 'Please take your hot water'],
  committed_cold: ['请取走您的冷水', 'Please take your cold water'],
  deposited: ['{compartment} 号柜门已打开，请放入物品并关好柜门', 'Compartment {compartment} is open: put your items in and close the door'],
  retrieved: ['{compartment} 号柜门已打开，请取走物品并关好柜门', 'Compartment {compartment} is open: take your items and close the door'],
  invalid_credential: ['无法识别此二维码', 'This code is not a valid rider code'],
  expired_credential: ['二维码已过期，请获取新的二维码', 'This code has expired; please get a new one'],
  revoked: ['此二维码已停用', 'This code has been revoked'],
  stale_code: ['二维码已过时，请在手机上重新出示（每 30 秒更新）', 'This code is out of date: show the code on your phone again (it changes every 30 s)'],
  not_checked_in: ['请先报到', 'Please check in first'],
  already_claimed_today: ['今日已领取，有效期至 {to}', 'Already taken today; your window ends {to}'],
  out_of_stock: ['该饮水已售罄，请选择其他', 'That water is out of stock; please choose the other'],
  dispenser_unavailable: ['饮水机暂不可用', 'The water dispenser is not available right now'],
  dispense_failed: ['出水失败，今日额度已退回，请重试', 'Nothing dropped; your quota was given back, please try again'],
  dispense_unknown: ['饮水机未响应，工作人员会处理', 'The dispenser did not answer; staff will resolve it'],
  locker_already_held: ['您已在使用 {compartment} 号柜', 'You already hold compartment {compartment}'],
  no_free_compartment: ['暂无空闲柜格', 'No compartment is free right now'],
  locker_unavailable: ['储物柜暂不可用，您的物品是安全的', 'The lockers are not available right now; your items are safe'],
  no_locker_held: ['您没有存放物品', 'You have no items stored'],
  rate_limited: ['操作太频繁，请稍后再试', 'Too many tries; please wait a moment'],
  ledger_unavailable: ['系统暂时无法记录，请稍后再试', 'The station cannot record right now; please try later'],
  network: ['网络错误，请重试', 'Connection problem; please try again'],
  wait: ['请稍候…', 'One moment…'],
  other: ['操作未完成', 'That did not work'],
};

let code = null;
let idleTimer = null;
let idleResetMs = 60_000;

function fill(s, vars) {
  return s.replace(/\{(\w+)\}/g, (_, k) => (vars && vars[k] != null ? String(vars[k]) : ''));
}

function show(kind, key, vars) {
  const [zh, en] = TEXT[key] ?? TEXT.other;
  const el = $('outcome');
  el.className = `outcome ${kind}`;
  el.dataset.code = key;
  el.replaceChildren(span('zh', fill(zh, vars)), span('en', fill(en, vars)));
  el.hidden = false;
}

function span(lang, text) {
  const s = document.createElement('span');
  s.lang = lang;
  s.textContent = text;
  return s;
}

function touch() {
  clearTimeout(idleTimer);
  idleTimer = setTimeout(reset, idleResetMs);
}

function reset() {
  code = null;
  $('rider').hidden = true;
  $('idle').hidden = false;
  $('outcome').hidden = true;
  $('code-input').value = '';
}

async function api(method, path, body) {
  const init = { method, headers: {} };
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

function renderStatus(s) {
  const el = $('rider-status');
  const lines = [];
  if (s.window) {
    lines.push([`报到有效期：${s.window.from} 至 ${s.window.to}`, `Checked in: ${s.window.from} to ${s.window.to}`]);
  } else {
    lines.push(['尚未报到，请先报到', 'Not checked in: please check in first']);
  }
  if (s.claimedToday) lines.push(['今日已领取', 'Already taken today', 'taken']);
  else if (s.window) lines.push(['今日可领一瓶水', 'One bottle available today']);
  if (s.locker) lines.push([`您的柜格：${s.locker.compartment}`, `Your compartment: ${s.locker.compartment}`]);
  el.replaceChildren(
    ...lines.map(([zh, en, cls]) => {
      const p = document.createElement('p');
      if (cls) p.className = cls;
      p.dataset.line = cls ?? '';
      p.append(span('zh', zh), document.createTextNode(' / '), span('en', en));
      return p;
    }),
  );
  $('btn-checkin').disabled = !!s.window;
  $('btn-hot').disabled = !s.window || s.claimedToday;
  $('btn-cold').disabled = !s.window || s.claimedToday;
  $('btn-deposit').disabled = !!s.locker;
  $('btn-retrieve').disabled = !s.locker;
}

async function refresh() {
  const r = await api('GET', `/v1/riders/status?credential=${encodeURIComponent(code)}`);
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

async function onCode(text) {
  const trimmed = String(text ?? '').trim();
  if (!trimmed) return;
  code = trimmed;
  touch();
  $('outcome').hidden = true;
  if (await refresh()) {
    $('idle').hidden = true;
    $('rider').hidden = false;
  }
}

async function act(action) {
  if (!code) return;
  touch();
  if (action === 'done') return reset();
  const buttons = document.querySelectorAll('.actions button');
  buttons.forEach((b) => (b.disabled = true));
  show('warn', 'wait');
  let r;
  if (action === 'checkin') {
    r = await api('POST', '/v1/checkins', { credential: code });
    if (r.status === 201) show('ok', 'checked_in', r.body.window);
    else if (r.status === 200) show('ok', 'already_checked_in', r.body.window);
  } else if (action === 'hot' || action === 'cold') {
    r = await api('POST', '/v1/claims', { credential: code, compartment: action });
    if (r.status === 201) show('ok', `committed_${action}`);
  } else if (action === 'deposit') {
    r = await api('POST', '/v1/lockers/deposit', { credential: code });
    if (r.status === 201) show('ok', 'deposited', r.body);
  } else if (action === 'retrieve') {
    r = await api('POST', '/v1/lockers/retrieve', { credential: code });
    if (r.status === 200) show('ok', 'retrieved', r.body);
  }
  if (r && (r.status >= 400 || r.status === 0)) {
    const err = r.body.error ?? 'other';
    const vars = { ...(r.body.window ?? {}), compartment: r.body.compartment };
    show(r.status >= 500 || r.status === 0 ? 'err' : 'warn', TEXT[err] ? err : 'other', vars);
  }
  if (code) await refreshKeepingOutcome();
}

async function refreshKeepingOutcome() {
  const r = await api('GET', `/v1/riders/status?credential=${encodeURIComponent(code)}`);
  if (r.status === 200) renderStatus(r.body);
}

function connectScanner() {
  const es = new EventSource('/v1/kiosk/events');
  es.addEventListener('open', () => {
    $('scanner-state').textContent = '扫码器已连接 / Scanner connected';
    document.body.dataset.scanner = 'connected';
  });
  es.addEventListener('scan', (ev) => {
    try {
      onCode(JSON.parse(ev.data).code);
    } catch {
      /* a malformed frame is ignored; the next scan works */
    }
  });
  es.addEventListener('error', () => {
    $('scanner-state').textContent = '扫码器未连接，可粘贴代码 / No scanner stream: paste your code';
    document.body.dataset.scanner = 'disconnected';
  });
}

async function init() {
  const info = await api('GET', '/v1/kiosk/info');
  if (info.status === 200) {
    idleResetMs = info.body.idleResetMs ?? idleResetMs;
    $('station').textContent = `${info.body.stationId} · ${info.body.day}`;
  }
  $('paste-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    onCode($('code-input').value);
  });
  document.querySelectorAll('.actions button').forEach((b) => b.addEventListener('click', () => act(b.dataset.action)));
  connectScanner();
  document.body.dataset.ready = 'true';
}

init();
