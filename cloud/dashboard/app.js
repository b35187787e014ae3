// Waystation dashboard core: plain browser script, no build step. The token stays in
// sessionStorage (gone when the tab closes) and goes out as a bearer token. Data is only ever
// written with textContent, never as HTML.
//
// For modules (report.js, health.js, stations.js, and those to come): api(path) fetches with
// the token and throws an ApiFailure whose message says what to do next; fillTable(id, rows,
// cells) fills a table's tbody (each cell labelled with its column for the phone's card
// layout); addLoader(fn) runs fn on every refresh (login, Refresh, the timer); stationZone(id)
// is a station's time zone from the station list.
'use strict';

const TOKEN_KEY = 'waystation.adminToken';
const $ = (id) => document.getElementById(id);

i18n.register({
  zh: {
    'page.title': '骑手驿站 · 看板',
    'page.heading': '骑手驿站 · 看板',
    'lang.group': '语言',
    'login.title': '登录',
    'login.token': '令牌（管理员或街道办）',
    'login.submit': '登录',
    'login.logout': '退出登录',
    'login.refused': '这个令牌不被接受：请检查是否输入完整（区分大小写），或向管理员索取新令牌。',
    'login.forbidden': '这个令牌不能查看看板（例如赞助方令牌只能查看自己的致谢报表）：请用管理员或街道办的令牌登录。',
    'status.updated': '已更新 {time}',
    'status.every': '每 {s} 秒自动刷新',
    'status.failed': '加载失败：{message}',
    'nav.refresh': '刷新',
  },
  en: {
    'page.title': 'Waystation · dashboard',
    'page.heading': 'Waystation · dashboard',
    'lang.group': 'Language',
    'login.title': 'Log in',
    'login.token': 'Token (admin or street office)',
    'login.submit': 'Log in',
    'login.logout': 'Log out',
    'login.refused': 'That token was not accepted: check it is complete (letters are case-sensitive), or ask the administrator for a new one.',
    'login.forbidden': 'This token cannot open the dashboard (a sponsor token sees only its own statement): log in with an admin or street-office token.',
    'status.updated': 'updated {time}',
    'status.every': 'refreshes every {s} s',
    'status.failed': 'failed to load: {message}',
    'nav.refresh': 'Refresh',
  },
});

function token() { return sessionStorage.getItem(TOKEN_KEY); }

/** An API call that failed: `code` is the API's stable code, the message says what to do. */
class ApiFailure extends Error {
  constructor(code, status) {
    super(errorText(code));
    this.code = code;
    this.status = status;
  }
}

async function api(path, init = {}) {
  let res;
  try {
    res = await fetch(path, { ...init, headers: { authorization: `Bearer ${token()}`, ...(init.headers || {}) } });
  } catch {
    throw new ApiFailure('network', 0);
  }
  if (res.status === 401) { logout('err.unauthorized'); throw new ApiFailure('unauthorized', 401); }
  if (!res.ok) {
    let code = `http_${res.status}`;
    try { code = (await res.json()).error || code; } catch { /* not JSON */ }
    throw new ApiFailure(code, res.status);
  }
  return res;
}

