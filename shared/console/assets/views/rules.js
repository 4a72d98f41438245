// The rules: edit the published document, preview what a draft would do to
// every lead, publish it and follow the rescore, and read the history.

import { h, clear, link, append } from '../dom.js';
import { api, ApiError } from '../api.js';
import { num, when, gradeBadge, stageBadge } from '../format.js';
import { toYAML } from '../yaml.js';
import { diffLines, hunks } from '../diff.js';
import { coarsen } from '../bins.js';
import { histogram, progress } from '../charts.js';

const YAML = 'application/yaml';
const POLL_MS = 700;

// docText is a stored document as the editor shows it. GET /v1/rules
// answers the canonical JSON, written out here as YAML; a string (a
// document the API could only pass on as text) is shown as it is.
export function docText(rules) {
  if (typeof rules === 'string') return rules;
  // The stored JSON records its own version number: metadata, not a rule,
  // and noise in every diff.
  const { version, ...doc } = rules;
  return toYAML(doc);
}

export async function rulesView(container, version) {
  const current = await api('v1/rules');
  const state = { published: current.version, previewed: null };
  const editor = h('textarea', { id: 'rules-editor', spellcheck: 'false', wrap: 'off', rows: 28, 'aria-label': 'Rules document (YAML)', 'aria-describedby': 'rules-problems' });
  editor.value = docText(current.rules);
  const problems = h('div', { id: 'rules-problems', class: 'problems', 'aria-live': 'polite' });
  const results = h('div', { id: 'preview-results' });
  const publishOut = h('div', { id: 'publish-results' });
  const versionLabel = h('span', { id: 'published-version' }, versionText(state.published));
  const history = h('div', { id: 'rules-history' });
  const diffPane = h('div', { id: 'rules-diff' });

  const previewBtn = h('button', { type: 'button', id: 'preview-btn' }, 'Preview');
  const publishBtn = h('button', { type: 'button', id: 'publish-btn', class: 'primary' }, 'Publish…');
  const resetBtn = h('button', { type: 'button', class: 'quiet' }, 'Discard changes');
  previewBtn.addEventListener('click', () => runPreview(editor.value, state, problems, results, previewBtn));
  publishBtn.addEventListener('click', () => confirmPublish(container, editor.value, state, problems, publishOut, () => {
    versionLabel.textContent = versionText(state.published);
    loadHistory(history, state.published);
  }));
  resetBtn.addEventListener('click', () => { editor.value = docText(current.rules); clear(problems); });

  append(container, 
    h('header', { class: 'view-head' }, h('h1', null, 'Scoring rules'), h('p', { class: 'muted' }, versionLabel)),
    h('section', { class: 'card editor-card' },
      h('div', { class: 'editor-grid' },
        h('div', null, editor, h('div', { class: 'actions' }, previewBtn, publishBtn, resetBtn)),
        h('aside', null, h('h2', null, 'Problems'), problems,
          h('p', { class: 'muted small' }, 'The document is YAML (JSON works too). Preview shows what publishing would do to every lead, without changing anything.')))),
    results, publishOut,
    h('section', { class: 'card' }, h('h2', null, 'Version history'), h('div', { class: 'columns history' }, history, diffPane)));
  await loadHistory(history, state.published);
  if (version) await showVersion(diffPane, Number(version));
}

function versionText(v) {
  return v > 0 ? `Published version ${v}` : 'The default rules (nothing published yet)';
}

// showProblems lists a 400's details next to the editor.
function showProblems(problems, e) {
  clear(problems);
  if (!(e instanceof ApiError) || e.status !== 400) throw e;
  problems.append(h('p', { class: 'error', role: 'alert' }, e.message),
    h('ul', null, e.details.map((d) => h('li', null, h('code', null, d.field), ' ', d.message))));
}

async function runPreview(text, state, problems, results, button) {
  clear(problems);
  clear(results);
  button.disabled = true;
  try {
    let started;
    try {
      started = await api('v1/rules/preview', { method: 'POST', body: text, contentType: YAML });
    } catch (e) {
      return showProblems(problems, e);
    }
    const bar = progress('Preview');
    const card = h('section', { class: 'card', id: 'preview' }, h('h2', null, 'Preview'), bar.el);
    results.append(card);
    const p = await poll(`v1/rules/preview/${encodeURIComponent(started.preview_id)}`, card,
      (p) => bar.set(p.progress?.done ?? 0, p.progress?.total ?? 0), (p) => p.status === 'done');
    if (!p) return;
    bar.set(p.progress?.done ?? 0, p.progress?.total ?? 0, 'done');
    state.previewed = { text, result: p };
    card.append(previewResult(p));
  } finally {
    button.disabled = false;
  }
}

