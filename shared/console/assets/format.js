// Formatting of numbers, times and the bits of a lead or account view that
// several views show.

import { h } from './dom.js';

export function num(v, digits = 2) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return Number(v.toFixed(digits)).toLocaleString('en-US', { maximumFractionDigits: digits });
}

export function signed(v) {
  return (v > 0 ? '+' : '') + num(v);
}

export function pct(v) {
  return v === null || v === undefined ? '–' : num(100 * v, 1) + '%';
}

export function when(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
}

// duration renders milliseconds as the two largest units ("3d 4h", "12m").
export function duration(ms) {
  if (!(ms >= 0)) return '–';
  const units = [['d', 86400e3], ['h', 3600e3], ['m', 60e3]];
  const parts = [];
  let rest = ms;
  for (const [u, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0 || parts.length) parts.push(n + u);
    rest -= n * size;
    if (parts.length === 2) break;
  }
  return parts.length ? parts.join(' ').replace(/ 0[hm]$/, '') : '<1m';
}

// enteredStage is when the lead or account last entered its current stage,
// from its stage history.
export function enteredStage(view) {
  const hist = view.stage_history || [];
  for (let i = hist.length - 1; i >= 0; i--) if (hist[i].to === view.stage) return hist[i].at;
  return null;
}

export function ageInStage(view, now = Date.now()) {
  const at = enteredStage(view);
  return at ? duration(now - new Date(at).getTime()) : '–';
}

// displayName is how a lead is named in lists: its name if any attribute
// gives one, else its email, else its id.
export function displayName(view) {
  const a = view.attributes || {};
  const name = a.name || [a.first_name, a.last_name].filter(Boolean).join(' ');
  return String(name || view.email || a.email || view.lead_id || view.account_id || '');
}

// topReasons are the largest contributions of a breakdown, by size.
export function topReasons(breakdown, n = 3) {
  return (breakdown || [])
    .filter((c) => c.points && c.kind !== 'cap')
    .sort((a, b) => Math.abs(b.points) - Math.abs(a.points))
    .slice(0, n)
    .map((c) => `${c.rule || c.lead_id || c.kind} ${signed(c.points)}`)
    .join(' · ');
}

export function gradeBadge(grade) {
  const g = grade || '–';
  return h('span', { class: 'grade grade-' + (/^[A-F]$/.test(g) ? g : 'none'), title: 'grade ' + g }, g);
}

export function stageBadge(stage) {
  return h('span', { class: 'stage stage-' + String(stage || 'none').replace(/[^a-z]/g, '') }, stage || '–');
}

// timeline is a stage history as an ordered list, newest first.
export function timeline(history) {
  if (!history || history.length === 0) return h('p', { class: 'muted' }, 'No stage changes yet.');
  return h('ol', { class: 'timeline' },
    [...history].reverse().map((t) => h('li', null,
      h('span', { class: 'when' }, when(t.at)),
      h('div', null, stageBadge(t.from), ' → ', stageBadge(t.to),
        h('span', { class: 'why' }, t.reason || '', t.rules_version ? ` · rules v${t.rules_version}` : '')))));
}

// kv is a two-column table of an object's keys and values.
export function kv(obj) {
  const keys = Object.keys(obj || {}).sort();
  if (keys.length === 0) return h('p', { class: 'muted' }, 'None.');
  return h('table', { class: 'kv' }, h('tbody', null, keys.map((k) => h('tr', null,
    h('th', { scope: 'row' }, k),
    h('td', null, typeof obj[k] === 'object' ? JSON.stringify(obj[k]) : String(obj[k]))))));
}

// accountParts are the parts of an account's engagement (docs/scoring.md
// section 7): each lead's counted share, then the breadth points; together
// they sum to the engagement. The breakdown is {leads, others, breadth, fit}.
export function accountParts(account) {
  const bd = account.breakdown || {};
  const names = new Map((account.leads || []).map((l) => [l.lead_id, l.email || l.lead_id]));
  const parts = (bd.leads || []).map((c) => ({ lead_id: c.lead_id, rule: names.get(c.lead_id) || c.lead_id,
    points: c.counted, engagement: c.engagement, engaged: c.engaged }));
  // An account view lists its 50 most engaged leads; the rest are summed.
  const others = bd.others || {};
  if (others.leads) parts.push({ rule: `${others.leads} other people`, kind: 'others', points: others.counted });
  if (bd.breadth) parts.push({ rule: 'breadth', kind: 'breadth', points: bd.breadth });
  return parts;
}
