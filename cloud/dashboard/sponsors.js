// Dashboard: sponsors, their relays and statements (SPEC §17), Chinese first with English beside.
// Builds its own section (so the page needs only the script tag) and uses app.js's api(),
// token(), fillTable() and $() (loaded before this file). Text only ever goes in as textContent.
'use strict';

const SPONSOR_ERRORS = {
  sponsor_exists: '已有同名赞助方（不区分大小写和空格），请直接使用它。 A sponsor with this name exists already (case and spaces aside): use that one.',
  sponsor_limit: '赞助方数量已达上限，请联系管理员。 The sponsor list is full: ask the administrator.',
  relay_overlap: '该站点在这些日期已有赞助方，请调整日期（例如 1–14 日和 15–30 日）。 A station already has a sponsor on some of these days: change the dates (e.g. 1–14 and 15–30).',
  unknown_station: '没有这个站点，请检查站点编号。 No such station: check the station ids.',
  unknown_zone: '这个片区没有站点，请检查片区名称。 No station is in this zone: check the zone.',
  bad_date: '日期不对，请选择开始和结束日期（结束不早于开始）。 The dates are not valid: pick a start and an end (the end not before the start).',
  bad_request: '请填写名称，或只填站点和片区中的一项。 Fill in the name, or only one of stations and zone.',
  forbidden: '此令牌无权操作赞助方。 This token may not manage sponsors.',
};
const sponsorError = (code) => SPONSOR_ERRORS[code] || `未能完成，请稍后再试（${code}）。 It did not work (${code}): try again later.`;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}
const field = (zh, en, input) => el('label', {}, `${zh} ${en} `, input);

function buildSponsorSection() {
  const section = el('section', { id: 'sponsors-section' },
    el('h2', {}, '赞助方 ', el('small', {}, 'Sponsors')),
    el('div', { class: 'scroll' }, el('table', { id: 'sponsors-table' },
      el('thead', {}, el('tr', {}, el('th', {}, '赞助方 Sponsor'), el('th', {}, '联系人 Contact'), el('th', {}, '供应站点和日期（服务日） Relays (service days)'))),
      el('tbody'))),
    el('form', { id: 'sponsor-add' }, el('h3', {}, '新增赞助方 ', el('small', {}, 'Add a sponsor')),
      field('名称', 'Name', el('input', { id: 'sponsor-name', required: '', maxlength: '128', placeholder: '农夫山泉 Nongfu Spring', autocomplete: 'off' })),
      field('联系人', 'Contact', el('input', { id: 'sponsor-contact', maxlength: '200', autocomplete: 'off' })),
      el('button', { type: 'submit', id: 'sponsor-add-button' }, '新增 Add'),
      el('p', { id: 'sponsor-add-result', role: 'status' })),
    el('form', { id: 'relay-add' }, el('h3', {}, '安排供应 ', el('small', {}, 'Add a relay')),
      field('赞助方', 'Sponsor', el('select', { id: 'relay-sponsor', required: '' })),
      field('站点（逗号分隔）', 'Stations (comma-separated)', el('input', { id: 'relay-stations', placeholder: 'dn-001, dn-002', autocomplete: 'off' })),
      field('或片区', 'or zone', el('input', { id: 'relay-zone', placeholder: 'daning', autocomplete: 'off' })),
      field('开始（服务日）', 'From (service day)', el('input', { id: 'relay-from', type: 'date', required: '' })),
      field('结束（服务日）', 'To (service day)', el('input', { id: 'relay-to', type: 'date', required: '' })),
      el('button', { type: 'submit', id: 'relay-add-button' }, '保存 Save'),
      el('p', { id: 'relay-add-result', role: 'status' })),
    el('form', { id: 'statement-form' }, el('h3', {}, '感谢信和对账单 ', el('small', {}, 'Thank-you statement')),
      field('赞助方', 'Sponsor', el('select', { id: 'statement-sponsor', required: '' })),
      field('月份', 'Month', el('input', { id: 'statement-month', type: 'month', required: '' })),
      el('button', { type: 'submit', id: 'statement-show' }, '查看 Show'),
      el('p', { id: 'statement-summary', role: 'status' }),
      el('p', {},
        el('button', { type: 'button', id: 'statement-html' }, '下载可打印页 Printable page'), ' ',
        el('button', { type: 'button', id: 'statement-csv' }, 'CSV'), ' ',
        el('button', { type: 'button', id: 'statement-xlsx' }, 'Excel (.xlsx)'))));
  $('app-view').append(section);
}

let sponsorList = [];

async function loadSponsors() {
  sponsorList = (await (await api('/v1/sponsors')).json()).sponsors;
  renderSponsors();
}

function renderSponsors() {
  fillTable('sponsors-table', sponsorList, (s) => [
    s.name,
    s.contact || '—',
    s.relays.length ? s.relays.map((r) => `${r.stationId} ${r.from} – ${r.to}`).join('；') : '未安排 none',
  ]);
  for (const id of ['relay-sponsor', 'statement-sponsor']) {
    const sel = $(id);
    const keep = sel.value;
    // No sponsor yet: say so in the box (empty value, so the required select stops the form).
    const options = sponsorList.length ? sponsorList.map((s) => new Option(s.name, s.id)) : [new Option('请先新增赞助方 Add a sponsor first', '')];
    sel.replaceChildren(...options);
    if (sponsorList.some((s) => s.id === keep)) sel.value = keep;
  }
}

