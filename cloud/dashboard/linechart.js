// A small SVG line chart for the dashboard (issue 15): labelled axes (the x title says what the
// dates are, the y title carries the units), a legend, and lines that do not hide each other —
// each series has its own colour, dash pattern and marker shape; the markers get larger and
// hollow in series order, so points on the same spot stay visible nested inside each other.
// Drawn into a container at its current width; call draw() again on resize or new data.
//
//   lineChart.draw(container, {
//     title: 'accessible name', xTitle: '日期', yTitle: '数量（次 / 瓶）',
//     labels: [{ text: '12-01', sub?: 'W49', tip: '2026-12-01' }, ...],
//     series: [{ name: '签到次数', legend: '签到次数（次）', values: [3, 4, ...] }, ...],
//   })
'use strict';

const lineChart = (() => {
  const NS = 'http://www.w3.org/2000/svg';
  // Colour-blind-safe (Okabe–Ito) colours, each with a dash pattern and a marker of its own.
  const STYLES = [
    { color: '#0072b2', dash: '', marker: 'circle' },
    { color: '#d55e00', dash: '7 4', marker: 'square' },
    { color: '#009e73', dash: '2 3', marker: 'triangle' },
    { color: '#cc79a7', dash: '10 3 2 3', marker: 'diamond' },
  ];

  const el = (name, attrs = {}, text) => {
    const e = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  };

  /** 1, 2 or 5 × 10^n: the tick step that gives about `target` steps up to `max`. */
  function niceStep(max, target) {
    const raw = Math.max(max, 1) / target;
    const mag = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
    return Math.max(1, step);
  }

  /** A marker of series `i` at (x, y): filled for the first, then larger hollow shapes. */
  function marker(i, x, y, style) {
    const common = { stroke: style.color, 'stroke-width': 2, class: 'marker' };
    switch (style.marker) {
      case 'circle': return el('circle', { ...common, cx: x, cy: y, r: 3.5, fill: style.color });
      case 'square': return el('rect', { ...common, x: x - 5, y: y - 5, width: 10, height: 10, fill: 'none' });
      case 'triangle': return el('path', { ...common, d: `M${x} ${y - 8}L${x + 7.5} ${y + 5}L${x - 7.5} ${y + 5}Z`, fill: 'none' });
      default: return el('path', { ...common, d: `M${x} ${y - 10}L${x + 8} ${y}L${x} ${y + 10}L${x - 8} ${y}Z`, fill: 'none' });
    }
  }

  /** A legend swatch: the series' line with its dash and marker. */
  function swatch(i) {
    const style = STYLES[i % STYLES.length];
    const svg = el('svg', { width: 40, height: 22, viewBox: '0 0 40 22', 'aria-hidden': 'true' });
    svg.append(el('line', { x1: 2, y1: 11, x2: 38, y2: 11, stroke: style.color, 'stroke-width': 2.5, 'stroke-dasharray': style.dash }));
    svg.append(marker(i, 20, 11, style));
    return svg;
  }

  function draw(container, { title, xTitle, yTitle, labels, series }) {
    const width = Math.max(280, Math.floor(container.clientWidth || 600));
    const height = width < 520 ? 250 : 300;
    const narrow = width < 520;
    const n = labels.length;
    const max = Math.max(1, ...series.flatMap((s) => s.values));
    const step = niceStep(max, narrow ? 4 : 5);
    const top = Math.ceil(max / step) * step;
    const ticks = [];
    for (let v = 0; v <= top; v += step) ticks.push(v);
    const tickChars = Math.max(...ticks.map((v) => String(v).length));
    const hasSub = labels.some((l) => l.sub);
    const labelChars = Math.max(1, ...labels.map((l) => Math.max(l.text.length, (l.sub || '').length)));
    // Room on the right for half the last label and the largest marker.
    const m = { left: 30 + tickChars * 7.5, right: Math.max(14, labelChars * 3.6 + 4), top: 14, bottom: hasSub ? 62 : 46 };
    const plotW = width - m.left - m.right;
    const plotH = height - m.top - m.bottom;
    const x = (i) => m.left + (n <= 1 ? plotW / 2 : (i * plotW) / (n - 1));
    const y = (v) => m.top + plotH - (v / top) * plotH;

    const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, width: '100%', role: 'img', 'aria-label': title, class: 'line-chart' });
    svg.append(el('title', {}, title));
    // Grid and y ticks.
    for (const v of ticks) {
      svg.append(el('line', { x1: m.left, x2: width - m.right, y1: y(v), y2: y(v), class: v === 0 ? 'axis' : 'grid' }));
      svg.append(el('text', { x: m.left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'tick y-tick' }, String(v)));
    }
    svg.append(el('line', { x1: m.left, x2: m.left, y1: m.top, y2: m.top + plotH, class: 'axis' }));
    // X ticks: as many labels as fit, always the last (the newest) one.
    const labelW = labelChars * 7 + 10;
    const every = Math.max(1, Math.ceil(n / Math.max(1, Math.floor(plotW / labelW))));
    const shown = labels.map((_, i) => i).filter((i) => i % every === 0);
    if (n > 0 && shown.at(-1) !== n - 1) {
      if (n - 1 - shown.at(-1) < every) shown.pop();
      shown.push(n - 1);
    }
    for (const i of shown) {
      const l = labels[i];
      svg.append(el('line', { x1: x(i), x2: x(i), y1: m.top + plotH, y2: m.top + plotH + 4, class: 'axis' }));
      svg.append(el('text', { x: x(i), y: m.top + plotH + 17, 'text-anchor': 'middle', class: 'tick x-tick' }, l.text));
      if (l.sub) svg.append(el('text', { x: x(i), y: m.top + plotH + 31, 'text-anchor': 'middle', class: 'tick x-sub' }, l.sub));
    }
    // Axis titles.
    svg.append(el('text', { x: m.left + plotW / 2, y: height - 8, 'text-anchor': 'middle', class: 'axis-title x-title' }, xTitle));
    svg.append(el('text', { x: -(m.top + plotH / 2), y: 14, transform: 'rotate(-90)', 'text-anchor': 'middle', class: 'axis-title y-title' }, yTitle));
    // Series: lines first, then markers on top, so no line covers a marker.
    const styles = series.map((_, i) => STYLES[i % STYLES.length]);
    series.forEach((s, i) => {
      const d = s.values.map((v, j) => `${j ? 'L' : 'M'}${x(j).toFixed(1)} ${y(v).toFixed(1)}`).join('');
      svg.append(el('path', { d, fill: 'none', stroke: styles[i].color, 'stroke-width': 2.5, 'stroke-dasharray': styles[i].dash, 'stroke-linejoin': 'round', class: `series series-${i}`, 'data-series': s.name }));
    });
    series.forEach((s, i) => {
      const g = el('g', { class: `markers markers-${i}` });
      s.values.forEach((v, j) => {
        const mk = marker(i, x(j), y(v), styles[i]);
        mk.append(el('title', {}, `${labels[j].tip || labels[j].text} · ${s.name}: ${v}`));
        g.append(mk);
      });
      svg.append(g);
    });

    const legend = document.createElement('ul');
    legend.className = 'legend';
    series.forEach((s, i) => {
      const li = document.createElement('li');
      const name = document.createElement('span');
      name.textContent = s.legend || s.name;
      li.append(swatch(i), name);
      legend.append(li);
    });
    container.replaceChildren(legend, svg);
  }

  return { draw, STYLES };
})();
