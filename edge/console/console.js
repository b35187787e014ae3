// The station's maintenance console (docs/maintenance.md; SPEC §8 maintenance API). Plain ES
// module, no build. The token is kept in sessionStorage (this tab only) and sent as a bearer
// header; the live health arrives over server-sent events read with fetch, so the token never
// goes into a URL. Every message is Chinese first with English beside it and says what to do.
import { FAULTS, KINDS, OPEN_REASONS, STATES, explainFault } from './faults.js';
import { TEXT } from './messages.js';

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = 'waystation.maintenanceToken';


let token = sessionStorage.getItem(TOKEN_KEY);
let info = { timezone: 'Asia/Shanghai', labels: {}, sponsors: [], dispensers: [], storageLimitMs: 86_400_000 };
let health = null;
let selected = null;
let streamAbort = null;

const fill = (s, v) => s.replace(/\{(\w+)\}/g, (_, k) => (v && v[k] != null ? String(v[k]) : ''));

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-')) e.setAttribute(k, v);
    else e[k] = v;
  }
  e.append(...kids.filter((k) => k != null));
  return e;
}
const bi = (zh, en) => [el('span', { lang: 'zh' }, zh), ' ', el('span', { lang: 'en' }, en)];

function say(kind, key, vars) {
  const [zh, en] = TEXT[key] ?? TEXT.other;
  const m = $('msg');
  m.className = `msg ${kind}`;
  m.dataset.code = key;
  m.replaceChildren(el('span', { lang: 'zh' }, fill(zh, vars)), el('br'), el('span', { lang: 'en' }, fill(en, vars)));
  m.hidden = false;
}

/** `12-02 14:03` in the station's time zone (the page says which). */
function localTime(ms) {
  if (ms == null) return '—';
  const p = Object.fromEntries(new Intl.DateTimeFormat('zh-CN', {
    timeZone: info.timezone, month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return `${p.month}-${p.day} ${p.hour}:${p.minute}`;
}
const labelOf = (c) => info.labels?.[c] ?? c;

async function api(method, path, body) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    return { ok: false, code: 'network', body: {} };
  }
  const json = await res.json().catch(() => ({}));
  if (res.status === 401) logout('unauthorized');
  return { ok: res.ok, code: json.error ?? (res.ok ? 'ok' : 'other'), body: json };
}

// ---- login, stream -----------------------------------------------------------------------

async function login(t) {
  token = t;
  const r = await api('GET', '/v1/maintenance/console');
  if (!r.ok) {
    if (r.code !== 'unauthorized') say('err', r.code, { code: r.code });
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, t);
  info = r.body;
  $('station').textContent = `站点 Station ${info.stationId}`;
  $('who').textContent = `操作人 / by: ${info.operator}`;
  $('login').hidden = true;
  $('app').hidden = false;
  $('msg').hidden = true;
  fillForms();
  tickClock();
  void stream();
}

function logout(why) {
  sessionStorage.removeItem(TOKEN_KEY);
  token = null;
  streamAbort?.abort();
  streamAbort = null;
  $('app').hidden = true;
  $('login').hidden = false;
  if (why) say('err', why);
}

function setLive(on) {
  const l = $('live');
  l.dataset.live = String(on);
  l.replaceChildren(...(on ? bi('● 实时', 'live') : bi('○ 连接中断，正在重连…', 'disconnected, reconnecting…')));
}

async function stream() {
  const ctrl = new AbortController();
  streamAbort = ctrl;
  while (token && streamAbort === ctrl) {
    try {
      const res = await fetch('/v1/maintenance/events', { headers: { authorization: `Bearer ${token}` }, signal: ctrl.signal });
      if (res.status === 401) return logout('unauthorized');
      if (!res.ok || !res.body) throw new Error(String(res.status));
      setLive(true);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = frame.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          if (/^event: health$/m.test(frame) && data) render(JSON.parse(data));
        }
      }
    } catch {
      if (ctrl.signal.aborted) return;
    }
    setLive(false);
    await new Promise((r) => setTimeout(r, 3000));
  }
}

// ---- rendering ---------------------------------------------------------------------------

function render(h) {
  health = h;
  document.body.dataset.ready = 'true';
  renderDevices(h);
  renderCabinet(h.lockers);
  renderClaims(h.claims.awaitingResolution);
  renderJournal(h.lockers.recentUnlocks);
  renderPanel();
}

