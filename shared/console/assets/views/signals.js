// The closed-loop report: which rules go with won deals, what points a model
// of won/lost history suggests, and how well each ranks leads (ROC, AUC).

import { h, append } from '../dom.js';
import { api } from '../api.js';
import { num, pct, signed, when } from '../format.js';
import { hbars, roc } from '../charts.js';

export async function signalsView(container) {
  append(container, h('header', { class: 'view-head' }, h('h1', null, 'Signals'),
    h('p', { class: 'muted' }, 'Which rules go with won deals. Computed from the leads with a sales outcome (won, lost or rejected); when they are many, from a build in the background.')));
  const wait = h('p', { class: 'muted' }, 'Reading leads with an outcome…');
  append(container, wait);
  const r = await ready(wait);
  wait.remove();
  if (!r) return;
  append(container, 
    h('div', { class: 'scorecards' },
      stat('Decided', num(r.outcomes, 0)), stat('Won', num(r.won, 0)),
      stat('Lost / rejected', `${num(r.lost, 0)} / ${num(r.rejected, 0)}`), stat('Win rate', pct(r.base_rate))),
    r.message ? h('p', { class: 'note' }, r.message) : null,
    h('section', { class: 'card' }, h('h2', null, 'Lift per signal'),
      h('p', { class: 'muted small' }, 'Win rate of leads with the signal divided by the overall win rate (1 = no better than average). Faded bars rest on few decided leads.'),
      lift(r.rules || [])),
    h('div', { class: 'columns' },
      h('section', { class: 'card' }, h('h2', null, 'Points: current and suggested'), weights(r.rules || [])),
      h('section', { class: 'card' }, h('h2', null, 'Ranking quality'), model(r.model))),
    h('p', { class: 'muted small' }, `Rules v${r.rules_version}, ${num(r.leads_read, 0)} leads with an outcome read, generated ${when(r.generated_at)}` +
      (r.computed === 'background' ? ' by a background build' : '') +
      (r.build ? `; a newer build is running (${r.build.done} of ${r.build.total} parts read)` : '') + '.'));
}

// ready polls the report while its first background build runs (status
// "building"), showing the build's progress in wait; it gives up when the
// view is left.
async function ready(wait) {
  for (;;) {
    const r = await api('v1/reports/signals');
    if (r.status !== 'building') return r;
    const b = r.build || { done: 0, total: 0 };
    wait.textContent = `Building the report in the background: ${b.done} of ${b.total} parts read…`;
    await new Promise((done) => setTimeout(done, 2000));
    if (!wait.isConnected) return null;
  }
}

function stat(title, value) {
  return h('div', { class: 'scorecard' }, h('div', { class: 'scorecard-title' }, title), h('div', { class: 'scorecard-value' }, value));
}

function lift(rules) {
  const rows = rules.filter((x) => x.lift !== undefined && x.lift !== null)
    .sort((a, b) => b.lift - a.lift)
    .map((x) => ({ label: x.rule, value: x.lift, note: `won ${x.converted_with} of ${x.outcomes_with} (${x.leads_with} leads)`, cls: x.small_sample ? 'faint' : x.kind }));
  if (rows.length === 0) return h('p', { class: 'muted' }, 'No signal has decided leads yet.');
  return hbars(rows, { format: (v) => '×' + num(v), ref: 1 });
}

function weights(rules) {
  const published = rules.filter((x) => x.published && x.kind);
  const unfired = rules.filter((x) => x.published && !x.kind).map((x) => x.rule);
  if (published.length === 0) return h('p', { class: 'muted' }, 'No lead has fired a published rule yet.');
  return h('div', null, h('table', { class: 'list compact' },
    h('thead', null, h('tr', null, ['Rule', 'Current', 'Suggested', 'Effect'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', null, published.map((x) => h('tr', null,
      h('td', null, x.rule, x.kind ? h('span', { class: 'muted small' }, ' ' + x.kind) : null),
      h('td', { class: 'num' }, signed(x.current_points)),
      h('td', { class: 'num strong' }, x.suggested_points === undefined || x.suggested_points === null ? '–' : signed(x.suggested_points)),
      h('td', null, x.effect || ''))))),
  unfired.length ? h('p', { class: 'muted small' }, `Not fired by any lead yet: ${unfired.join(', ')}.`) : null);
}

function model(m) {
  if (!m) return h('p', { class: 'muted' }, 'Not enough won and lost deals to fit a model yet.');
  const curves = [];
  if (m.roc_current) curves.push({ name: 'current rules', auc: m.auc_current, points: m.roc_current, cls: 'current' });
  if (m.roc_suggested) curves.push({ name: 'suggested points', auc: m.auc_suggested, points: m.roc_suggested, cls: 'suggested' });
  return h('div', null,
    curves.length ? roc(curves) : null,
    h('p', null, `AUC on ${num(m.holdout_leads, 0)} held-out leads: current ${num(m.auc_current, 3)} ± ${num(m.auc_current_se, 3)}, suggested ${num(m.auc_suggested, 3)} ± ${num(m.auc_suggested_se, 3)}.`),
    (m.notes || []).map((n) => h('p', { class: 'muted small' }, n)));
}
