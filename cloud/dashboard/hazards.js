// Dashboard: the office's inbox of riders' hazard reports (SPEC §17). A list by state, each report
// with its text, place, time (Beijing time, labelled), the photo on demand, and a note with the
// buttons that move it forward (受理 / acknowledge, 已处理 / resolve). Uses app.js's token() and
// $() (loaded before this file); strings go through i18n.js's t() when the dashboard has it,
// Chinese with English beside otherwise. Data is written with textContent only.
'use strict';

const HZ = {
  zh: {
    'hazards.none': '没有这类上报', 'hazards.photo': '看照片', 'hazards.notePh': '处理说明（骑手能看到）',
    'hazards.ack': '受理', 'hazards.resolve': '已处理', 'hazards.failed': '未能更改，请刷新后再试：',
    'hazards.state.new': '新上报', 'hazards.state.acknowledged': '已受理', 'hazards.state.resolved': '已处理',
    'hazards.cat.safety': '安全隐患', 'hazards.cat.food_safety': '食品安全', 'hazards.cat.city_appearance': '市容环境', 'hazards.cat.traffic': '交通', 'hazards.cat.other': '其他',
    'hazards.by': '处理人', 'hazards.place': '地点', 'hazards.tz': '北京时间', 'hazards.rider': '骑手编号',
  },
  en: {
    'hazards.none': 'No reports in this state', 'hazards.photo': 'Show photo', 'hazards.notePh': 'Note on what was done (the rider sees it)',
    'hazards.ack': 'Acknowledge', 'hazards.resolve': 'Resolved', 'hazards.failed': 'Could not change it; refresh and try again: ',
    'hazards.state.new': 'New', 'hazards.state.acknowledged': 'Acknowledged', 'hazards.state.resolved': 'Resolved',
    'hazards.cat.safety': 'Safety', 'hazards.cat.food_safety': 'Food safety', 'hazards.cat.city_appearance': 'Street and cleanliness', 'hazards.cat.traffic': 'Traffic', 'hazards.cat.other': 'Other',
    'hazards.by': 'by', 'hazards.place': 'Place', 'hazards.tz': 'Beijing time', 'hazards.rider': 'Rider no.',
  },
};
const hasI18n = typeof i18n !== 'undefined';
if (hasI18n) i18n.register(HZ);
/** One label: the dashboard's language when it has the toggle, else Chinese with English beside. */
const hzText = (key) => (hasI18n ? t(key) : `${HZ.zh[key]} ${HZ.en[key]}`);

function hzTime(ms) {
  // The dashboard's own time helper (time.js) when it is loaded: one format and zone label everywhere.
  if (typeof times !== 'undefined') return times.dateTime(ms);
  const f = new Intl.DateTimeFormat('zh-CN', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  return `${f.format(new Date(ms))} (${hzText('hazards.tz')})`;
}

function hazardEl(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

async function showPhoto(h, box) {
  const res = await fetch(h.photo.url, { headers: { authorization: `Bearer ${token()}` } });
  if (!res.ok) throw new Error(`${res.status}`);
  const img = document.createElement('img');
  img.alt = `${hzText('hazards.photo')} ${h.id}`;
  img.className = 'hazard-photo';
  // As a data: URL: the dashboard's CSP allows data: images, not blob:.
  img.src = await blobToDataUrl(await res.blob());
  box.replaceChildren(img);
}

function blobToDataUrl(blob) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result);
    r.onerror = () => reject(r.error);
    r.readAsDataURL(blob);
  });
}

async function moveHazard(h, state, note, out) {
  const res = await fetch(`/v1/hazards/${h.id}/state`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token()}`, 'content-type': 'application/json' },
    body: JSON.stringify({ state, ...(note ? { note } : {}) }),
  });
  if (!res.ok) {
    const b = await res.json().catch(() => ({}));
    out.textContent = `${hzText('hazards.failed')}${b.message ?? res.status}`;
    out.className = 'error';
    return;
  }
  await loadHazards();
}

function hazardCard(h) {
  const card = hazardEl('article', undefined, `hazard state-${h.state}`);
  card.dataset.id = h.id;
  card.dataset.state = h.state;
  const head = hazardEl('p');
  head.append(hazardEl('strong', hzText(`hazards.cat.${h.category}`)), ` · ${hzTime(h.createdAt)} · `, hazardEl('span', hzText(`hazards.state.${h.state}`), 'hazard-state'));
  card.append(head, hazardEl('p', h.text, 'hazard-text'));
  if (h.place) {
    const where = [h.place.text, h.place.lat !== null ? `${h.place.lat}, ${h.place.lon}` : null].filter(Boolean).join(' · ');
    card.append(hazardEl('p', `${hzText('hazards.place')}: ${where}`, 'small'));
  }
  card.append(hazardEl('p', `${hzText('hazards.rider')}: ${h.riderId}`, 'small'));
  for (const c of h.changes) card.append(hazardEl('p', `${hzText(`hazards.state.${c.state}`)} · ${hzTime(c.at)} · ${hzText('hazards.by')} ${c.by}${c.note ? ` · ${c.note}` : ''}`, 'small'));
  if (h.photo) {
    const box = hazardEl('div', undefined, 'hazard-photo-box');
    const b = hazardEl('button', hzText('hazards.photo'));
    b.type = 'button';
    b.className = 'hazard-photo-button';
    b.addEventListener('click', () => showPhoto(h, box).catch((e) => (box.textContent = `${hzText('hazards.failed')}${e.message}`)));
    box.append(b);
    card.append(box);
  }
  if (h.state !== 'resolved') {
    const form = hazardEl('div', undefined, 'hazard-actions');
    const note = document.createElement('input');
    note.className = 'hazard-note';
    note.maxLength = 500;
    note.placeholder = hzText('hazards.notePh');
    note.setAttribute('aria-label', hzText('hazards.notePh'));
    const out = hazardEl('p', '', '');
    form.append(note);
    for (const state of h.state === 'new' ? ['acknowledged', 'resolved'] : ['resolved']) {
      const b = hazardEl('button', hzText(state === 'acknowledged' ? 'hazards.ack' : 'hazards.resolve'));
      b.type = 'button';
      b.dataset.to = state;
      b.addEventListener('click', () => moveHazard(h, state, note.value.trim(), out).catch((e) => (out.textContent = `${hzText('hazards.failed')}${e.message}`)));
      form.append(b);
    }
    form.append(out);
    card.append(form);
  }
  return card;
}

async function loadHazards() {
  const state = $('hazard-state').value;
  const res = await fetch(`/v1/hazards?state=${encodeURIComponent(state)}`, { headers: { authorization: `Bearer ${token()}` } });
  if (!res.ok) return; // a role without hazards (maintenance) sees the section empty
  const { hazards } = await res.json();
  const list = $('hazard-list');
  list.replaceChildren(...(hazards.length ? hazards.map(hazardCard) : [hazardEl('p', hzText('hazards.none'), 'small')]));
  $('hazard-count').textContent = `(${hazards.length})`;
  list.dataset.loaded = state;
}

$('hazard-state').addEventListener('change', () => loadHazards().catch(() => undefined));
$('refresh').addEventListener('click', () => loadHazards().catch(() => undefined));
if (hasI18n) i18n.onChange(() => loadHazards().catch(() => undefined));
new MutationObserver(() => {
  if (!$('app-view').hidden && token()) loadHazards().catch(() => undefined);
}).observe($('app-view'), { attributes: true, attributeFilter: ['hidden'] });
if (token() && !$('app-view').hidden) loadHazards().catch(() => undefined);
