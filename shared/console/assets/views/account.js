// One account: its people and what each one counts for, breadth, history.

import { h, link, append } from '../dom.js';
import { api } from '../api.js';
import { num, signed, ageInStage, displayName, gradeBadge, stageBadge, timeline, kv, accountParts } from '../format.js';
import { hbars } from '../charts.js';

export async function accountView(container, id) {
  const a = await api('v1/accounts/' + encodeURIComponent(id));
  const score = a.score || {};
  const attrs = a.attributes || {};
  append(container, 
    h('p', { class: 'crumbs' }, h('a', { href: '#/queue' }, 'Queue'), ' / account'),
    h('header', { class: 'view-head' },
      h('h1', null, String(attrs.name || attrs.domain || a.domain || a.account_id)),
      h('p', { class: 'muted' }, String(attrs.domain || a.domain || ''), ' · ', h('code', null, a.account_id))),
    h('div', { class: 'scorecards' },
      card('Engagement', num(score.engagement)),
      card('Fit', num(score.fit)),
      card('Grade', gradeBadge(score.grade)),
      card('Engaged people', String(a.engaged_contacts ?? '–')),
      card('Stage', stageBadge(a.stage), h('div', { class: 'muted small' }, 'for ' + ageInStage(a)))),
    h('section', { class: 'card' }, h('h2', null, 'Who counts'), contributions(a)),
    h('div', { class: 'columns' },
      h('section', { class: 'card' }, h('h2', null, 'People'), people(a.leads || [])),
      h('section', { class: 'card' }, h('h2', null, 'Stage history'), timeline(a.stage_history))),
    h('section', { class: 'card' }, h('h2', null, 'Attributes'), kv(attrs)));
}

function card(title, ...body) {
  return h('div', { class: 'scorecard' }, h('div', { class: 'scorecard-title' }, title), h('div', { class: 'scorecard-value' }, ...body));
}

// contributions draws each person's counted share of the account's
// engagement and the breadth points (they sum to the engagement), then the
// account's fit rules.
function contributions(a) {
  const rows = accountParts(a).map((c) => ({
    label: c.lead_id ? c.rule : 'breadth (more engaged people)',
    value: c.points,
    note: c.lead_id && c.engagement !== c.points ? `of ${num(c.engagement)}` : '',
    cls: c.lead_id ? 'engagement' : 'burst',
  }));
  const fit = ((a.breakdown || {}).fit || []).filter((c) => c.points !== 0);
  return h('div', null,
    h('h3', null, 'Engagement ', h('span', { class: 'muted' }, '= ' + num((a.score || {}).engagement))),
    rows.length ? hbars(rows) : h('p', { class: 'muted' }, 'No engagement yet.'),
    fit.length ? [h('h3', null, 'Fit ', h('span', { class: 'muted' }, '= ' + num((a.score || {}).fit))),
      hbars(fit.map((c) => ({ label: c.rule, value: c.points, cls: 'fit' })), { format: signed })] : null);
}

function people(leads) {
  if (leads.length === 0) return h('p', { class: 'muted' }, 'No people.');
  const sorted = [...leads].sort((x, y) => (y.engagement ?? 0) - (x.engagement ?? 0));
  return h('table', { class: 'list' },
    h('thead', null, h('tr', null, ['Person', 'Stage', 'Engagement'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', null, sorted.map((l) => h('tr', null,
      h('td', null, link(displayName(l), 'lead', l.lead_id)),
      h('td', null, stageBadge(l.stage)),
      h('td', { class: 'num' }, num(l.engagement ?? (l.score && l.score.engagement)))))));
}