function renderDevices(h) {
  const stock = new Map(h.dispensers.map((d) => [d.dispenserId, d.stock]));
  const cards = h.devices.map((d) => {
    const [kz, ke] = KINDS[d.kind] ?? [d.kind, d.kind];
    const [sz, se] = STATES[d.state] ?? [d.state, d.state];
    const faults = d.faults.map((f) => {
      const x = explainFault(f);
      const at = d.faultSince?.[f];
      return el('li', { 'data-fault': f }, el('strong', {}, `${x.zh} / ${x.en}`), at ? el('span', { class: 'muted' }, ` · 自 since ${localTime(at)}`) : null,
        el('br'), el('span', {}, `${x.doZh}`), el('br'), el('span', { lang: 'en' }, x.doEn));
    });
    const detail = [];
    if (d.kind === 'dispenser') {
      const s = stock.get(d.id) ?? {};
      const t = d.detail?.tempC ?? {};
      detail.push(el('p', { class: 'stock', 'data-stock': d.id }, `热水 hot: ${s.hot ?? '—'} 瓶 · 冷水 cold: ${s.cold ?? '—'} 瓶`));
      detail.push(el('p', { class: 'muted' }, `温度 temp: 热 hot ${t.hot ?? '—'} °C · 冷 cold ${t.cold ?? '—'} °C · 机门 door: ${d.detail?.door === 'open' ? '开 open' : d.detail?.door === 'closed' ? '关 closed' : '—'}`));
    }
    const svc = el('button', { type: 'button', class: 'secondary', 'data-service': d.id }, d.inService ? '停用 / Take out of service' : '恢复使用 / Put back in service');
    svc.addEventListener('click', () => setService(d.id, !d.inService));
    return el('article', { class: `card ${d.state}`, 'data-device': d.id, 'data-state': d.state },
      el('h3', {}, `${d.id} `, el('small', {}, `${kz} ${ke}`)),
      el('p', {}, el('span', { class: `badge ${d.state}` }, `${sz} / ${se}`), d.since ? el('span', { class: 'since' }, ` 自 since ${localTime(d.since)}`) : null,
        el('br'), el('span', { class: 'muted' }, `最后联系 last seen ${localTime(d.lastSeen)}`)),
      ...detail,
      faults.length ? el('ul', { class: 'faults' }, ...faults) : el('p', { class: 'muted' }, '无故障 / no faults'),
      svc);
  });
  if (h.station.faults.length) {
    cards.unshift(el('article', { class: 'card degraded', 'data-device': 'station' }, el('h3', {}, '站点 Station'),
      el('ul', { class: 'faults' }, ...h.station.faults.map((f) => { const x = explainFault(f); return el('li', { 'data-fault': f }, `${x.zh} / ${x.en}: ${x.doZh} / ${x.doEn}`); }))));
  }
  $('devices').replaceChildren(...cards);
}

function cellState(c) {
  if (!c.inService) return 'off';
  // Its lock board is offline (edge/core/lockers/model.ts): nothing can be known or done here.
  if (c.state === 'unavailable') return 'unavailable';
  if (c.door === 'open') return 'open';
  if (c.overdue) return 'overdue';
  if (c.riderId) return 'held';
  return c.state === 'free' ? 'free' : 'busy';
}

function renderCabinet(l) {
  const boards = new Map();
  for (const c of l.compartments) {
    if (!boards.has(c.board)) boards.set(c.board, []);
    boards.get(c.board).push(c);
  }
  const cols = [...boards].sort((a, b) => a[0] - b[0]).map(([board, cs]) => el('div', { class: 'board' },
    el('h3', {}, `板 ${board} / Board ${board}`),
    el('div', { class: 'cells' }, ...cs.sort((a, b) => a.lock - b.lock).map((c) => {
      // Held: when the items went in (station time), and 超时 once overdue.
      const note = c.heldSince ? el('small', {}, c.overdue ? `超时 ${localTime(c.heldSince).slice(6)}` : localTime(c.heldSince).slice(6)) : null;
      const b = el('button', { type: 'button', class: `cell ${cellState(c)}${selected === c.compartment ? ' selected' : ''}`, 'data-compartment': c.compartment, 'data-cell': cellState(c), title: c.compartment }, labelOf(c.compartment), note);
      b.addEventListener('click', () => { selected = c.compartment; renderCabinet(health.lockers); renderPanel(); });
      return b;
    }))));
  $('cabinet').replaceChildren(el('p', { class: 'muted' }, `空闲 free ${l.free} / ${l.total} · 占用 held ${l.held} · 超时 overdue ${l.overdue}`), ...cols);
}

function renderPanel() {
  const c = selected && health?.lockers.compartments.find((x) => x.compartment === selected);
  $('locker-panel').hidden = !c;
  if (!c) return;
  const st = { free: '空闲 free', held: '占用 held', overdue: '超时 overdue', open: '门开 door open', off: '停用 out of service', unavailable: '锁控板离线，暂不可用 board offline, unavailable', busy: `处理中 ${c.state}` }[cellState(c)];
  const held = c.heldSince ? ` · 存入 held since ${localTime(c.heldSince)}${c.overdue ? '（已超时 overdue）' : ''}` : '';
  $('locker-info').textContent = `${labelOf(c.compartment)} (${c.compartment}): ${st} · 门 door ${c.door}${held}`;
  $('locker-service').textContent = c.inService ? '停用此柜格 / Take this door out of service' : '恢复此柜格 / Put this door back in service';
}

/** Why a vend is undecided (the claim's `reason`), and what to look at. */
const UNKNOWN_WHY = {
  indeterminate: '出水中途断电：看出货口有没有水 / Power was lost mid-vend: look in the outlet for a bottle',
  timeout: '饮水机没有按时回应 / The dispenser did not answer in time',
  restart: '站点重启时正在出水 / The station restarted during this vend',
};

