// One lead: who it is, its scores, why (the breakdown), and its history.

import { h, link, append } from '../dom.js';
import { api } from '../api.js';
import { num, when, ageInStage, displayName, gradeBadge, stageBadge, timeline, kv } from '../format.js';
import { hbars } from '../charts.js';

export async function leadView(container, id) {
  const [l, events] = await Promise.all([
    api('v1/leads/' + encodeURIComponent(id)),
    api(`v1/leads/${encodeURIComponent(id)}/events?limit=15`).catch((e) => e),
  ]);
  const score = l.score || {};
  append(container, 
    h('p', { class: 'crumbs' }, h('a', { href: '#/queue' }, 'Queue'), ' / lead'),
    h('header', { class: 'view-head' },
      h('h1', { id: 'lead-name' }, displayName(l)),
      h('p', { class: 'muted' }, l.email || '', ' · ', h('code', null, l.lead_id))),
    h('div', { class: 'scorecards' },
      card('Engagement', h('span', { id: 'lead-engagement' }, num(score.engagement))),
      card('Fit', num(score.fit)),
      card('Grade', gradeBadge(score.grade)),
      card('Stage', stageBadge(l.stage), h('div', { class: 'muted small' }, 'for ' + ageInStage(l))),
      card('Account', l.account_id ? link('Open account', 'account', l.account_id) : h('span', { class: 'muted' }, 'none'))),
    h('section', { class: 'card' }, h('h2', null, 'Why this score'), breakdown(l.breakdown || [], score)),
    h('div', { class: 'columns' },
      h('section', { class: 'card' }, h('h2', null, 'Stage history'), timeline(l.stage_history)),
      h('section', { class: 'card' }, h('h2', null, 'Latest events'), latest(events))),
    h('div', { class: 'columns' },
      h('section', { class: 'card' }, h('h2', null, 'Attributes'), kv(l.attributes),
        h('p', { class: 'muted small' }, `Last activity ${when(l.last_activity_at)} · scored ${when(l.evaluated_at)} with rules v${l.rules_version}`))));
}

function card(title, ...body) {
  return h('div', { class: 'scorecard' }, h('div', { class: 'scorecard-title' }, title), h('div', { class: 'scorecard-value' }, ...body));
}

// breakdown draws every contribution that carries points, engagement first
// then fit, as bars around zero. The engagement rows (caps included) sum to
// the engagement score; the fit rows to the fit score.
function breakdown(rows, score) {
  const shown = rows.filter((c) => c.points !== 0);
  if (shown.length === 0) return h('p', { class: 'muted' }, 'No rule gives this lead points yet.');
  const part = (kinds, title, total) => {
    const rs = shown.filter((c) => kinds.includes(c.kind));
    if (rs.length === 0) return null;
    return h('div', { class: 'breakdown', 'data-kind': kinds[0] },
      h('h3', null, title, ' ', h('span', { class: 'muted' }, '= ' + num(total))),
      hbars(rs.map((c) => ({
        label: c.kind === 'cap' ? `cap: ${c.rule}` : c.rule,
        value: c.points,
        note: c.events > 1 ? `${c.events} events` : '',
        cls: c.kind,
      }))),
      h('ul', { class: 'sr-only' }, rs.map((c) => h('li', { 'data-points': c.points }, `${c.rule}: ${c.points}`))));
  };
  return h('div', null,
    part(['engagement', 'burst', 'cap'], 'Engagement', score.engagement),
    part(['fit'], 'Fit', score.fit));
}

// latest lists the lead's newest events: when, what, and its properties as
// text. events is the API's answer, or the error it gave.
function latest(events) {
  if (events instanceof Error) {
    if (events.status === 401) throw events;
    return h('p', { class: 'muted' }, 'Events are not available: ' + events.message);
  }
  if (events.events.length === 0) return h('p', { class: 'muted' }, 'No events recorded.');
  const props = (p) => Object.entries(p || {}).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' · ');
  return h('div', null,
    h('table', { class: 'list compact', id: 'lead-events' },
      h('thead', null, h('tr', null, ['When', 'Event', 'Details'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', null, events.events.map((e) => h('tr', null,
        h('td', { class: 'snap' }, when(e.occurred_at)),
        h('td', null, e.type),
        h('td', { class: 'reasons' }, props(e.properties)))))),
    events.total > events.events.length ? h('p', { class: 'muted small' }, `The newest ${events.events.length} of ${events.total}.`) : null);
}
