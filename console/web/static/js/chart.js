// chart.js: small inline-SVG bar charts for the portal's usage view. Each
// chart is an <svg role="img"> with a text alternative, and each bar a
// <title>; the portal also offers the numbers as a table.

import { el, svg } from './ui.js';

const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

// stackedBars draws one column per item with two stacked parts (input
// and output tokens). items: [{label, a, b, title}].
export function stackedBars(items, opts) {
  const W = 720;
  const H = 240;
  const left = 52;
  const bottom = 36;
  const top = 10;
  const plotH = H - top - bottom;
  const plotW = W - left - 10;
  const max = niceMax(Math.max(0, ...items.map((i) => i.a + i.b)));
  const g = svg('svg', {
    class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': opts.label, preserveAspectRatio: 'xMidYMid meet',
  });
  g.append(svg('title', {}, opts.label));
  for (let k = 0; k <= 4; k++) {
    const y = top + plotH - (plotH * k) / 4;
    g.append(svg('line', { class: 'grid-line', x1: left, x2: W - 10, y1: y, y2: y }),
      svg('text', { x: left - 6, y: y + 4, 'text-anchor': 'end' }, compact.format((max * k) / 4)));
  }
  g.append(svg('line', { class: 'axis', x1: left, x2: left, y1: top, y2: top + plotH }),
    svg('line', { class: 'axis', x1: left, x2: W - 10, y1: top + plotH, y2: top + plotH }));
  const n = Math.max(items.length, 1);
  const slot = plotW / n;
  const bw = Math.max(2, Math.min(40, slot * 0.7));
  const every = Math.ceil(n / 12); // at most a dozen labels
  items.forEach((it, i) => {
    const x = left + slot * i + (slot - bw) / 2;
    const ha = (plotH * it.a) / max;
    const hb = (plotH * it.b) / max;
    const bar = svg('g', { class: 'bar', 'data-label': it.label });
    bar.append(svg('title', {}, it.title),
      svg('rect', { class: 'bar-in', x, y: top + plotH - ha, width: bw, height: Math.max(ha, 0) }),
      svg('rect', { class: 'bar-out', x, y: top + plotH - ha - hb, width: bw, height: Math.max(hb, 0) }));
    g.append(bar);
    if (i % every === 0) {
      g.append(svg('text', { x: x + bw / 2, y: H - bottom + 16, 'text-anchor': 'middle' }, it.short || it.label));
    }
  });
  return g;
}

// legend explains the two parts of stackedBars.
export function legend(a, b) {
  return el('p', { class: 'legend' },
    el('span', {}, el('span', { class: 'swatch in', 'aria-hidden': 'true' }), a),
    el('span', {}, el('span', { class: 'swatch out', 'aria-hidden': 'true' }), b));
}