async function post(path, body) {
  const res = await fetch(path, { method: 'POST', headers: { authorization: `Bearer ${token()}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

async function submitted(outId, work) {
  const out = $(outId);
  out.className = '';
  try {
    const r = await work();
    if (r.status !== 201) {
      out.className = 'error';
      out.textContent = sponsorError(r.body.error);
      return;
    }
    out.textContent = r.done;
    await loadSponsors();
  } catch (e) {
    out.className = 'error';
    out.textContent = `网络错误，请检查连接后再试。 Network error: check the connection and try again. (${e.message})`;
  }
}

/** The statement's query for the chosen month (service days of that calendar month). */
function statementQuery(format) {
  const [y, m] = $('statement-month').value.split('-').map(Number);
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  const mm = String(m).padStart(2, '0');
  const q = new URLSearchParams({ from: `${y}-${mm}-01`, to: `${y}-${mm}-${String(last).padStart(2, '0')}` });
  if (format) q.set('format', format);
  return `/v1/sponsors/${encodeURIComponent($('statement-sponsor').value)}/statement?${q}`;
}

async function downloadStatement(format, ext) {
  if (!$('statement-sponsor').value || !$('statement-month').value) return;
  const res = await api(statementQuery(format));
  const a = el('a', { href: URL.createObjectURL(await res.blob()), download: `statement-${$('statement-sponsor').value}-${$('statement-month').value}.${ext}` });
  document.body.append(a);
  a.click();
  a.remove();
}

function wireSponsors() {
  buildSponsorSection();
  $('sponsor-add').addEventListener('submit', (ev) => {
    ev.preventDefault();
    submitted('sponsor-add-result', async () => {
      const contact = $('sponsor-contact').value.trim();
      const r = await post('/v1/sponsors', { name: $('sponsor-name').value, ...(contact ? { contact } : {}) });
      if (r.status === 201) $('sponsor-name').value = '';
      return { ...r, done: `已新增 ${r.body.name}（${r.body.id}）。 Added ${r.body.name} (${r.body.id}).` };
    });
  });
  $('relay-add').addEventListener('submit', (ev) => {
    ev.preventDefault();
    submitted('relay-add-result', async () => {
      const stations = $('relay-stations').value.split(/[,，\s]+/).filter(Boolean);
      const zone = $('relay-zone').value.trim();
      const body = { ...(stations.length ? { stations } : {}), ...(zone ? { zone } : {}), from: $('relay-from').value, to: $('relay-to').value };
      const r = await post(`/v1/sponsors/${encodeURIComponent($('relay-sponsor').value)}/relays`, body);
      const where = r.body.relays ? r.body.relays.map((x) => x.stationId).join(', ') : '';
      return { ...r, done: `已保存：${where} ${body.from} – ${body.to}。 Saved: ${where}, ${body.from} to ${body.to}.` };
    });
  });
  $('statement-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const out = $('statement-summary');
    try {
      const s = await (await api(statementQuery())).json();
      out.className = '';
      out.textContent = `${s.sponsor.name} ${s.from} – ${s.to}（服务日，${s.timezone} 时间）：发放 ${s.totals.bottles} 瓶，服务骑手 ${s.ridersServed} 人，补货 ${s.totals.restocks} 次（${s.totals.restockedBottles} 瓶）。 `
        + `Bottles given ${s.totals.bottles}, riders served ${s.ridersServed}, restocks ${s.totals.restocks} (${s.totals.restockedBottles} bottles); service days in ${s.timezone} time.`;
    } catch (e) {
      out.className = 'error';
      out.textContent = `未能读取对账单，请稍后再试。 Could not read the statement: try again later. (${e.message})`;
    }
  });
  const fail = (e) => { $('statement-summary').className = 'error'; $('statement-summary').textContent = `下载失败，请重试。 Download failed: try again. (${e.message})`; };
  $('statement-html').addEventListener('click', () => downloadStatement('html', 'html').catch(fail));
  $('statement-csv').addEventListener('click', () => downloadStatement('csv', 'csv').catch(fail));
  $('statement-xlsx').addEventListener('click', () => downloadStatement('xlsx', 'xlsx').catch(fail));
  $('refresh').addEventListener('click', () => loadSponsors().catch(() => undefined));
  // Load when the signed-in view appears (after login, or at once with a session token).
  new MutationObserver(() => {
    if (!$('app-view').hidden && token()) loadSponsors().catch(() => undefined);
  }).observe($('app-view'), { attributes: true, attributeFilter: ['hidden'] });
  if (token() && !$('app-view').hidden) loadSponsors().catch(() => undefined);
  // The table's empty row is the dashboard's shared text: redrawn when the language flips.
  i18n.onChange(() => { if (!$('app-view').hidden) renderSponsors(); });
}

wireSponsors();