// poll reads path until done(answer), calling each(answer) on every read;
// it stops (returning null) when the view is left.
async function poll(path, node, each, done) {
  for (;;) {
    const p = await api(path);
    each(p);
    if (done(p)) return p;
    await new Promise((r) => setTimeout(r, POLL_MS));
    if (!node.isConnected) return null;
  }
}

function previewResult(p) {
  const changes = Object.entries(p.stage_changes || {}).sort((a, b) => b[1] - a[1]);
  const out = h('div', { class: 'preview-result', id: 'preview-done' },
    h('p', { class: 'lead-in' }, `Publishing this draft would move ${changes.reduce((t, c) => t + c[1], 0)} of ${num(p.leads, 0)} leads.`),
    changes.length ? h('table', { class: 'list compact fit', id: 'stage-changes' },
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Move'), h('th', { scope: 'col', class: 'num' }, 'Leads'))),
      h('tbody', null, changes.map(([k, n]) => h('tr', null, h('td', null, k.replace('->', ' → ')), h('td', { class: 'num' }, String(n))))))
      : h('p', { class: 'muted' }, 'No lead would change stage.'),
    h('div', { class: 'columns' },
      leadsTable('Would qualify', 'would-qualify', p.would_qualify || []),
      leadsTable('Would unqualify', 'would-unqualify', p.would_unqualify || [])),
    accountsResult(p.accounts));
  const hist = p.histograms || {};
  const charts = h('div', { class: 'columns' });
  for (const [field, hg] of Object.entries(hist)) {
    const c = coarsen(hg.bins || [], hg.bin_width || 1, 30);
    charts.append(h('div', null, h('h3', null, field, ' distribution'), histogram(c.bins, c.width, { label: field })));
  }
  out.append(charts);
  return out;
}

function leadsTable(title, id, leads) {
  const score = (x) => x ? h('span', { class: 'snap' }, num(x.engagement), ' / ', num(x.fit), ' ', gradeBadge(x.grade), ' ', stageBadge(x.stage)) : '–';
  return h('div', null, h('h3', null, title, ' ', h('span', { class: 'muted' }, `(${leads.length}${leads.length === 100 ? '+' : ''})`)),
    leads.length === 0 ? h('p', { class: 'muted' }, 'None.') : h('table', { class: 'list compact', id },
      h('thead', null, h('tr', null, ['Lead', 'Before (eng. / fit)', 'After (eng. / fit)'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', null, leads.map((l) => h('tr', null,
        h('td', null, link(l.email || l.lead_id, 'lead', l.lead_id)),
        h('td', null, score(l.before)), h('td', null, score(l.after)))))));
}

// accountsResult is the accounts part of a finished preview: the accounts'
// stage changes and the accounts that would qualify or unqualify (null for
// a preview without one). Text only, like every view.
export function accountsResult(a) {
  if (!a) return null;
  const changes = Object.entries(a.stage_changes || {}).sort((x, y) => y[1] - x[1]);
  const moved = changes.reduce((t, c) => t + c[1], 0);
  return h('div', { id: 'preview-accounts' },
    h('h3', null, 'Accounts'),
    h('p', { class: 'lead-in' }, `Publishing this draft would move ${num(moved, 0)} of ${num(a.accounts, 0)} accounts`,
      changes.length ? ': ' + changes.map(([k, n]) => `${k.replace('->', ' → ')} ${n}`).join(', ') + '.' : '.'),
    h('div', { class: 'columns' },
      accountsTable('Accounts that would qualify', 'accounts-qualify', a.would_qualify || [], a.would_qualify_count),
      accountsTable('Accounts that would unqualify', 'accounts-unqualify', a.would_unqualify || [], a.would_unqualify_count)));
}

function accountsTable(title, id, accounts, count) {
  const score = (x) => x ? h('span', { class: 'snap' }, num(x.engagement), ' / ', num(x.fit), ' ', gradeBadge(x.grade), ' ',
    stageBadge(x.stage), ` ${num(x.engaged_contacts, 0)} engaged`) : '–';
  return h('div', null, h('h4', null, title, ' ', h('span', { class: 'muted' }, `(${num(count ?? accounts.length, 0)})`)),
    accounts.length === 0 ? h('p', { class: 'muted' }, 'None.') : h('table', { class: 'list compact', id },
      h('thead', null, h('tr', null, ['Account', 'Before (eng. / fit)', 'After (eng. / fit)'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', null, accounts.map((c) => h('tr', null,
        h('td', null, link(c.domain || c.account_id, 'account', c.account_id)),
        h('td', null, score(c.before)), h('td', null, score(c.after)))))));
}

