// Dashboard: issue and print a rider card (SPEC §14) for a rider without a smartphone. The office
// picks the group (and maybe the platform) and presses Issue a card; the cloud registers the rider
// (POST /v1/riders) and draws the card (GET /v1/riders/{id}/card: the static QR, what it is for,
// the print stylesheet). The card page needs the office's token, so it is fetched here and shown
// in a frame on this page, whose print button prints the card alone. The form is in the page's
// language (i18n.js); the card document is the cloud's own.
'use strict';

const cardsView = (() => {
  const PLATFORM = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

  i18n.register({
    zh: {
      'cards.title': '打印骑手卡', 'cards.subtitle': '给没有智能手机的骑手',
      'cards.group': '分组', 'cards.platform': '平台（可不填）',
      'cards.group.courier': '快递员', 'cards.group.food_delivery': '外卖骑手', 'cards.group.outdoor_worker': '户外劳动者', 'cards.group.other': '其他',
      'cards.issue': '发卡', 'cards.print': '打印骑手卡', 'cards.frame': '骑手卡',
      'cards.issuing': '正在发卡…', 'cards.issued': '已发卡，骑手编号 {id}。请点“打印骑手卡”。',
      'cards.failed': '未能发卡：{message}',
      'cards.badPlatform': '平台只能用小写字母、数字、-、_ 和 .（例如 meituan），请改正后再试。',
    },
    en: {
      'cards.title': 'Print a rider card', 'cards.subtitle': 'for riders without a smartphone',
      'cards.group': 'Group', 'cards.platform': 'Platform (optional)',
      'cards.group.courier': 'Courier', 'cards.group.food_delivery': 'Food delivery', 'cards.group.outdoor_worker': 'Outdoor worker', 'cards.group.other': 'Other',
      'cards.issue': 'Issue a card', 'cards.print': 'Print the card', 'cards.frame': 'Rider card',
      'cards.issuing': 'Issuing the card…', 'cards.issued': 'Card issued, rider no. {id}. Press "Print the card".',
      'cards.failed': 'Could not issue the card: {message}',
      'cards.badPlatform': 'A platform is lowercase letters, digits, -, _ and . (like meituan): correct it and try again.',
    },
  });

  /** What the form last said, kept as a key (and code) so the toggle can say it again. */
  let result = null;

  function render() {
    const out = $('card-result');
    out.className = result?.error ? 'error' : '';
    if (!result) out.textContent = '';
    else if (result.code) out.textContent = t('cards.failed', { message: errorText(result.code) });
    else out.textContent = t(result.key, { id: result.riderId });
  }

  async function issue() {
    const group = $('card-group').value;
    const platform = $('card-platform').value.trim();
    if (platform && !PLATFORM.test(platform)) { result = { key: 'cards.badPlatform', error: true }; render(); return; }
    result = { key: 'cards.issuing' };
    render();
    $('card-print').hidden = true;
    try {
      const res = await api('/v1/riders', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ group, ...(platform ? { platform } : {}) }) });
      const rider = await res.json();
      const html = await (await api(`/v1/riders/${encodeURIComponent(rider.riderId)}/card`)).text();
      const frame = $('card-frame');
      const loaded = new Promise((resolve) => frame.addEventListener('load', resolve, { once: true }));
      frame.srcdoc = html;
      frame.hidden = false;
      await loaded;
      frame.dataset.riderId = rider.riderId;
      $('card-print').hidden = false;
      result = { key: 'cards.issued', riderId: rider.riderId };
    } catch (e) {
      result = { code: e instanceof ApiFailure ? e.code : 'network', error: true };
    }
    render();
  }

  $('card-form').addEventListener('submit', (ev) => { ev.preventDefault(); issue(); });
  $('card-print').addEventListener('click', () => $('card-frame').contentWindow.print());
  i18n.onChange(render);
  return { issue, render };
})();
