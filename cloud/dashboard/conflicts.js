// Dashboard: zone conflicts (SPEC §13) — riders granted a bottle at two stations of one zone on
// one service day while the stations could not hear each other. Chinese first, English beside;
// times in each station's own time zone, labelled; how old each station's zone feed was when it
// granted. Uses app.js's api(), fillTable(), token() and $() (loaded before this file) and the
// week picker of the weekly report.
'use strict';

/** How stale a station's zone feed was when it granted, in words. */
function feedLag(ms) {
  if (ms === undefined || ms === null) return '未知 unknown';
  if (ms < 60_000) return `${Math.round(ms / 1000)} 秒 s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} 分钟 min`;
  return `${(ms / 3_600_000).toFixed(1)} 小时 h`;
}

function conflictTime(ms, tz) {
  const f = new Intl.DateTimeFormat('sv-SE', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  return `${f.format(new Date(ms))} (${tz})`;
}

/** One line per granted claim: station, local time, feed lag. */
function claimsCell(claims, timezones) {
  const ul = document.createElement('ul');
  ul.className = 'claims';
  for (const c of claims) {
    const li = document.createElement('li');
    const tz = timezones[c.stationId] || 'Asia/Shanghai';
    li.textContent = `${c.stationId} · ${conflictTime(c.ts, tz)} · 数据延迟 feed lag ${feedLag(c.feedLagMs)}`;
    ul.append(li);
  }
  return ul;
}

async function loadConflicts() {
  const q = new URLSearchParams();
  if ($('week').value) q.set('week', $('week').value);
  const zone = $('conflicts-zone').value.trim();
  if (zone) q.set('zone', zone);
  const [report, list] = await Promise.all([
    (await api(`/v1/reports/conflicts?${q}`)).json(),
    (await api('/v1/stations')).json().catch(() => ({ stations: [] })),
  ]);
  const timezones = Object.fromEntries((list.stations || []).map((s) => [s.id, s.timezone]));
  $('conflicts-count').textContent = `${report.week} · ${report.conflicts.length} 起 cases`;
  fillTable('conflicts-table', report.conflicts, (c) => [c.day, c.zone, c.riderId, claimsCell(c.claims, timezones)]);
  if (report.conflicts.length === 0) {
    document.querySelector('#conflicts-table tbody td').textContent = '本周没有冲突 No conflicts this week';
  }
}

function showConflictsError(e) {
  $('conflicts-count').textContent = `未能载入，请点“刷新”重试 Could not load: press Refresh to try again (${e.message})`;
}

$('refresh').addEventListener('click', () => loadConflicts().catch(showConflictsError));
$('week').addEventListener('change', () => loadConflicts().catch(showConflictsError));
$('conflicts-zone').addEventListener('change', () => loadConflicts().catch(showConflictsError));
new MutationObserver(() => {
  if (!$('app-view').hidden && token()) loadConflicts().catch(showConflictsError);
}).observe($('app-view'), { attributes: true, attributeFilter: ['hidden'] });
if (token() && !$('app-view').hidden) loadConflicts().catch(showConflictsError);
