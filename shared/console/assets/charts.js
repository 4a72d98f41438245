// Charts drawn as inline SVG (createElementNS), so they need no library and
// no inline style: sizes are attributes, colours come from console.css.

import { h, s } from './dom.js';
import { num, signed } from './format.js';
import { niceMax } from './bins.js';

// hbars is a horizontal bar chart of rows {label, value, note, cls}, with a
// zero line: negative values are drawn left of it. Each row's label and
// value are text, so the chart reads without the bars too.
export function hbars(rows, { unit = '', labelWidth = 200, format = signed, ref } = {}) {
  const rowH = 26, top = 8, charW = 7;
  const text = (r) => format(r.value) + unit + (r.note ? '  ' + r.note : '');
  const max = Math.max(0, ...rows.map((r) => r.value), ref || 0);
  const min = Math.min(0, ...rows.map((r) => r.value));
  const span = max - min || 1;
  // Room for the value text right of the longest positive bar and left of
  // the longest negative one, so no text runs over a label or the edge.
  const rightRoom = 12 + charW * Math.max(0, ...rows.filter((r) => r.value >= 0).map((r) => text(r).length));
  const leftRoom = min < 0 ? 12 + charW * Math.max(...rows.filter((r) => r.value < 0).map((r) => text(r).length)) : 0;
  const plotX = labelWidth + 10 + leftRoom, plotW = 420;
  const width = plotX + plotW + rightRoom;
  const x = (v) => plotX + ((v - min) / span) * plotW;
  const height = top * 2 + rows.length * rowH;
  const svg = s('svg', { class: 'chart hbars', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-label': rows.map((r) => `${r.label} ${text(r)}`).join(', ') });
  // The reference line goes under the bars and their text.
  if (ref !== undefined) svg.append(s('line', { x1: x(ref), x2: x(ref), y1: 2, y2: height - 2, class: 'ref' }));
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const x0 = x(Math.min(0, r.value)), x1 = x(Math.max(0, r.value));
    svg.append(
      s('text', { x: labelWidth, y: y + 17, 'text-anchor': 'end', class: 'label' }, truncate(r.label, 28)),
      s('rect', { x: x0, y: y + 5, width: Math.max(1, x1 - x0), height: rowH - 10,
        class: 'bar ' + (r.value < 0 ? 'neg' : 'pos') + (r.cls ? ' ' + r.cls : '') },
      s('title', null, `${r.label}: ${text(r)}`)),
      s('text', { x: r.value < 0 ? x0 - 6 : x1 + 6, y: y + 17, 'text-anchor': r.value < 0 ? 'end' : 'start', class: 'value' }, text(r)));
  });
  svg.append(s('line', { x1: x(0), x2: x(0), y1: 2, y2: height - 2, class: 'axis' }));
  return svg;
}

function truncate(t, n) {
  const str = String(t);
  return str.length > n ? str.slice(0, n - 1) + '…' : str;
}

