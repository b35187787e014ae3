// Dashboard languages: Chinese first, English on the toggle (SPEC §17, issue 15).
//
// HOW TO USE IT FROM A DASHBOARD MODULE (e.g. sponsors.js, hazards.js, conflicts.js):
//  1. In index.html load your script after i18n.js, time.js and app.js: <script src="/dashboard/x.js" defer>.
//     Every *.js / *.css file in cloud/dashboard/ is served at /dashboard/<name>; no route to add.
//  2. Register your strings once, both languages, keys prefixed by your module:
//       i18n.register({ zh: { 'sponsors.title': '赞助方' }, en: { 'sponsors.title': 'Sponsors' } });
//  3. Static markup: <h2 data-i18n="sponsors.title"></h2>; also data-i18n-placeholder, -title,
//     -aria-label and -label (an optgroup's). They are filled at load and on every toggle.
//  4. In code: t('sponsors.count', { n: 3 }) with '共 {n} 家' in the dictionary.
//     `t` and `i18n` are globals here: use them, do not declare your own `const t`.
//  5. Rendered from data? i18n.onChange(() => redraw()) re-renders when the language flips.
//  6. Times: times.dateTime(ms, tz) from time.js — never toLocaleString() (browser's zone).
//  7. An error the office sees says what to do next: t('err.<code>') has one for every API code.
//  8. All scripts share one global scope: keep your helpers inside an IIFE or give them your
//     module's prefix (test/cloud/dashboard-scripts.test.ts refuses a top-level name declared twice).
'use strict';

const i18n = (() => {
  const LANG_KEY = 'waystation.lang';
  const LANGS = ['zh', 'en'];
  const dicts = { zh: Object.create(null), en: Object.create(null) };
  const listeners = [];
  const stored = (() => {
    try { return localStorage.getItem(LANG_KEY); } catch { return null; }
  })();
  let current = LANGS.includes(stored) ? stored : 'zh';

  /** Add strings: `{zh: {key: text}, en: {key: text}}`. A later registration of a key wins. */
  function register(strings) {
    for (const l of LANGS) Object.assign(dicts[l], strings[l] || {});
  }

  /** The text of `key` in the current language, `{name}` filled from `vars`; the Chinese text
   *  when English lacks it, the key itself when both do (so a gap shows, and `missing()` names it). */
  function t(key, vars) {
    const text = dicts[current][key] ?? dicts.zh[key] ?? key;
    if (!vars) return text;
    return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
  }

  /** Keys registered in one language and not the other (a browser test asserts none). */
  function missing() {
    const keys = new Set([...Object.keys(dicts.zh), ...Object.keys(dicts.en)]);
    return [...keys].filter((k) => LANGS.some((l) => !(k in dicts[l]))).sort();
  }

  const ATTRS = [['data-i18n-placeholder', 'placeholder'], ['data-i18n-title', 'title'], ['data-i18n-aria-label', 'aria-label'], ['data-i18n-label', 'label']];

  /** Fill every `data-i18n*` element under `root` and mark the toggle's pressed button. */
  function apply(root = document) {
    if (root === document) document.documentElement.lang = current === 'zh' ? 'zh-CN' : 'en';
    for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.getAttribute('data-i18n'));
    for (const [attr, target] of ATTRS) {
      for (const el of root.querySelectorAll(`[${attr}]`)) el.setAttribute(target, t(el.getAttribute(attr)));
    }
    for (const b of root.querySelectorAll('[data-set-lang]')) b.setAttribute('aria-pressed', String(b.getAttribute('data-set-lang') === current));
  }

  /** Switch language, remember it for this browser, refill the page and tell the listeners. */
  function setLang(lang) {
    if (!LANGS.includes(lang) || lang === current) return;
    current = lang;
    try { localStorage.setItem(LANG_KEY, lang); } catch { /* private mode: for this page only */ }
    apply();
    for (const fn of listeners) {
      try { fn(lang); } catch (e) { console.error('i18n listener failed', e); }
    }
  }

  function onChange(fn) { listeners.push(fn); }

  // Any button with data-set-lang="zh|en" is a toggle, wherever it sits.
  document.addEventListener('click', (ev) => {
    const b = ev.target instanceof Element ? ev.target.closest('[data-set-lang]') : null;
    if (b) setLang(b.getAttribute('data-set-lang'));
  });
  // Fill the page once every deferred script has registered its strings.
  document.addEventListener('DOMContentLoaded', () => apply());

  return { register, t, missing, apply, setLang, onChange, lang: () => current, LANGS };
})();

const t = i18n.t;

// Strings every module shares: what an API error means and what to do next, empty states.
i18n.register({
  zh: {
    'common.none': '暂无',
    'common.loading': '正在加载…',
    'common.never': '从未',
    'err.unauthorized': '登录已失效：请重新输入令牌登录。',
    'err.forbidden': '这个令牌没有查看此内容的权限：请换用管理员或街道办的令牌登录。',
    'err.bad_week': '周次不正确：请选择一个存在的周（例如 2026-W48）。',
    'err.bad_date': '日期不正确：请选择存在的开始和结束日期，开始日期不能晚于结束日期。',
    'err.range_too_long': '日期区间太长：一份报表最多 366 天，请缩短区间后再看。',
    'err.unknown_zone': '没有这个片区：请从列表中选择。',
    'err.bad_request': '请求内容不正确：请检查填写的内容后再试。',
    'err.unknown_station': '没有这个站点：请在站点列表中选择一个。',
    'err.not_found': '没有找到：页面可能已过期，请点“刷新”。',
    'err.rate_limited': '请求太频繁：请稍等一分钟再试。',
    'err.busy': '云端正忙：请稍后点“刷新”重试。',
    'err.internal': '云端出错了：请稍后点“刷新”重试；如果一直出错，请联系管理员并告知时间。',
    'err.network': '连接不上云端：请检查网络，然后点“刷新”。',
    'err.other': '出错了（{code}）：请点“刷新”重试；如果一直出错，请联系管理员。',
  },
  en: {
    'common.none': 'none',
    'common.loading': 'loading…',
    'common.never': 'never',
    'err.unauthorized': 'Your login is no longer valid: enter your token and log in again.',
    'err.forbidden': 'This token may not see this: log in with an admin or street-office token.',
    'err.bad_week': 'That week does not exist: choose an ISO week such as 2026-W48.',
    'err.bad_date': 'Those dates are not valid: choose a start and an end date that exist, the start not after the end.',
    'err.range_too_long': 'That range is too long: a report covers at most 366 days, choose a shorter one.',
    'err.unknown_zone': 'No such zone: choose one from the list.',
    'err.bad_request': 'The request is not valid: check what you entered and try again.',
    'err.unknown_station': 'No such station: choose one from the station list.',
    'err.not_found': 'Not found: the page may be out of date, press Refresh.',
    'err.rate_limited': 'Too many requests: wait a minute and try again.',
    'err.busy': 'The cloud is busy: press Refresh again in a moment.',
    'err.internal': 'The cloud failed: press Refresh in a moment; if it keeps failing, tell the administrator when it happened.',
    'err.network': 'Cannot reach the cloud: check the network, then press Refresh.',
    'err.other': 'Something went wrong ({code}): press Refresh to try again; if it keeps failing, tell the administrator.',
  },
});

/** The message for an API error code, in the current language, saying what to do next. */
function errorText(code) {
  const key = `err.${code}`;
  return t(key) === key ? t('err.other', { code }) : t(key);
}
