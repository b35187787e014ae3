/**
 * The sponsor statement as a page a street office prints on A4 and hands to the sponsor
 * (SPEC §17): a thank-you statement, then the figures — Chinese first, English beside, dates
 * labelled as service days in the time zone. One inline style sheet, allowed by its hash in the
 * page's CSP; no script.
 */
import { createHash } from 'node:crypto';
import { localDateTime } from './csv.ts';
import type { SponsorStatement } from './sponsorStatement.ts';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const n = (v: number) => v.toLocaleString('en-US');

const STYLE = `
@page { size: A4; margin: 15mm; }
* { box-sizing: border-box; }
body { margin: 0; font-family: system-ui, "Noto Sans CJK SC", "Noto Sans SC", sans-serif; color: #000; background: #fff; font-size: 10.5pt; line-height: 1.45; }
main { max-width: 180mm; margin: 0 auto; padding: 6mm 0; }
h1 { font-size: 20pt; margin: 0 0 1mm; }
h1 .en, h2 .en { font-weight: 400; font-size: 0.7em; margin-left: 0.5em; }
h2 { font-size: 12.5pt; margin: 6mm 0 2mm; border-bottom: 0.4mm solid #000; }
.en { color: #333; }
p { margin: 1.5mm 0; }
.thanks { font-size: 12pt; margin: 4mm 0; }
.figures { display: flex; flex-wrap: wrap; gap: 3mm; margin: 4mm 0; }
.figure { flex: 1 1 38mm; border: 0.3mm solid #000; padding: 2mm 3mm; }
.figure b { display: block; font-size: 18pt; }
table { width: 100%; border-collapse: collapse; font-size: 9.5pt; }
th, td { border: 0.2mm solid #666; padding: 1mm 2mm; text-align: left; }
td.num, th.num { text-align: right; }
tr { break-inside: avoid; }
.sign { margin-top: 10mm; text-align: right; }
.small { font-size: 8.5pt; color: #333; }
@media screen and (max-width: 480px) { main { padding: 4mm; } table { font-size: 9pt; } th, td { padding: 1mm; } }
`;

export const STATEMENT_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

export function statementHtml(s: SponsorStatement, generatedAt: number): string {
  const zone = esc(s.timezone);
  const weeks = s.bottles.length
    ? s.bottles
        .map((w) => `<tr><td>${esc(w.stationId)}</td><td>${esc(w.week)}</td><td>${esc(w.from)} – ${esc(w.to)}</td><td class="num">${n(w.hot)}</td><td class="num">${n(w.cold)}</td><td class="num">${n(w.bottles)}</td></tr>`)
        .join('\n')
    : '<tr><td colspan="6">此期间没有发放记录 <span class="en">No bottles in this period</span></td></tr>';
  const restocks = s.restocks.length
    ? s.restocks.map((r) => `<tr><td>${esc(r.stationId)}</td><td>${esc(r.day)}</td><td class="num">${n(r.restocks)}</td><td class="num">${n(r.bottles)}</td></tr>`).join('\n')
    : '<tr><td colspan="4">此期间没有补货记录 <span class="en">No restocks in this period</span></td></tr>';
  const name = esc(s.sponsor.name);
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>感谢信 · ${name} · ${esc(s.from)} 至 ${esc(s.to)} / Thank-you statement</title>
<style>${STYLE}</style></head>
<body><main>
<h1>感谢信 <span class="en">Thank-you statement</span></h1>
<p><b>${name}</b> · ${esc(s.from)} 至 ${esc(s.to)}（服务日，${zone} 时间）<span class="en">service days ${esc(s.from)} to ${esc(s.to)}, ${zone} time</span></p>
<p class="thanks">衷心感谢 ${name} 为骑手驿站提供饮用水。在此期间，您赞助的 <b>${n(s.totals.bottles)}</b> 瓶水送到了 <b>${n(s.ridersServed)}</b> 位外卖和快递骑手手中，为他们在寒暑中送去一份关怀。</p>
<p class="thanks en" lang="en">Thank you, ${name}, for supplying drinking water to our rider stations. In this period the <b>${n(s.totals.bottles)}</b> bottles you sponsored reached <b>${n(s.ridersServed)}</b> delivery riders, a small comfort through heat and cold.</p>
<div class="figures">
  <div class="figure">发放 <span class="en">Bottles given</span><b data-figure="bottles">${n(s.totals.bottles)}</b></div>
  <div class="figure">服务骑手 <span class="en">Riders served</span><b data-figure="riders">${n(s.ridersServed)}</b></div>
  <div class="figure">补货 <span class="en">Restocks</span><b data-figure="restocks">${n(s.totals.restocks)}</b></div>
  <div class="figure">补货瓶数 <span class="en">Bottles restocked</span><b data-figure="restocked">${n(s.totals.restockedBottles)}</b></div>
</div>
<h2>按站点和周的发放 <span class="en">Bottles by station and ISO week</span></h2>
<table><thead><tr><th>站点 <span class="en">Station</span></th><th>周 <span class="en">Week</span></th><th>日期（服务日） <span class="en">Service days</span></th><th class="num">热饮 <span class="en">Hot</span></th><th class="num">冷饮 <span class="en">Cold</span></th><th class="num">合计 <span class="en">Total</span></th></tr></thead>
<tbody>
${weeks}
</tbody></table>
<h2>补货 <span class="en">Restocks by station and date</span></h2>
<table><thead><tr><th>站点 <span class="en">Station</span></th><th>日期（服务日） <span class="en">Service day</span></th><th class="num">次数 <span class="en">Restocks</span></th><th class="num">瓶数 <span class="en">Bottles</span></th></tr></thead>
<tbody>
${restocks}
</tbody></table>
<p class="sign">街道办事处 · 骑手驿站 <span class="en">The street office · Waystation rider stations</span></p>
<p class="small">骑手人数为不重复计数；不含骑手个人信息。生成时间 ${esc(localDateTime(generatedAt, s.timezone))}（${zone} 时间）。<span class="en">Riders are counted once each; no rider's details are included. Generated ${esc(localDateTime(generatedAt, s.timezone))} (${zone} time).</span></p>
</main></body></html>
`;
}