// histogram draws before/after bins ({from, before, after}, equal width) as
// paired columns.
export function histogram(bins, width, { label = 'score' } = {}) {
  const W = 560, H = 220, left = 44, bottom = 36, top = 10;
  const ymax = niceMax(Math.max(1, ...bins.map((b) => Math.max(b.before, b.after))));
  const plotW = W - left - 10, plotH = H - top - bottom;
  const bw = plotW / Math.max(1, bins.length);
  const y = (v) => top + plotH - (v / ymax) * plotH;
  const svg = s('svg', { class: 'chart histogram', width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img',
    'aria-label': `${label} histogram before and after` });
  for (const t of [0, ymax / 2, ymax]) {
    svg.append(s('line', { x1: left, x2: W - 10, y1: y(t), y2: y(t), class: 'grid' }),
      s('text', { x: left - 6, y: y(t) + 4, 'text-anchor': 'end', class: 'tick' }, num(t, 0)));
  }
  bins.forEach((b, i) => {
    const x = left + i * bw;
    const half = Math.max(1, bw / 2 - 1);
    svg.append(
      s('rect', { x: x + 1, y: y(b.before), width: half, height: top + plotH - y(b.before), class: 'before' },
        s('title', null, `${b.from} to ${b.from + width}: ${b.before} before`)),
      s('rect', { x: x + 1 + half, y: y(b.after), width: half, height: top + plotH - y(b.after), class: 'after' },
        s('title', null, `${b.from} to ${b.from + width}: ${b.after} after`)));
    if (bins.length <= 12 || i % Math.ceil(bins.length / 10) === 0) {
      svg.append(s('text', { x, y: H - bottom + 16, class: 'tick', 'text-anchor': 'middle' }, String(b.from)));
    }
  });
  svg.append(s('text', { x: left + plotW / 2, y: H - 4, 'text-anchor': 'middle', class: 'axis-label' }, label));
  return h('figure', { class: 'chart-box' }, svg,
    h('figcaption', null, h('span', { class: 'key before' }), ' before  ', h('span', { class: 'key after' }), ' after'));
}

// roc draws ROC curves ({name, auc, points: [{fpr, tpr}], cls}) over the
// diagonal of a coin flip.
export function roc(curves) {
  const S = 320, m = 40;
  const x = (v) => m + v * (S - 2 * m), y = (v) => S - m - v * (S - 2 * m);
  const svg = s('svg', { class: 'chart roc', width: S, height: S, viewBox: `0 0 ${S} ${S}`, role: 'img',
    'aria-label': 'ROC curves: ' + curves.map((c) => `${c.name} AUC ${num(c.auc, 3)}`).join(', ') });
  svg.append(s('rect', { x: m, y: m, width: S - 2 * m, height: S - 2 * m, class: 'frame' }),
    s('line', { x1: x(0), y1: y(0), x2: x(1), y2: y(1), class: 'diagonal' }));
  for (const t of [0, 0.5, 1]) {
    svg.append(s('text', { x: x(t), y: S - m + 16, 'text-anchor': 'middle', class: 'tick' }, String(t)),
      s('text', { x: m - 6, y: y(t) + 4, 'text-anchor': 'end', class: 'tick' }, String(t)));
  }
  svg.append(s('text', { x: S / 2, y: S - 6, 'text-anchor': 'middle', class: 'axis-label' }, 'false positive rate'),
    s('text', { x: 12, y: S / 2, 'text-anchor': 'middle', class: 'axis-label', transform: `rotate(-90 12 ${S / 2})` }, 'true positive rate'));
  for (const c of curves) {
    const pts = c.points.map((p) => `${x(p.fpr).toFixed(1)},${y(p.tpr).toFixed(1)}`).join(' ');
    svg.append(s('polyline', { points: pts, class: 'curve ' + c.cls }, s('title', null, `${c.name}: AUC ${num(c.auc, 3)}`)));
  }
  return h('figure', { class: 'chart-box' }, svg,
    h('figcaption', null, curves.map((c) => [h('span', { class: 'key ' + c.cls }), ` ${c.name} (AUC ${num(c.auc, 3)})  `])));
}

// progress is a labelled <progress> bar; set(done, total, text) updates it.
export function progress(label) {
  const bar = h('progress', { max: 1, value: 0, 'aria-label': label });
  const text = h('span', { class: 'progress-text', 'aria-live': 'polite' }, 'starting…');
  const el = h('div', { class: 'progress' }, h('span', { class: 'progress-label' }, label), bar, text);
  return {
    el,
    set(done, total, note) {
      bar.max = Math.max(1, total);
      bar.value = Math.min(done, bar.max);
      const p = total > 0 ? Math.floor((100 * done) / total) : 0;
      text.textContent = `${p}% (${done.toLocaleString('en-US')} of ${total.toLocaleString('en-US')})${note ? ' ' + note : ''}`;
      el.dataset.percent = String(p);
    },
  };
}
