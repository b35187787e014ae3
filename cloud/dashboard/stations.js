// Dashboard: the stations list and "add a station" (SPEC §12). Uses app.js's api(), fillTable()
// and the station list it loads on every refresh. The new token is shown once, here, as the API
// gives it only once.
'use strict';

i18n.register({
  zh: {
    'stations.title': '站点', 'stations.add': '新增站点', 'stations.id': '站点编号', 'stations.zone': '片区', 'stations.addButton': '新增',
    'stations.enabled': '启用', 'stations.disabled': '已停用', 'col.lastUpload': '最后上传（站点时间）',
    'stations.added': '已新增 {id}。令牌只显示这一次，请写入该站点配置的 cloud.token：',
    'stations.err.station_exists': '该编号已存在，请换一个编号。',
    'stations.err.bad_request': '编号只能用小写字母、数字、- 和 _（例如 dn-010），请改正后再试。',
    'stations.err.other': '未能新增（{code}），请稍后再试。',
  },
  en: {
    'stations.title': 'Stations', 'stations.add': 'Add a station', 'stations.id': 'Station id', 'stations.zone': 'Zone', 'stations.addButton': 'Add',
    'stations.enabled': 'enabled', 'stations.disabled': 'disabled', 'col.lastUpload': 'Last upload (station time)',
    'stations.added': 'Added {id}. The token is shown only this once: put it in the station\'s config as cloud.token: ',
    'stations.err.station_exists': 'This id exists already: choose another one.',
    'stations.err.bad_request': 'Use lowercase letters, digits, - and _ (like dn-010), then try again.',
    'stations.err.other': 'Could not add it ({code}): try again later.',
  },
});

function renderStations() {
  fillTable('stations-table', stationList, (s) => [
    s.id,
    s.zone,
    s.enabled ? [t('stations.enabled'), 'online'] : [t('stations.disabled'), 'offline'],
    s.sync.ackedSeq,
    s.sync.lastUploadAt ? times.dateTime(s.sync.lastUploadAt, s.timezone) : t('common.never'),
  ]);
}

// app.js has just loaded the station list when the loaders run.
addLoader(async () => renderStations());
i18n.onChange(renderStations);

$('station-add').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const out = $('station-add-result');
  out.className = '';
  const id = $('new-station-id').value.trim();
  const zone = $('new-station-zone').value.trim();
  let res;
  try {
    res = await fetch('/v1/stations', {
      method: 'POST',
      headers: { authorization: `Bearer ${token()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id, ...(zone ? { zone } : {}) }),
    });
  } catch {
    out.className = 'error';
    out.textContent = errorText('network');
    return;
  }
  const body = await res.json().catch(() => ({ error: `http_${res.status}` }));
  if (res.status !== 201) {
    out.className = 'error';
    const key = `stations.err.${body.error}`;
    out.textContent = t(key) === key ? (t(`err.${body.error}`) !== `err.${body.error}` ? errorText(body.error) : t('stations.err.other', { code: body.error })) : t(key);
    return;
  }
  out.textContent = t('stations.added', { id: body.id });
  const code = document.createElement('code');
  code.id = 'new-station-token';
  code.textContent = body.token;
  out.append(code);
  $('new-station-id').value = '';
  stationList = (await (await api('/v1/stations')).json()).stations;
  renderStations();
  fillStationChoice();
});
