/**
 * Printable pages (SPEC §14): the invite poster (a large QR of the enrolment URL and what the
 * station offers, zh and en) and a rider's card (the static QR for riders without a smartphone).
 * The QR codes are drawn by qrcode-generator as SVG; the pages print on A4 / A6 as they are.
 */
import qrcode from 'qrcode-generator';

export function qrSvg(text: string, level: 'L' | 'M' | 'Q' = 'M'): string {
  const qr = qrcode(0, level);
  qr.addData(text);
  qr.make();
  return qr.createSvgTag({ cellSize: 8, margin: 4, scalable: true });
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><link rel="stylesheet" href="/r/print.css"></head>
<body class="print">${body}</body></html>`;
}

export interface PosterInput {
  url: string;
  expiresAt: number;
  timezone: string;
  zone: string | null;
}

const localTime = (ms: number, timezone: string) =>
  new Intl.DateTimeFormat('zh-CN', { timeZone: timezone, dateStyle: 'medium', timeStyle: 'short', hourCycle: 'h23' }).format(ms);

export function posterHtml(p: PosterInput): string {
  return page(
    '骑手驿站 · 扫码领取通行码 / Rider station: scan to get your code',
    `<main class="poster">
  <h1>骑手驿站 <span lang="en">Rider station</span></h1>
  <p class="offer">24 小时免费饮用水（报到后 7 天每天一瓶）、储物柜${p.zone ? `，${esc(p.zone)}` : ''}</p>
  <p class="offer" lang="en">Free drinking water around the clock (one bottle a day for 7 days after you check in) and lockers</p>
  <figure class="qr" data-url="${esc(p.url)}">${qrSvg(p.url)}</figure>
  <p class="how">用手机扫码，在网页上领取您的通行码；无需姓名和手机号。</p>
  <p class="how" lang="en">Scan with your phone to get your code on a web page; no name or phone number needed.</p>
  <p class="url">${esc(p.url)}</p>
  <p class="small">邀请有效期至 ${esc(localTime(p.expiresAt, p.timezone))}（${esc(p.timezone)}） / Invite valid until then (${esc(p.timezone)} time)</p>
</main>`,
  );
}

export interface CardInput {
  riderId: string;
  credential: string;
  expiresAt: number;
  timezone: string;
}

export function cardHtml(c: CardInput): string {
  return page(
    '骑手驿站通行卡 / Rider station card',
    `<main class="card">
  <h1>骑手驿站通行卡 <span lang="en">Rider station card</span></h1>
  <figure class="qr">${qrSvg(c.credential, 'L')}</figure>
  <p>在驿站扫码器前出示此卡：报到、每天领一瓶水、使用储物柜。请妥善保管，丢失请到服务窗口停用并补办。</p>
  <p lang="en">Show this card to the station's scanner to check in, take a bottle a day and use a locker. Keep it safe; if you lose it, the service desk can stop it and print a new one.</p>
  <p class="small">编号 / No. ${esc(c.riderId)} · 有效期至 / valid until ${esc(localTime(c.expiresAt, c.timezone))} (${esc(c.timezone)})</p>
</main>`,
  );
}
