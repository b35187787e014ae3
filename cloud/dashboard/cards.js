// Dashboard: issue and print a rider card (SPEC §14) for a rider without a smartphone. The office
// picks the group (and maybe the platform) and presses 发卡; the cloud registers the rider
// (POST /v1/riders) and draws the card (GET /v1/riders/{id}/card: the static QR, what it is for,
// the print stylesheet). The card page needs the office's token, so it is fetched here and shown
// in a frame on this page, whose 打印 button prints the card alone.
'use strict';

const CARD = {
  zh: { 'cards.issuing': '正在发卡…', 'cards.issued': '已发卡，编号', 'cards.failed': '未能发卡：', 'cards.badPlatform': '平台只能用小写字母、数字、-、_ 和 .（例如 meituan），请改正后再试。' },
  en: { 'cards.issuing': 'Issuing the card…', 'cards.issued': 'Card issued, rider no.', 'cards.failed': 'Could not issue the card: ', 'cards.badPlatform': 'A platform is lowercase letters, digits, -, _ and . (like meituan): correct it and try again.' },
};
const cardsI18n = typeof i18n !== 'undefined';
if (cardsI18n) i18n.register(CARD);
const cardText = (key) => (cardsI18n ? t(key) : `${CARD.zh[key]} ${CARD.en[key]}`);

$('card-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const out = $('card-result');
  out.className = '';
  const group = $('card-group').value;
  const platform = $('card-platform').value.trim();
  if (platform && !/^[a-z0-9][a-z0-9_.-]{0,63}$/.test(platform)) {
    out.className = 'error';
    out.textContent = cardText('cards.badPlatform');
    return;
  }
  out.textContent = cardText('cards.issuing');
  $('card-print').hidden = true;
  try {
    const auth = { authorization: `Bearer ${token()}` };
    const res = await fetch('/v1/riders', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ group, ...(platform ? { platform } : {}) }) });
    const rider = await res.json();
    // ApiFailure (app.js): its message is the page-language text saying what to do next.
    if (res.status !== 201) throw new ApiFailure(rider.error ?? `http_${res.status}`, res.status);
    const card = await fetch(`/v1/riders/${rider.riderId}/card`, { headers: auth });
    if (!card.ok) throw new ApiFailure(`http_${card.status}`, card.status);
    const html = await card.text();
    const frame = $('card-frame');
    const loaded = new Promise((resolve) => frame.addEventListener('load', resolve, { once: true }));
    frame.srcdoc = html;
    frame.hidden = false;
    await loaded;
    frame.dataset.riderId = rider.riderId;
    $('card-print').hidden = false;
    out.textContent = `${cardText('cards.issued')} ${rider.riderId}`;
  } catch (e) {
    out.className = 'error';
    out.textContent = `${cardText('cards.failed')}${e instanceof ApiFailure ? e.message : errorText('network')}`;
  }
});

$('card-print').addEventListener('click', () => $('card-frame').contentWindow.print());
