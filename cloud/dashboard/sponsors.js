// Dashboard: sponsors, their relays and statements (SPEC §17), in the page's language (i18n.js).
// Builds its own section (so the page needs only the script tag), marked with data-i18n* so the
// toggle refills it; the table, the sponsor boxes and what each form last said are redrawn from
// state on the toggle. Uses app.js's api(), addLoader(), fillTable(), stationList and $() (loaded
// before this file). Sponsor names and contacts are data and stay as typed. Text only ever goes
// in as textContent.
'use strict';

const sponsorsView = (() => {
  i18n.register({
    zh: {
      'sponsors.manage': '赞助方',
      'sponsors.col.name': '赞助方', 'sponsors.col.contact': '联系人', 'sponsors.col.relays': '供应站点和日期（服务日）',
      'sponsors.noRelay': '未安排', 'sponsors.relay': '{station} {from} – {to}',
      'sponsors.add': '新增赞助方', 'sponsors.name': '名称', 'sponsors.namePh': '例如：农夫山泉', 'sponsors.contact': '联系人',
      'sponsors.addButton': '新增', 'sponsors.added': '已新增 {name}（{id}）。',
      'sponsors.relayAdd': '安排供应', 'sponsors.sponsor': '赞助方', 'sponsors.stations': '站点（逗号分隔）',
      'sponsors.zone': '或片区', 'sponsors.from': '开始（服务日）', 'sponsors.to': '结束（服务日）',
      'sponsors.save': '保存', 'sponsors.saved': '已保存：{where}，{from} 至 {to}。',
      'sponsors.where': '请填写站点或片区中的一项（不要两项都填）。',
      'sponsors.firstAdd': '请先新增赞助方',
      'sponsors.statement': '感谢信和对账单', 'sponsors.month': '月份', 'sponsors.showStatement': '查看',
      'sponsors.summary': '{name}，{from} 至 {to}（服务日，{zone}）：发放 {bottles} 瓶，服务骑手 {riders} 人，补货 {restocks} 次（{restocked} 瓶）。',
      'sponsors.printable': '下载可打印页', 'sponsors.csv': '下载 CSV', 'sponsors.xlsx': '下载 Excel（.xlsx）',
      'sponsors.pickFirst': '请先选择赞助方和月份。',
      'sponsors.statementFailed': '未能读取对账单：{message}', 'sponsors.downloadFailed': '下载失败：{message}',
      'err.sponsor_exists': '已有同名赞助方（不区分大小写和空格）：请直接使用它。',
      'err.sponsor_limit': '赞助方数量已达上限：请联系管理员。',
      'err.unknown_sponsor': '没有这个赞助方（可能已被删除）：请点“刷新”后重新选择。',
      'err.relay_overlap': '该站点在这些日期已有赞助方：请调整日期（例如 1–14 日和 15–30 日）。',
    },
    en: {
      'sponsors.manage': 'Sponsors',
      'sponsors.col.name': 'Sponsor', 'sponsors.col.contact': 'Contact', 'sponsors.col.relays': 'Relays (service days)',
      'sponsors.noRelay': 'none', 'sponsors.relay': '{station} {from} – {to}',
      'sponsors.add': 'Add a sponsor', 'sponsors.name': 'Name', 'sponsors.namePh': 'e.g. Nongfu Spring', 'sponsors.contact': 'Contact',
      'sponsors.addButton': 'Add', 'sponsors.added': 'Added {name} ({id}).',
      'sponsors.relayAdd': 'Add a relay', 'sponsors.sponsor': 'Sponsor', 'sponsors.stations': 'Stations (comma-separated)',
      'sponsors.zone': 'or zone', 'sponsors.from': 'From (service day)', 'sponsors.to': 'To (service day)',
      'sponsors.save': 'Save', 'sponsors.saved': 'Saved: {where}, {from} to {to}.',
      'sponsors.where': 'Fill in either the stations or the zone (not both).',
      'sponsors.firstAdd': 'Add a sponsor first',
      'sponsors.statement': 'Thank-you statement', 'sponsors.month': 'Month', 'sponsors.showStatement': 'Show',
      'sponsors.summary': '{name}, {from} to {to} (service days, {zone}): {bottles} bottles given, {riders} riders served, {restocks} restocks ({restocked} bottles).',
      'sponsors.printable': 'Download the printable page', 'sponsors.csv': 'Download CSV', 'sponsors.xlsx': 'Download Excel (.xlsx)',
      'sponsors.pickFirst': 'Choose a sponsor and a month first.',
      'sponsors.statementFailed': 'Could not read the statement: {message}', 'sponsors.downloadFailed': 'Download failed: {message}',
      'err.sponsor_exists': 'A sponsor with this name exists already (case and spaces aside): use that one.',
      'err.sponsor_limit': 'The sponsor list is full: ask the administrator.',
      'err.unknown_sponsor': 'No such sponsor (it may have been removed): press Refresh and choose again.',
      'err.relay_overlap': 'A station already has a sponsor on some of these days: change the dates (e.g. 1–14 and 15–30).',
    },
  });

  /** What was last loaded and what each form last said (a key with its values, or an error code). */
  const state = { sponsors: null, said: { 'sponsor-add-result': null, 'relay-add-result': null, 'statement-summary': null } };

  function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    for (const c of children) e.append(c);
    return e;
  }
  /** A label above its box; the label's words are refilled by i18n.apply on every toggle. */
  const field = (key, input) => el('label', {}, text('span', key), input);
  /** An element whose words are a dictionary key (filled by i18n.apply, at load and on the toggle). */
  const text = (tag, key, attrs = {}) => el(tag, { 'data-i18n': key, ...attrs });

  function build() {
    const section = el('section', { id: 'sponsors-section' },
      text('h2', 'sponsors.manage'),
      el('div', { class: 'scroll' }, el('table', { id: 'sponsors-table', class: 'cards' },
        el('thead', {}, el('tr', {}, text('th', 'sponsors.col.name'), text('th', 'sponsors.col.contact'), text('th', 'sponsors.col.relays'))),
        el('tbody'))),
      el('form', { id: 'sponsor-add' }, text('h3', 'sponsors.add'),
        field('sponsors.name', el('input', { id: 'sponsor-name', required: '', maxlength: '128', 'data-i18n-placeholder': 'sponsors.namePh', autocomplete: 'off' })),
        field('sponsors.contact', el('input', { id: 'sponsor-contact', maxlength: '200', autocomplete: 'off' })),
        text('button', 'sponsors.addButton', { type: 'submit', id: 'sponsor-add-button' }),
        el('p', { id: 'sponsor-add-result', role: 'status' })),
      el('form', { id: 'relay-add' }, text('h3', 'sponsors.relayAdd'),
        field('sponsors.sponsor', el('select', { id: 'relay-sponsor', required: '' })),
        field('sponsors.stations', el('input', { id: 'relay-stations', placeholder: 'dn-001, dn-002', autocomplete: 'off' })),
        field('sponsors.zone', el('input', { id: 'relay-zone', placeholder: 'daning', list: 'relay-zones', autocomplete: 'off' })),
        el('datalist', { id: 'relay-zones' }),
        field('sponsors.from', el('input', { id: 'relay-from', type: 'date', required: '' })),
        field('sponsors.to', el('input', { id: 'relay-to', type: 'date', required: '' })),
        text('button', 'sponsors.save', { type: 'submit', id: 'relay-add-button' }),
        el('p', { id: 'relay-add-result', role: 'status' })),
      el('form', { id: 'statement-form' }, text('h3', 'sponsors.statement'),
        field('sponsors.sponsor', el('select', { id: 'statement-sponsor', required: '' })),
        field('sponsors.month', el('input', { id: 'statement-month', type: 'month', required: '' })),
        text('button', 'sponsors.showStatement', { type: 'submit', id: 'statement-show' }),
        el('p', { id: 'statement-summary', role: 'status' }),
        el('p', { class: 'statement-downloads' },
          text('button', 'sponsors.printable', { type: 'button', id: 'statement-html' }), ' ',
          text('button', 'sponsors.csv', { type: 'button', id: 'statement-csv' }), ' ',
          text('button', 'sponsors.xlsx', { type: 'button', id: 'statement-xlsx' }))));
    $('app-view').append(section);
    // Filled now too, for a script that runs after the page's first fill.
    i18n.apply(section);
  }

  async function load() {
    state.sponsors = (await (await api('/v1/sponsors')).json()).sponsors;
    render();
  }

  function renderSaid(id) {
    const out = $(id);
    const s = state.said[id];
    out.className = s?.code || s?.error ? 'error' : '';
    if (!s) out.textContent = '';
    else if (s.code) out.textContent = s.wrap ? t(s.wrap, { message: errorText(s.code) }) : errorText(s.code);
    else out.textContent = t(s.key, s.vars);
  }

  /** One line per relay: station and service days. */
  function relayList(relays) {
    const ul = el('ul', { class: 'relays' });
    for (const r of relays) {
      const li = el('li');
      li.textContent = t('sponsors.relay', { station: r.stationId, from: r.from, to: r.to });
      ul.append(li);
    }
    return ul;
  }

  function render() {
    for (const id of Object.keys(state.said)) renderSaid(id);
    const zones = $('relay-zones');
    zones.replaceChildren(...[...new Set(stationList.map((s) => s.zone).filter(Boolean))].sort().map((z) => new Option(z, z)));
    if (!state.sponsors) return;
    const list = state.sponsors;
    fillTable('sponsors-table', list, (s) => [
      s.name,
      s.contact || '—',
      s.relays.length ? relayList(s.relays) : t('sponsors.noRelay'),
    ]);
    // Rebuilt only when the list or the language changed, so the refresh timer does not close a
    // box the office has open.
    const signature = JSON.stringify([i18n.lang(), list.map((s) => [s.id, s.name])]);
    for (const id of ['relay-sponsor', 'statement-sponsor']) {
      const sel = $(id);
      if (sel.dataset.signature === signature) continue;
      sel.dataset.signature = signature;
      const keep = sel.value;
      // No sponsor yet: say so in the box (empty value, so the required select stops the form).
      const options = list.length ? list.map((s) => new Option(s.name, s.id)) : [new Option(t('sponsors.firstAdd'), '')];
      sel.replaceChildren(...options);
      if (list.some((s) => s.id === keep)) sel.value = keep;
    }
  }

  /** Run one form's request and say in its place what came of it (a refusal as `wrap` around
   *  the error's text, when given); after a change, reload the list. */
  async function submitted(outId, work, { wrap = null, reload = true } = {}) {
    try {
      state.said[outId] = await work();
    } catch (e) {
      state.said[outId] = { code: e instanceof ApiFailure ? e.code : 'network', wrap };
      renderSaid(outId);
      return;
    }
    renderSaid(outId);
    if (reload) await load().catch(() => undefined);
  }

  const postJson = (path, body) => api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());

  /** The statement's query for the chosen month (service days of that calendar month). */
  function statementQuery(format) {
    const [y, m] = $('statement-month').value.split('-').map(Number);
    const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
    const mm = String(m).padStart(2, '0');
    const q = new URLSearchParams({ from: `${y}-${mm}-01`, to: `${y}-${mm}-${String(last).padStart(2, '0')}` });
    if (format) q.set('format', format);
    // The tables come in the page's language; the printable page is the cloud's own document.
    if (format === 'csv' || format === 'xlsx') q.set('lang', i18n.lang());
    return `/v1/sponsors/${encodeURIComponent($('statement-sponsor').value)}/statement?${q}`;
  }

  async function downloadStatement(format) {
    if (!$('statement-sponsor').value || !$('statement-month').value) {
      state.said['statement-summary'] = { key: 'sponsors.pickFirst' };
      renderSaid('statement-summary');
      return;
    }
    try {
      const res = await api(statementQuery(format));
      const a = el('a', { href: URL.createObjectURL(await res.blob()), download: `statement-${$('statement-sponsor').value}-${$('statement-month').value}.${format}` });
      document.body.append(a);
      a.click();
      a.remove();
    } catch (e) {
      state.said['statement-summary'] = { code: e instanceof ApiFailure ? e.code : 'network', wrap: 'sponsors.downloadFailed' };
      renderSaid('statement-summary');
    }
  }

  function wire() {
    build();
    $('sponsor-add').addEventListener('submit', (ev) => {
      ev.preventDefault();
      submitted('sponsor-add-result', async () => {
        const contact = $('sponsor-contact').value.trim();
        const r = await postJson('/v1/sponsors', { name: $('sponsor-name').value, ...(contact ? { contact } : {}) });
        $('sponsor-name').value = '';
        return { key: 'sponsors.added', vars: { name: r.name, id: r.id } };
      });
    });
    $('relay-add').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const stations = $('relay-stations').value.split(/[,，、\s]+/).filter(Boolean);
      const zone = $('relay-zone').value.trim();
      // Either stations or a zone: said here, before anything is sent.
      if ((stations.length > 0) === (zone !== '')) {
        state.said['relay-add-result'] = { key: 'sponsors.where', error: true };
        renderSaid('relay-add-result');
        return;
      }
      submitted('relay-add-result', async () => {
        const body = { ...(stations.length ? { stations } : { zone }), from: $('relay-from').value, to: $('relay-to').value };
        const r = await postJson(`/v1/sponsors/${encodeURIComponent($('relay-sponsor').value)}/relays`, body);
        return { key: 'sponsors.saved', vars: { where: r.relays.map((x) => x.stationId).join(', '), from: body.from, to: body.to } };
      });
    });
    $('statement-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      submitted('statement-summary', async () => {
        const s = await (await api(statementQuery())).json();
        return {
          key: 'sponsors.summary',
          vars: {
            name: s.sponsor.name, from: s.from, to: s.to, bottles: s.totals.bottles, riders: s.ridersServed,
            restocks: s.totals.restocks, restocked: s.totals.restockedBottles,
            // The zone's label is in the page's language: worked out again at each redraw.
            get zone() { return times.zoneLabel(s.timezone, Date.parse(`${s.from}T12:00:00Z`)); },
          },
        };
      }, { wrap: 'sponsors.statementFailed', reload: false });
    });
    $('statement-html').addEventListener('click', () => downloadStatement('html'));
    $('statement-csv').addEventListener('click', () => downloadStatement('csv'));
    $('statement-xlsx').addEventListener('click', () => downloadStatement('xlsx'));
    addLoader(load);
    i18n.onChange(render);
  }

  wire();
  return { load, render };
})();
