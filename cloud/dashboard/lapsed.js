// Dashboard: the lapsed riders the office can act on (SPEC §17, issue 15). For the week in the
// week picker (and the station filter): riders seen in the week before and not at all this week,
// each as a card with group and platform in words, last station and day seen, the contact where
// the rider opted in, the outreach notes (Beijing time, labelled), and a note box that records
// one more (POST /v1/riders/{id}/outreach). The list is a report part: it prints, its forms do not.
//
// Every load of the list is an audited view of the contacts on it, so the 15 s timer does not
// reload it: it loads when the week or station changes, on 刷新 / Refresh, after a note is recorded,
// and at most every LAPSED_STALE_MS otherwise. Data is written with textContent only.
'use strict';

const lapsedView = (() => {
  const NOTE_MAX = 500;
  const LAPSED_STALE_MS = 5 * 60_000;
  const GROUPS = ['courier', 'food_delivery', 'outdoor_worker', 'other'];
  const PLATFORMS = ['meituan', 'eleme', 'sf', 'jd', 'other'];

  i18n.register({
    zh: {
      'lapsedList.title': '流失骑手与联系记录',
      'lapsedList.hint': '{prevWeek} 来过（签到或领水），{week} 一次也没有来',
      'lapsedList.empty': '本周没有流失的骑手',
      'lapsedList.weekOnly': '流失骑手按周列出：请切换到“按周”查看。',
      'lapsedList.group': '分组', 'lapsedList.platform': '平台', 'lapsedList.lastStation': '最后到访站点',
      'lapsedList.lastDay': '最后到访日（服务日）', 'lapsedList.contact': '联系方式',
      'lapsedList.optedIn': '（骑手同意联系）', 'lapsedList.unknown': '未登记',
      'lapsedList.notes': '联系记录', 'lapsedList.noNotes': '还没有联系记录',
      'lapsedList.noteLabel': '这次联系的情况（最多 {max} 字）',
      'lapsedList.notePh': '例如：电话联系，下周回来',
      'lapsedList.counter': '{n} / {max} 字',
      'lapsedList.record': '记录联系', 'lapsedList.saving': '正在记录…', 'lapsedList.saved': '已记录。',
      'lapsedList.blank': '请先写下这次联系的情况，再点“记录联系”。',
      'lapsedList.tooLong': '联系记录最多 {max} 字：请删减后再记录。',
      'lapsedList.group.courier': '快递员', 'lapsedList.group.food_delivery': '外卖骑手',
      'lapsedList.group.outdoor_worker': '户外劳动者', 'lapsedList.group.other': '其他',
      'lapsedList.platform.meituan': '美团', 'lapsedList.platform.eleme': '饿了么', 'lapsedList.platform.sf': '顺丰',
      'lapsedList.platform.jd': '京东', 'lapsedList.platform.other': '其他',
      'err.unknown_rider': '云端没有这位骑手（可能已退出）：请点“刷新”更新名单。',
      'err.outreach_limit': '这位骑手的联系记录已达上限（200 条）：无法再记录，请联系管理员。',
    },
    en: {
      'lapsedList.title': 'Lapsed riders and outreach',
      'lapsedList.hint': 'seen in {prevWeek} (a check-in or a bottle), not at all in {week}',
      'lapsedList.empty': 'No lapsed riders this week',
      'lapsedList.weekOnly': 'Lapsed riders are listed by week: switch to "By week" to see them.',
      'lapsedList.group': 'Group', 'lapsedList.platform': 'Platform', 'lapsedList.lastStation': 'Last station',
      'lapsedList.lastDay': 'Last day seen (service day)', 'lapsedList.contact': 'Contact',
      'lapsedList.optedIn': '(rider opted in)', 'lapsedList.unknown': 'not recorded',
      'lapsedList.notes': 'Outreach', 'lapsedList.noNotes': 'No outreach yet',
      'lapsedList.noteLabel': 'What happened when you reached out (at most {max} characters)',
      'lapsedList.notePh': 'e.g. called, back next week',
      'lapsedList.counter': '{n} / {max} characters',
      'lapsedList.record': 'Record outreach', 'lapsedList.saving': 'Recording…', 'lapsedList.saved': 'Recorded.',
      'lapsedList.blank': 'Write what happened first, then press "Record outreach".',
      'lapsedList.tooLong': 'A note has at most {max} characters: shorten it and record it again.',
      'lapsedList.group.courier': 'Courier', 'lapsedList.group.food_delivery': 'Food delivery',
      'lapsedList.group.outdoor_worker': 'Outdoor worker', 'lapsedList.group.other': 'Other',
      'lapsedList.platform.meituan': 'Meituan', 'lapsedList.platform.eleme': 'Ele.me', 'lapsedList.platform.sf': 'SF',
      'lapsedList.platform.jd': 'JD', 'lapsedList.platform.other': 'Other',
      'err.unknown_rider': 'The cloud has no such rider (they may have withdrawn): press Refresh to update the list.',
      'err.outreach_limit': 'This rider has as many outreach notes as are kept (200): no more can be recorded, tell the administrator.',
    },
  });

  /** What was last loaded; rendering reads only this (and the drafts), so the toggle redraws at once. */
  const state = { key: null, at: 0, report: null, message: null, force: true };
  /** Per rider: the note being written, and what the last attempt to record one said. */
  const drafts = new Map();
  const results = new Map();

  const el = textElement; // app.js
  /** Characters as the cloud counts them (code points, not UTF-16 units). */
  const length = (s) => [...s].length;
  const groupText = (g) => (!g ? t('lapsedList.unknown') : GROUPS.includes(g) ? t(`lapsedList.group.${g}`) : g);
  const platformText = (p) => (!p ? t('lapsedList.unknown') : PLATFORMS.includes(p) ? t(`lapsedList.platform.${p}`) : p);

  function query() {
    const q = new URLSearchParams();
    if ($('week').value) q.set('week', $('week').value);
    const scope = $('station').value;
    if (scope.startsWith('zone:')) q.set('zone', scope.slice(5));
    else if (scope) q.set('station', scope);
    return q;
  }

  async function load({ force = false } = {}) {
    const weekMode = document.querySelector('input[name="mode"]:checked')?.value !== 'range';
    if (!weekMode) {
      Object.assign(state, { key: null, report: null, message: { key: 'lapsedList.weekOnly' } });
      render();
      return;
    }
    const q = query();
    const key = q.toString();
    if (!force && !state.force && key === state.key && Date.now() - state.at < LAPSED_STALE_MS) return;
    state.force = false;
    try {
      const report = await (await api(`/v1/reports/lapsed?${q}`)).json();
      // Another week or station: what the last attempts said belongs to the old list.
      if (key !== state.key) results.clear();
      Object.assign(state, { key, at: Date.now(), report, message: null });
    } catch (e) {
      Object.assign(state, { key: null, report: null, message: { code: e instanceof ApiFailure ? e.code : 'internal' } });
      render();
      throw e;
    }
    render();
  }

  function contactNode(contact) {
    const box = el('span');
    // A phone number dials; a WeChat id (or anything else) stays text to copy.
    if (/^\+?[\d\s()-]{5,}$/.test(contact)) {
      const a = el('a', contact, 'lapsed-tel');
      a.href = `tel:${contact.replace(/[\s()-]/g, '')}`;
      box.append(a);
    } else box.append(el('span', contact, 'lapsed-contact-text'));
    // Chinese sets its full-width brackets close; English puts a space before its own.
    box.append(i18n.lang() === 'zh' ? '' : ' ', el('span', t('lapsedList.optedIn'), 'lapsed-optin'));
    return box;
  }

  function field(dl, label, value) {
    dl.append(el('dt', label));
    const dd = el('dd');
    if (value instanceof Node) dd.append(value);
    else dd.textContent = value;
    dl.append(dd);
  }

  async function record(riderId, text, out, button) {
    const note = text.trim();
    if (note === '') { results.set(riderId, { key: 'lapsedList.blank' }); render(); return; }
    if (length(text) > NOTE_MAX) { results.set(riderId, { key: 'lapsedList.tooLong' }); render(); return; }
    button.disabled = true;
    out.className = 'lapsed-result';
    out.textContent = t('lapsedList.saving');
    try {
      await api(`/v1/riders/${encodeURIComponent(riderId)}/outreach`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ note: text }),
      });
    } catch (e) {
      results.set(riderId, { code: e instanceof ApiFailure ? e.code : 'network' });
      render();
      return;
    }
    drafts.delete(riderId);
    results.set(riderId, { key: 'lapsedList.saved', ok: true });
    await load({ force: true }).catch(() => undefined);
  }

  function card(r) {
    const li = el('li', undefined, 'lapsed-rider');
    li.dataset.rider = r.riderId;
    li.append(el('h3', r.riderId, 'lapsed-id'));
    const dl = el('dl', undefined, 'lapsed-facts');
    field(dl, t('lapsedList.group'), groupText(r.group));
    field(dl, t('lapsedList.platform'), platformText(r.platform));
    field(dl, t('lapsedList.lastStation'), r.lastStation ?? '—');
    field(dl, t('lapsedList.lastDay'), r.lastDay ?? '—');
    if (r.contact) field(dl, t('lapsedList.contact'), contactNode(r.contact));
    li.append(dl);

    li.append(el('h4', t('lapsedList.notes')));
    const notes = el('ul', undefined, 'lapsed-notes');
    if (r.outreach.length === 0) notes.append(el('li', t('lapsedList.noNotes'), 'empty'));
    // Newest first: the last contact is what the next caller needs.
    for (const o of [...r.outreach].reverse()) {
      const n = el('li');
      n.append(el('span', times.dateTime(o.at), 'lapsed-note-at'), ' · ', el('span', o.by, 'lapsed-note-by'), ' · ', el('span', o.note, 'lapsed-note-text'));
      notes.append(n);
    }
    li.append(notes);

    const form = el('form', undefined, 'lapsed-form no-print');
    const id = `lapsed-note-${r.riderId}`;
    const label = el('label', t('lapsedList.noteLabel', { max: NOTE_MAX }));
    label.htmlFor = id;
    const box = el('textarea', undefined, 'lapsed-note');
    box.id = id;
    box.rows = 2;
    box.maxLength = NOTE_MAX;
    box.placeholder = t('lapsedList.notePh');
    box.value = drafts.get(r.riderId) ?? '';
    const counter = el('span', '', 'lapsed-counter');
    counter.id = `${id}-count`;
    counter.setAttribute('aria-live', 'polite');
    box.setAttribute('aria-describedby', counter.id);
    const button = el('button', t('lapsedList.record'), 'lapsed-record');
    button.type = 'submit';
    const out = el('p', '', 'lapsed-result');
    out.setAttribute('role', 'status');
    const shown = results.get(r.riderId);
    if (shown) {
      out.textContent = shown.code ? errorText(shown.code) : t(shown.key, { max: NOTE_MAX });
      out.className = shown.ok ? 'lapsed-result ok' : 'lapsed-result error';
    }
    const count = () => {
      const n = length(box.value);
      counter.textContent = t('lapsedList.counter', { n, max: NOTE_MAX });
      counter.classList.toggle('error', n > NOTE_MAX);
    };
    count();
    box.addEventListener('input', () => { drafts.set(r.riderId, box.value); results.delete(r.riderId); out.textContent = ''; count(); });
    form.addEventListener('submit', (ev) => { ev.preventDefault(); record(r.riderId, box.value, out, button); });
    const row = el('div', undefined, 'lapsed-form-row');
    row.append(counter, button);
    form.append(label, box, row, out);
    li.append(form);
    return li;
  }

  function render() {
    const list = $('lapsed-riders-list');
    const msg = $('lapsed-riders-message');
    const r = state.report;
    $('lapsed-riders-hint').textContent = r ? t('lapsedList.hint', { week: r.week, prevWeek: r.prevWeek }) : '';
    msg.hidden = !state.message;
    msg.textContent = !state.message ? '' : state.message.code ? errorText(state.message.code) : t(state.message.key);
    // Keep the caret where it was when the list is redrawn (the toggle, a reload).
    const active = document.activeElement;
    const focused = active instanceof HTMLTextAreaElement && active.classList.contains('lapsed-note')
      ? { id: active.id, start: active.selectionStart, end: active.selectionEnd } : null;
    if (!r) { list.replaceChildren(); list.dataset.week = ''; return; }
    list.replaceChildren(...(r.riders.length ? r.riders.map(card) : [el('li', t('lapsedList.empty'), 'empty lapsed-empty')]));
    list.dataset.week = r.week;
    if (focused) {
      const again = document.getElementById(focused.id);
      if (again) { again.focus(); again.setSelectionRange(focused.start, focused.end); }
    }
  }

  addLoader(() => load());
  // An explicit Refresh reloads the list too (app.js runs the loaders after this flag is set).
  $('refresh').addEventListener('click', () => { state.force = true; });
  $('login-form').addEventListener('submit', () => { state.force = true; });
  i18n.onChange(render);
  return { load, render, NOTE_MAX };
})();
