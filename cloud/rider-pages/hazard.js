// Hazard reports from the rider page (SPEC §17): the riders as street observers (线索上报人).
// A category, a few words, optionally a place and a photo. The photo is made smaller here on the
// phone — drawn on a canvas at most 1280 px on its longer side and sent as a JPEG — so a report
// stays small on a rider's data plan and under the cloud's limit. The report is proved by the
// page's current rotating code, like POST /v1/me.
const $ = (id) => document.getElementById(id);
const MAX_SIDE = 1280;
const TZ = 'Asia/Shanghai';

const CATEGORIES = { safety: '安全隐患 / Safety', food_safety: '食品安全 / Food safety', city_appearance: '市容环境 / Street', traffic: '交通 / Traffic', other: '其他 / Other' };
const STATES = { new: '已提交 / sent', acknowledged: '已受理 / being handled', resolved: '已处理 / resolved' };
const TEXT = {
  no_category: '请选择类别。 / Please pick what kind it is.',
  no_text: '请写几句看到了什么。 / Please say in a few words what you saw.',
  sending: '正在提交… / Sending…',
  sent: '已提交，谢谢！处理进度会显示在下面。 / Sent, thank you! You will see its progress below.',
  rate_limited: '今天已提交很多条，请明天再报；紧急情况请拨打 110 或 12345。 / You sent many reports today: try tomorrow; for an emergency call 110 or 12345.',
  photo_too_large: '照片太大，请重新拍一张。 / The photo is too large: take another one.',
  photo_invalid: '这张照片无法使用，请换一张。 / This photo cannot be used: pick another one.',
  photo_unreadable: '无法读取这张照片，请换一张或不附照片。 / Could not read this photo: pick another or send without one.',
  network: '上报需要联网，请联网后再按提交。 / Reporting needs the internet: connect and press Send again.',
  other: '未能提交，请稍后再试。 / Could not send it: try again later.',
};

let photo = null; // { type, data } (base64) once resized
let opts;

const when = (ms) => new Intl.DateTimeFormat('zh-CN', { timeZone: TZ, month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(ms);

function say(key, detail) {
  $('hazard-message').textContent = TEXT[key] ?? TEXT.other;
  $('hazard-message').dataset.code = key;
  if (detail) $('hazard-message').title = detail;
}

/** The picked image drawn at most MAX_SIDE px on its longer side, as a JPEG (base64). */
async function resized(file) {
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const w = Math.max(1, Math.round(bitmap.width * scale));
  const h = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff'; // a transparent PNG gets a white background, not black
  ctx.fillRect(0, 0, w, h);
  ctx.drawImage(bitmap, 0, 0, w, h);
  bitmap.close?.();
  const url = canvas.toDataURL('image/jpeg', 0.8);
  return { type: 'image/jpeg', data: url.slice(url.indexOf(',') + 1), url, width: w, height: h };
}

async function pickPhoto() {
  photo = null;
  const preview = $('hazard-preview');
  preview.hidden = true;
  const file = $('hazard-photo').files?.[0];
  if (!file) return;
  try {
    const r = await resized(file);
    photo = { type: r.type, data: r.data };
    preview.src = r.url;
    preview.dataset.width = String(r.width);
    preview.dataset.height = String(r.height);
    preview.hidden = false;
  } catch (e) {
    say('photo_unreadable', e?.message);
  }
}

function position() {
  return new Promise((resolve) => {
    if (!$('hazard-geo').checked || !navigator.geolocation) return resolve(null);
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ lat: Math.round(p.coords.latitude * 1e5) / 1e5, lon: Math.round(p.coords.longitude * 1e5) / 1e5 }),
      () => resolve(null),
      { timeout: 10_000, maximumAge: 60_000 },
    );
  });
}

async function send(ev) {
  ev.preventDefault();
  const category = document.querySelector('input[name="category"]:checked')?.value;
  if (!category) return say('no_category');
  const text = $('hazard-text').value.trim();
  if (!text) return say('no_text');
  $('hazard-send').disabled = true;
  say('sending');
  try {
    const placeText = $('hazard-place').value.trim();
    const geo = await position();
    const place = placeText || geo ? { ...(placeText ? { text: placeText } : {}), ...(geo ?? {}) } : undefined;
    const body = { code: opts.code(), category, text, ...(place ? { place } : {}), ...(photo ? { photo } : {}) };
    const res = await fetch('/v1/hazards', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const answer = await res.json().catch(() => ({}));
    if (res.status !== 201) return say(answer.error in TEXT ? answer.error : 'other', answer.message);
    $('hazard-form').reset();
    photo = null;
    $('hazard-preview').hidden = true;
    say('sent');
    await opts.sent();
  } catch {
    say('network');
  } finally {
    $('hazard-send').disabled = false;
  }
}

/** The rider's own reports with their states, as the last answer of POST /v1/me had them. */
export function showHazards(list) {
  const ul = $('hazard-list');
  ul.replaceChildren();
  if (list.length === 0) {
    const li = document.createElement('li');
    li.className = 'small';
    li.textContent = '还没有上报 / No reports yet';
    ul.append(li);
    return;
  }
  for (const h of list) {
    const li = document.createElement('li');
    li.dataset.id = h.id;
    li.dataset.state = h.state;
    const state = document.createElement('span');
    state.className = `state state-${h.state}`;
    state.textContent = STATES[h.state] ?? h.state;
    const head = document.createElement('p');
    head.append(state, ` ${CATEGORIES[h.category] ?? h.category} · ${when(h.createdAt)}（北京时间 / Beijing time）`);
    const text = document.createElement('p');
    text.textContent = h.text;
    li.append(head, text);
    if (h.note) {
      const note = document.createElement('p');
      note.className = 'small';
      note.textContent = `回复 / Reply: ${h.note}`;
      li.append(note);
    }
    ul.append(li);
  }
}

export function initHazards(o) {
  opts = o;
  $('hazard-photo').addEventListener('change', pickPhoto);
  $('hazard-form').addEventListener('submit', send);
}
