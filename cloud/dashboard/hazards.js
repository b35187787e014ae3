// Dashboard: the office's inbox of riders' hazard reports (SPEC §17). A list by state, each report
// with its category, time (Beijing time, labelled), text, place and rider, its changes, the photo
// on demand, and a note with the buttons that move it forward (acknowledge, resolve). In the
// page's language (i18n.js); the rider's text, place and the office's notes are data and stay as
// written. Loads on every refresh (app.js's addLoader) and when the state filter changes; a
// redraw (the timer, the toggle) keeps the notes being written and the photos opened.
// Data is written with textContent only.
'use strict';

const hazardsView = (() => {
  const NOTE_MAX = 500;
  const CATEGORIES = ['safety', 'food_safety', 'city_appearance', 'traffic', 'other'];

  i18n.register({
    zh: {
      'hazards.title': '骑手隐患上报', 'hazards.show': '显示', 'hazards.all': '全部',
      'hazards.count': '共 {n} 条', 'hazards.none': '没有这类上报',
      'hazards.photo': '看照片', 'hazards.photoLoading': '正在加载照片…', 'hazards.photoAlt': '上报 {id} 的照片',
      'hazards.notePh': '处理说明（骑手能看到）',
      'hazards.ack': '受理', 'hazards.resolve': '已处理', 'hazards.saving': '正在保存…',
      'hazards.failed': '未能更改：{message}', 'hazards.photoFailed': '未能加载照片：{message}',
      'hazards.state.new': '新上报', 'hazards.state.acknowledged': '已受理', 'hazards.state.resolved': '已处理',
      'hazards.cat.safety': '安全隐患', 'hazards.cat.food_safety': '食品安全', 'hazards.cat.city_appearance': '市容环境', 'hazards.cat.traffic': '交通', 'hazards.cat.other': '其他',
      'hazards.place': '地点：{place}', 'hazards.rider': '骑手编号：{id}',
      'hazards.change': '{state} · {time} · 处理人 {by}',
      'err.hazard_state': '这条上报已被别人处理过：请点“刷新”查看它现在的状态。',
    },
    en: {
      'hazards.title': 'Hazard reports from riders', 'hazards.show': 'Show', 'hazards.all': 'All',
      'hazards.count': '{n} listed', 'hazards.none': 'No reports in this state',
      'hazards.photo': 'Show photo', 'hazards.photoLoading': 'Loading the photo…', 'hazards.photoAlt': 'Photo of report {id}',
      'hazards.notePh': 'Note on what was done (the rider sees it)',
      'hazards.ack': 'Acknowledge', 'hazards.resolve': 'Mark resolved', 'hazards.saving': 'Saving…',
      'hazards.failed': 'Not changed: {message}', 'hazards.photoFailed': 'Could not load the photo: {message}',
      'hazards.state.new': 'New', 'hazards.state.acknowledged': 'Acknowledged', 'hazards.state.resolved': 'Resolved',
      'hazards.cat.safety': 'Safety', 'hazards.cat.food_safety': 'Food safety', 'hazards.cat.city_appearance': 'Street and cleanliness', 'hazards.cat.traffic': 'Traffic', 'hazards.cat.other': 'Other',
      'hazards.place': 'Place: {place}', 'hazards.rider': 'Rider no.: {id}',
      'hazards.change': '{state} · {time} · by {by}',
      'err.hazard_state': 'Someone has moved this report on already: press Refresh to see its state now.',
    },
  });

  /** What was last loaded; rendering reads only this and the maps below. */
  const state = { filter: null, hazards: null, error: null };
  /** Per report: the note being written, the photo shown (a data: URL, or a failure code), the last attempt's outcome. */
  const drafts = new Map();
  const photos = new Map();
  const results = new Map();

  const el = textElement; // app.js
  const category = (c) => (CATEGORIES.includes(c) ? t(`hazards.cat.${c}`) : c);
  const stateText = (s) => t(`hazards.state.${s}`);

  function blobToDataUrl(blob) {
    return new Promise((resolve, reject) => {
      const r = new FileReader();
      r.onload = () => resolve(r.result);
      r.onerror = () => reject(r.error);
      r.readAsDataURL(blob);
    });
  }

  async function showPhoto(h) {
    photos.set(h.id, { loading: true });
    render();
    try {
      const res = await api(h.photo.url);
      // As a data: URL: the dashboard's CSP allows data: images, not blob:.
      photos.set(h.id, { src: await blobToDataUrl(await res.blob()) });
    } catch (e) {
      photos.set(h.id, { code: e instanceof ApiFailure ? e.code : 'network' });
    }
    render();
  }

  async function move(h, to) {
    const note = (drafts.get(h.id) ?? '').trim();
    results.set(h.id, { saving: true });
    render();
    try {
      await api(`/v1/hazards/${encodeURIComponent(h.id)}/state`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ state: to, ...(note ? { note } : {}) }),
      });
    } catch (e) {
      results.set(h.id, { code: e instanceof ApiFailure ? e.code : 'network' });
      render();
      return;
    }
    drafts.delete(h.id);
    results.delete(h.id);
    await load().catch(() => undefined);
  }

  function photoBox(h) {
    const box = el('div', undefined, 'hazard-photo-box');
    const shown = photos.get(h.id);
    if (shown?.src) {
      const img = el('img', undefined, 'hazard-photo');
      img.alt = t('hazards.photoAlt', { id: h.id });
      img.src = shown.src;
      box.append(img);
      return box;
    }
    const b = el('button', t(shown?.loading ? 'hazards.photoLoading' : 'hazards.photo'), 'hazard-photo-button');
    b.type = 'button';
    b.disabled = Boolean(shown?.loading);
    b.addEventListener('click', () => showPhoto(h));
    box.append(b);
    if (shown?.code) box.append(el('p', t('hazards.photoFailed', { message: errorText(shown.code) }), 'error'));
    return box;
  }

  function actions(h) {
    const form = el('div', undefined, 'hazard-actions');
    const note = document.createElement('input');
    note.className = 'hazard-note';
    note.id = `hazard-note-${h.id}`;
    note.maxLength = NOTE_MAX;
    note.placeholder = t('hazards.notePh');
    note.setAttribute('aria-label', t('hazards.notePh'));
    note.value = drafts.get(h.id) ?? '';
    note.addEventListener('input', () => { drafts.set(h.id, note.value); });
    form.append(note);
    const result = results.get(h.id);
    for (const to of h.state === 'new' ? ['acknowledged', 'resolved'] : ['resolved']) {
      const b = el('button', t(to === 'acknowledged' ? 'hazards.ack' : 'hazards.resolve'));
      b.type = 'button';
      b.dataset.to = to;
      b.disabled = Boolean(result?.saving);
      b.addEventListener('click', () => move(h, to));
      form.append(b);
    }
    const out = el('p', '', 'hazard-result');
    out.setAttribute('role', 'status');
    if (result?.saving) out.textContent = t('hazards.saving');
    else if (result?.code) { out.textContent = t('hazards.failed', { message: errorText(result.code) }); out.className = 'hazard-result error'; }
    form.append(out);
    return form;
  }

  function card(h) {
    const c = el('article', undefined, `hazard state-${h.state}`);
    c.dataset.id = h.id;
    c.dataset.state = h.state;
    const head = el('p', undefined, 'hazard-head');
    head.append(el('strong', category(h.category)), ` · ${times.dateTime(h.createdAt)} · `, el('span', stateText(h.state), 'hazard-state'));
    c.append(head, el('p', h.text, 'hazard-text'));
    if (h.place) {
      const where = [h.place.text, h.place.lat !== null && h.place.lat !== undefined ? `${h.place.lat}, ${h.place.lon}` : null].filter(Boolean).join(' · ');
      c.append(el('p', t('hazards.place', { place: where }), 'small hazard-place'));
    }
    c.append(el('p', t('hazards.rider', { id: h.riderId }), 'small'));
    for (const ch of h.changes) {
      const p = el('p', t('hazards.change', { state: stateText(ch.state), time: times.dateTime(ch.at), by: ch.by }), 'small hazard-change');
      if (ch.note) p.append(' · ', el('span', ch.note, 'hazard-change-note'));
      c.append(p);
    }
    if (h.photo) c.append(photoBox(h));
    if (h.state !== 'resolved') c.append(actions(h));
    return c;
  }

  function render() {
    const list = $('hazard-list');
    const msg = $('hazard-message');
    msg.hidden = !state.error;
    msg.textContent = state.error ? errorText(state.error) : '';
    $('hazard-count').textContent = state.hazards ? t('hazards.count', { n: state.hazards.length }) : '';
    // Keep the caret in the note being written when the list is redrawn.
    const active = document.activeElement;
    const focused = active instanceof HTMLInputElement && active.classList.contains('hazard-note')
      ? { id: active.id, start: active.selectionStart, end: active.selectionEnd } : null;
    if (!state.hazards) { list.replaceChildren(); return; }
    list.replaceChildren(...(state.hazards.length ? state.hazards.map(card) : [el('p', t('hazards.none'), 'small empty')]));
    list.dataset.loaded = state.filter;
    if (focused) {
      const again = document.getElementById(focused.id);
      if (again) { again.focus(); again.setSelectionRange(focused.start, focused.end); }
    }
  }

  async function load() {
    const filter = $('hazard-state').value;
    try {
      const { hazards } = await (await api(`/v1/hazards?state=${encodeURIComponent(filter)}`)).json();
      // Photos and outcomes of reports no longer listed go; a note being written stays until it is sent.
      const ids = new Set(hazards.map((h) => h.id));
      for (const m of [photos, results]) for (const id of [...m.keys()]) if (!ids.has(id)) m.delete(id);
      Object.assign(state, { filter, hazards, error: null });
    } catch (e) {
      // A role without hazards (maintenance) is told so here; the other sections still load.
      Object.assign(state, { filter, hazards: null, error: e instanceof ApiFailure ? e.code : 'internal' });
      render();
      throw e;
    }
    render();
  }

  addLoader(load);
  $('hazard-state').addEventListener('change', () => load().catch(() => undefined));
  i18n.onChange(() => { if (state.hazards || state.error) render(); });
  return { load, render, NOTE_MAX };
})();