/** A new element with its text (as textContent, never HTML) and class, both optional. */
function textElement(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

/** Fill `#id tbody` with one row per item; a cell is text, a number, [text, class] or a Node. */
function fillTable(id, rows, cells) {
  const body = document.querySelector(`#${id} tbody`);
  const heads = Array.from(document.querySelectorAll(`#${id} thead th`), (th) => th.textContent.trim());
  body.replaceChildren();
  for (const r of rows) {
    const tr = document.createElement('tr');
    cells(r).forEach((c, i) => {
      const td = document.createElement('td');
      if (heads[i]) td.dataset.label = heads[i];
      if (c instanceof Node) { td.append(c); tr.append(td); return; }
      const [text, cls] = Array.isArray(c) ? c : [c, typeof c === 'number' ? 'n' : ''];
      td.textContent = String(text);
      if (cls) td.className = cls;
      tr.append(td);
    });
    body.append(tr);
  }
  if (rows.length === 0) {
    const tr = document.createElement('tr');
    const td = document.createElement('td');
    td.colSpan = heads.length;
    td.className = 'empty';
    td.textContent = t('common.none');
    tr.append(td);
    body.append(tr);
  }
}

// ---- stations' time zones, shared by every module that shows a station's time.
let stationList = [];
const stationZone = (id) => stationList.find((s) => s.id === id)?.timezone || times.DEFAULT_TZ;

// ---- refresh: every module's loader, in registration order, then the status line.
const loaders = [];
function addLoader(fn) { loaders.push(fn); }

// The page refreshes itself while it is logged in and visible: every 15 s, or every
// `?refresh=N` seconds (at least 2; `?refresh=0` turns it off).
const AUTO_REFRESH_S = (() => {
  const v = new URLSearchParams(location.search).get('refresh');
  if (v === null || v === '' || Number.isNaN(Number(v))) return 15;
  return Number(v) <= 0 ? 0 : Math.max(2, Number(v));
})();
let refreshing = false;
/** A refresh asked for while one runs (the week changed, say) runs again after it, not never. */
let refreshAgain = false;
let lastStatus = null;

function renderStatus() {
  const s = lastStatus;
  if (!s) return;
  if (s.loading) { $('status').textContent = t('common.loading'); return; }
  if (s.error) { $('status').textContent = t('status.failed', { message: errorText(s.error.code) }); $('status').className = 'error'; return; }
  $('status').className = '';
  const every = AUTO_REFRESH_S ? ` · ${t('status.every', { s: AUTO_REFRESH_S })}` : '';
  $('status').textContent = `${t('status.updated', { time: times.clock(s.at) })}${every}`;
}

async function refresh() {
  if (refreshing) { refreshAgain = true; return; }
  refreshing = true;
  refreshAgain = false;
  lastStatus = { loading: true };
  renderStatus();
  try {
    stationList = (await (await api('/v1/stations')).json()).stations;
    // One module failing (a role that may not see it, say) leaves the others loaded.
    let failure = null;
    for (const load of loaders) {
      try { await load(); } catch (e) { failure ??= e instanceof ApiFailure ? e : new ApiFailure('internal', 0); if (!(e instanceof ApiFailure)) console.error(e); }
    }
    lastStatus = failure ? { error: failure } : { at: Date.now() };
  } catch (e) {
    lastStatus = { error: e instanceof ApiFailure ? e : new ApiFailure('network', 0) };
  } finally {
    refreshing = false;
    renderStatus();
  }
  if (refreshAgain) await refresh();
}

if (AUTO_REFRESH_S) {
  setInterval(() => {
    if (token() && !document.hidden && !$('app-view').hidden) refresh();
  }, AUTO_REFRESH_S * 1000);
}

function show(loggedIn) {
  $('login-view').hidden = loggedIn;
  $('app-view').hidden = !loggedIn;
  $('logout').hidden = !loggedIn;
}

/** The login form's message, kept as a key so the language toggle can redo it. */
let loginMessageKey = null;
function logout(messageKey) {
  sessionStorage.removeItem(TOKEN_KEY);
  show(false);
  loginMessageKey = messageKey || null;
  $('login-error').textContent = messageKey ? t(messageKey) : '';
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const tok = $('token').value.trim();
  let res;
  try {
    res = await fetch('/v1/stations', { headers: { authorization: `Bearer ${tok}` } });
  } catch {
    loginMessageKey = 'err.network';
    $('login-error').textContent = t(loginMessageKey);
    return;
  }
  if (!res.ok) {
    loginMessageKey = res.status === 403 ? 'login.forbidden' : 'login.refused';
    $('login-error').textContent = t(loginMessageKey);
    return;
  }
  loginMessageKey = null;
  sessionStorage.setItem(TOKEN_KEY, tok);
  $('token').value = '';
  $('login-error').textContent = '';
  show(true);
  await refresh();
});
$('logout').addEventListener('click', () => logout(null));
$('refresh').addEventListener('click', refresh);

i18n.onChange(() => {
  renderStatus();
  if (loginMessageKey) $('login-error').textContent = t(loginMessageKey);
  $('time-note').textContent = t('time.note', { offset: times.offset(times.DEFAULT_TZ) });
});

// Start once every deferred module has registered its strings and loaders.
document.addEventListener('DOMContentLoaded', () => {
  $('time-note').textContent = t('time.note', { offset: times.offset(times.DEFAULT_TZ) });
  if (token()) { show(true); refresh(); } else { show(false); }
});
