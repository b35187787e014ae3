// Dashboard: the stations list and "add a station" (SPEC §12), Chinese first with English beside.
// Uses app.js's api(), fillTable() and $() (loaded before this file). The new token is shown
// once, here, as the API gives it only once.
'use strict';

/** A time in the station's own time zone, labelled with it. */
function stationTime(ms, tz) {
  if (!ms) return '从未 never';
  const f = new Intl.DateTimeFormat('zh-CN', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false });
  return `${f.format(new Date(ms))} (${tz})`;
}

async function loadStations() {
  const { stations } = await (await api('/v1/stations')).json();
  fillTable('stations-table', stations, (s) => [
    s.id,
    s.zone,
    s.enabled ? ['启用 enabled', 'online'] : ['已停用 disabled', 'offline'],
    s.sync.ackedSeq,
    stationTime(s.sync.lastUploadAt, s.timezone),
  ]);
}

const STATION_ERRORS = {
  station_exists: '该编号已存在，请换一个编号。 This id exists already: choose another one.',
  bad_request: '编号只能用小写字母、数字、- 和 _（例如 dn-010），请改正后再试。 Use lowercase letters, digits, - and _ (like dn-010), then try again.',
};

$('station-add').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const out = $('station-add-result');
  out.className = '';
  const id = $('new-station-id').value.trim();
  const zone = $('new-station-zone').value.trim();
  try {
    const res = await fetch('/v1/stations', {
      method: 'POST',
      headers: { authorization: `Bearer ${token()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id, ...(zone ? { zone } : {}) }),
    });
    const body = await res.json();
    if (res.status !== 201) {
      out.className = 'error';
      out.textContent = STATION_ERRORS[body.error] || `未能新增，请稍后再试（${body.error}）。 Could not add it (${body.error}): try again later.`;
      return;
    }
    out.textContent = `已新增 ${body.id}。令牌只显示这一次，请写入该站点配置的 cloud.token： Added ${body.id}. The token is shown only this once: put it in the station's config as cloud.token: `;
    const code = document.createElement('code');
    code.id = 'new-station-token';
    code.textContent = body.token;
    out.append(code);
    $('new-station-id').value = '';
    await loadStations();
  } catch (e) {
    out.className = 'error';
    out.textContent = `网络错误，请检查连接后再试。 Network error: check the connection and try again. (${e.message})`;
  }
});

$('refresh').addEventListener('click', () => loadStations().catch(() => undefined));
// Load when the signed-in view appears (after login, or at once with a session token).
new MutationObserver(() => {
  if (!$('app-view').hidden && token()) loadStations().catch(() => undefined);
}).observe($('app-view'), { attributes: true, attributeFilter: ['hidden'] });
if (token() && !$('app-view').hidden) loadStations().catch(() => undefined);
