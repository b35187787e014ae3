// Enrolment (SPEC §14): read the notice, tick consent, pick a group (and maybe a platform), one
// button. The device key is made and stored before the request, so a retry after a lost answer
// sends the same key and the cloud finds the same rider.
import { deviceKey, get, put } from '/r/store.js';

const $ = (id) => document.getElementById(id);
const invite = new URLSearchParams(location.search).get('invite');

const TEXT = {
  no_consent: '请先阅读说明并勾选同意。 / Please read the notice and tick the consent box.',
  no_group: '请选择您的分组。 / Please pick your group.',
  contact_consent: '填写了联系方式就请勾选它下面的同意；不想留可清空。 / Tick the box under your contact, or clear the contact.',
  invite_invalid: '此邀请已失效（过期或名额用完），请向驿站工作人员索取新海报。 / This invite is no longer valid (expired or used up); ask the station staff for a new poster.',
  rate_limited: '请求太频繁，请过一会儿再试。 / Too many tries from here; please try again later.',
  revoked: '此手机的通行码已停用，请联系服务窗口。 / This phone’s code was stopped; please ask the service desk.',
  no_crypto: '此浏览器不支持所需的加密功能，请更新浏览器或到服务窗口领取打印卡。 / This browser lacks the needed crypto; update it or get a printed card at the service desk.',
  network: '网络错误，请检查网络后再按一次（不会重复登记）。 / Network problem: check your connection and press again (you will not be registered twice).',
  wait: '正在领取… / Getting your code…',
  other: '未能完成，请稍后再试或联系服务窗口。 / That did not work; try again later or ask the service desk.',
};

function say(key, detail) {
  $('message').textContent = TEXT[key] ?? TEXT.other;
  $('message').dataset.code = key;
  if (detail) $('message').title = detail;
}

async function submit(ev) {
  ev.preventDefault();
  if (!$('consent').checked) return say('no_consent');
  const group = document.querySelector('input[name="group"]:checked')?.value;
  if (!group) return say('no_group');
  const contact = $('contact').value.trim();
  if (contact && !$('contact-consent').checked) return say('contact_consent');
  $('submit').disabled = true;
  say('wait');
  try {
    let key;
    try {
      key = await deviceKey();
    } catch (e) {
      return say('no_crypto', String(e));
    }
    const body = { invite, consent: true, group, deviceKey: key.publicJwk };
    if ($('platform').value) body.platform = $('platform').value;
    if (contact) Object.assign(body, { contact, contactConsent: true });
    let res;
    try {
      res = await fetch('/v1/enrol', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    } catch {
      return say('network');
    }
    const answer = await res.json().catch(() => ({}));
    if (!res.ok) return say(answer.error ?? 'other', answer.message);
    await put('rider', { riderId: answer.riderId, credential: answer.credential, expiresAt: answer.expiresAt });
    location.assign('/r/me');
  } finally {
    $('submit').disabled = false;
  }
}

async function init() {
  if ((await get('rider').catch(() => null))?.credential) $('already').hidden = false;
  if (!invite) {
    $('no-invite').hidden = false;
    $('form').hidden = true;
  }
  $('form').addEventListener('submit', submit);
  document.body.dataset.ready = 'true';
}

init();
