// The queue: leads and accounts waiting for sales, highest engagement first.

import { h, clear, link, append } from '../dom.js';
import { api, q, ApiError } from '../api.js';
import { num, ageInStage, displayName, topReasons, gradeBadge, accountParts } from '../format.js';

const LEAD_STAGES = ['mql', 'lead', 'sql', 'customer', 'nurture', 'disqualified', 'expired', 'visitor'];
const ACCOUNT_STAGES = ['mqa', 'account', 'opportunity', 'customer'];
const NUMERIC = new Set(['Fit', 'Engagement', 'Engaged people']);

export async function queueView(container) {
  append(container, h('h1', null, 'Waiting for sales'), searchForm(container));
  const leads = section('Leads', 'leads', LEAD_STAGES, leadRow,
    ['Lead', 'Company', 'Grade', 'Fit', 'Engagement', 'In stage', 'Top reasons']);
  const accounts = section('Accounts', 'accounts', ACCOUNT_STAGES, accountRow,
    ['Account', 'Grade', 'Fit', 'Engagement', 'Engaged people', 'In stage', 'Top contributors']);
  append(container, leads.el, accounts.el);
  await Promise.all([leads.load(), accounts.load()]);
}

function searchForm(container) {
  const input = h('input', { type: 'search', id: 'email-search', placeholder: 'ada@example.com', 'aria-label': 'Find a lead by email' });
  const out = h('div', { class: 'search-result', 'aria-live': 'polite' });
  const form = h('form', { class: 'search', role: 'search' }, input, h('button', { type: 'submit' }, 'Find lead'), out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(out);
    const email = input.value.trim();
    if (!email) return;
    try {
      const lead = await api('v1/leads' + q({ email }));
      location.hash = '#/lead/' + encodeURIComponent(lead.lead_id);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) out.append(h('p', { class: 'muted' }, 'No lead with that email.'));
      else if (e instanceof ApiError && e.status === 401) throw e;
      else out.append(h('p', { class: 'error' }, e.message));
    }
  });
  return form;
}

// section is one paged table (leads or accounts) with a stage selector.
function section(title, kind, stages, row, headers) {
  const select = h('select', { id: kind + '-stage', 'aria-label': title + ' stage' },
    stages.map((st) => h('option', { value: st }, st)));
  const tbody = h('tbody', { id: kind + '-rows' });
  const more = h('button', { type: 'button', class: 'more', hidden: true }, 'Load more');
  const status = h('p', { class: 'muted status' });
  const table = h('table', { class: 'list', id: kind + '-table' },
    h('thead', null, h('tr', null, headers.map((t) => h('th', { scope: 'col', class: NUMERIC.has(t) ? 'num' : null }, t)))), tbody);
  const el = h('section', { class: 'card' },
    h('div', { class: 'section-head' }, h('h2', null, title), h('label', null, 'Stage ', select)), table, status, more);
  let cursor = null;

  async function load(append = false) {
    if (!append) { clear(tbody); cursor = null; }
    status.textContent = 'Loading…';
    more.hidden = true;
    let page;
    try {
      page = await api(`v1/${kind}` + q({ stage: select.value, limit: 50, cursor }));
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) throw e;
      const missing = e instanceof ApiError && e.status === 404;
      table.hidden = missing;
      status.textContent = missing ? `This API does not list ${kind} yet.` : `Could not load ${kind}: ${e.message}`;
      return;
    }
    const items = page[kind] || [];
    for (const item of items) tbody.append(row(item));
    cursor = page.cursor || null;
    more.hidden = !cursor;
    status.textContent = tbody.children.length === 0 ? `No ${kind} in stage ${select.value}.` : '';
    // A mark for the load-time figures (infra/console -figures).
    if (!append) performance.mark(`${kind}-rendered`);
  }
  select.addEventListener('change', () => load(false));
  more.addEventListener('click', () => load(true));
  return { el, load };
}

function leadRow(l) {
  const a = l.attributes || {};
  const name = displayName(l);
  return h('tr', null,
    h('td', null, link(name, 'lead', l.lead_id), name !== l.email && l.email ? h('div', { class: 'muted small' }, l.email) : null),
    h('td', null, a.company || ''),
    h('td', null, gradeBadge(l.score && l.score.grade)),
    h('td', { class: 'num' }, num(l.score && l.score.fit)),
    h('td', { class: 'num strong' }, num(l.score && l.score.engagement)),
    h('td', null, ageInStage(l)),
    h('td', { class: 'reasons' }, topReasons(l.breakdown)));
}

function accountRow(acc) {
  const a = acc.attributes || {};
  return h('tr', null,
    h('td', null, link(a.name || a.domain || acc.domain || acc.account_id, 'account', acc.account_id),
      a.domain ? h('div', { class: 'muted small' }, a.domain) : null),
    h('td', null, gradeBadge(acc.score && acc.score.grade)),
    h('td', { class: 'num' }, num(acc.score && acc.score.fit)),
    h('td', { class: 'num strong' }, num(acc.score && acc.score.engagement)),
    h('td', { class: 'num' }, String(acc.engaged_contacts ?? '–')),
    h('td', null, ageInStage(acc)),
    h('td', { class: 'reasons' }, topReasons(accountParts(acc))));
}