function renderClaims(list) {
  const rows = list.map((c) => {
    const yes = el('button', { type: 'button', 'data-resolve': 'committed' }, '已出水 / Dropped');
    const no = el('button', { type: 'button', class: 'secondary', 'data-resolve': 'released' }, '未出水 / Not dropped');
    yes.addEventListener('click', () => resolve(c.claimId, 'committed'));
    no.addEventListener('click', () => resolve(c.claimId, 'released'));
    const ref = c.claimId.replace(/-/g, '').slice(0, 8).toUpperCase();
    return el('article', { class: 'card', 'data-claim': c.claimId },
      el('p', {}, el('strong', {}, `编号 ref ${ref}`), ` · 骑手 rider ${c.riderId}`),
      el('p', { class: 'muted' }, `${localTime(c.since)} · ${c.dispenserId ?? '—'} · ${c.compartment === 'hot' ? '热水 hot' : '冷水 cold'}`),
      el('p', { 'data-reason': c.reason ?? '' }, UNKNOWN_WHY[c.reason] ?? c.reason ?? ''),
      el('p', { class: 'actions' }, yes, no));
  });
  $('claims').replaceChildren(...(rows.length ? rows : [el('p', { class: 'muted' }, '没有待确认的记录 / nothing waiting')]));
}

const PURPOSE = { deposit: '存物 deposit', retrieve: '取物 retrieve', forced_open: '维护开门 maintenance' };
const OUTCOME = { opened: '已开 opened', stayed_shut: '未开 stayed shut', no_answer: '无应答 no answer', interrupted: '中断 interrupted' };
function renderJournal(list) {
  $('journal').tBodies[0].replaceChildren(...list.map((u) => el('tr', {},
    el('td', {}, localTime(u.startedTs)), el('td', {}, labelOf(u.compartment)), el('td', {}, PURPOSE[u.purpose] ?? u.purpose),
    el('td', {}, u.by), el('td', {}, u.outcome ? OUTCOME[u.outcome] ?? u.outcome : '进行中 in progress'))));
}

// ---- actions -----------------------------------------------------------------------------

function fillForms() {
  $('restock-dispenser').replaceChildren(...info.dispensers.map((d) => el('option', { value: d }, d)));
  $('restock-sponsor').replaceChildren(el('option', { value: '' }, '无 / none'), ...info.sponsors.map((s) => el('option', { value: s }, s)));
  // The sponsor whose relay covers the station today (synced from the cloud) is picked first.
  if (info.sponsorToday && info.sponsors.includes(info.sponsorToday)) $('restock-sponsor').value = info.sponsorToday;
  $('open-reason').replaceChildren(...OPEN_REASONS.map(([code, zh, en]) => el('option', { value: `${code}: ${zh} / ${en}` }, `${zh} / ${en}`)));
}

async function setService(id, inService) {
  const r = await api('PUT', `/v1/maintenance/devices/${encodeURIComponent(id)}/service`, { inService });
  if (r.ok) say('ok', inService ? 'service_on' : 'service_off', { id: labelOf(id) });
  else say('err', r.code, { code: r.code });
}

async function resolve(claimId, outcome) {
  const r = await api('POST', `/v1/maintenance/claims/${encodeURIComponent(claimId)}/resolve`, { outcome });
  if (r.ok) say('ok', `resolved_${outcome}`);
  else say('err', r.code, { code: r.code });
}

$('restock-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const body = { compartment: f.get('compartment'), count: Number(f.get('count')), mode: f.get('mode') };
  if (f.get('sponsor')) body.sponsor = f.get('sponsor');
  const dispenser = f.get('dispenser');
  const r = await api('POST', `/v1/maintenance/dispensers/${encodeURIComponent(dispenser)}/restock`, body);
  const vars = { dispenser, side: body.compartment === 'hot' ? '热水 hot' : '冷水 cold', ...r.body };
  if (!r.ok) return say('err', r.code, { code: r.code, ...r.body });
  if (r.body.unchanged) return say('ok', 'restock_unchanged', vars);
  if (!r.body.deviceTold) return say('warn', 'device_not_told', vars);
  say('ok', body.mode === 'set' ? 'restock_set' : 'restocked', vars);
});

$('open-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (!selected) return;
  const c = selected;
  const r = await api('POST', `/v1/maintenance/lockers/${encodeURIComponent(c)}/open`, { reason: $('open-reason').value });
  if (r.ok) say('ok', 'opened', { label: labelOf(c) });
  else say('err', r.code, { code: r.code });
});

$('locker-service').addEventListener('click', () => {
  const c = health?.lockers.compartments.find((x) => x.compartment === selected);
  if (c) void setService(c.compartment, !c.inService);
});

$('login-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  void login($('token-input').value.trim());
  $('token-input').value = '';
});
$('logout').addEventListener('click', () => logout());

function tickClock() {
  $('clock').textContent = `站点时间 Station time (${info.timezone}): ${localTime(Date.now())}`;
}
setInterval(tickClock, 15_000);
document.body.dataset.faults = String(Object.keys(FAULTS).length);
if (token) void login(token);
else document.body.dataset.ready = 'login';