// confirmPublish asks before publishing; publishing rescores every lead.
function confirmPublish(container, text, state, problems, out, published) {
  const pv = state.previewed && state.previewed.text === text ? state.previewed.result : null;
  const summary = pv
    ? `The preview of this draft: ${(pv.would_qualify || []).length} lead(s) would qualify and ${(pv.would_unqualify || []).length} would unqualify` +
      (pv.accounts ? `; ${pv.accounts.would_qualify_count} account(s) would qualify and ${pv.accounts.would_unqualify_count} would unqualify.` : '.')
    : 'This draft has not been previewed: Preview shows what it would do first.';
  const yes = h('button', { type: 'button', class: 'primary', id: 'confirm-publish' }, 'Publish and rescore');
  const no = h('button', { type: 'button', class: 'quiet' }, 'Cancel');
  const dialog = h('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-title' },
    h('h2', { id: 'confirm-title' }, `Publish version ${state.published + 1}?`),
    h('p', null, 'Every lead is rescored with the new rules, and leads that qualify are handed to sales (webhooks are sent).'),
    h('p', null, summary), h('div', { class: 'actions' }, yes, no));
  append(container, dialog);
  no.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => dialog.remove());
  yes.addEventListener('click', async () => {
    dialog.close();
    clear(problems);
    clear(out);
    let res;
    try {
      res = await api('v1/rules', { method: 'PUT', body: text, contentType: YAML });
    } catch (e) {
      return showProblems(problems, e);
    }
    state.published = res.version;
    published();
    out.append(await rescoreProgress(res));
  });
  dialog.showModal();
}

function rescoreProgress(res) {
  const card = h('section', { class: 'card', id: 'rescore' }, h('h2', null, `Version ${res.version} published`));
  const r = res.rescore;
  if (!r || !r.started) {
    card.append(h('p', { class: 'error' }, (r && r.message) || 'The rescore did not start.'));
    return card;
  }
  const bar = progress('Rescore');
  card.append(bar.el);
  poll(r.progress, card,
    (j) => bar.set(Number(j.leads_done), Number(j.finished_at ? j.leads_done : j.leads_enqueued), j.scan_complete ? '' : '(still finding leads)'),
    (j) => !!j.finished_at || !!j.superseded_by)
    .then((j) => { if (j) card.append(h('p', { class: 'ok', id: 'rescore-done' }, j.superseded_by ? `Superseded by version ${j.superseded_by}.` : `Every lead is scored with version ${res.version}.`)); })
    .catch((e) => card.append(h('p', { class: 'error' }, e.message)));
  return card;
}

async function loadHistory(el, current) {
  clear(el);
  let list;
  try {
    list = await api('v1/rules/versions');
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) throw e;
    el.append(h('p', { class: 'muted' }, 'No version history: ' + e.message));
    return;
  }
  const versions = list.versions || [];
  if (versions.length === 0) return el.append(h('p', { class: 'muted' }, 'Nothing published yet: the default rules apply.'));
  el.append(h('ol', { class: 'versions', reversed: true }, versions.map((v) => h('li', null,
    link(`v${v.version}`, 'rules', `v${v.version}`), v.version === current ? h('span', { class: 'pill' }, 'current') : null,
    h('span', { class: 'muted small' }, ` ${when(v.published_at)}${v.published_by ? ' by ' + v.published_by : ''}`),
    h('div', { class: 'small' }, v.summary || '')))));
}

async function showVersion(el, v) {
  clear(el);
  const doc = await api('v1/rules?version=' + v);
  const prev = v > 1 ? await api('v1/rules?version=' + (v - 1)) : null;
  const d = hunks(diffLines(prev ? docText(prev.rules) : '', docText(doc.rules)));
  el.append(h('h3', null, `Version ${v}`, prev ? ` against version ${v - 1}` : ' (the first)'),
    h('pre', { class: 'diff', id: 'version-diff' }, d.map((line) => h('span', { class: 'd' + { ' ': 'same', '-': 'del', '+': 'add', '…': 'skip' }[line.op] },
      line.op === '…' ? `… ${line.skipped} unchanged line(s)\n` : `${line.op} ${line.text}\n`))));
}
