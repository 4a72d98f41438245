// The console's entry point: the API key form, the navigation and the hash
// router. Each view is an async function (container, ...params) that fills
// the container it is given; a container left behind by a newer navigation
// is detached, so a slow answer cannot draw over the view now shown.

import { h, clear } from './dom.js';
import { ApiError, getKey, setKey, clearKey } from './api.js';
import { queueView } from './views/queue.js';
import { leadView } from './views/lead.js';
import { accountView } from './views/account.js';
import { rulesView } from './views/rules.js';
import { signalsView } from './views/signals.js';

const routes = [
  [/^#?\/?(queue)?$/, queueView],
  [/^#\/lead\/([^/]+)$/, leadView],
  [/^#\/account\/([^/]+)$/, accountView],
  [/^#\/rules(?:\/v(\d+))?$/, rulesView],
  [/^#\/signals$/, signalsView],
];

const main = document.getElementById('main');
const keyButton = document.getElementById('change-key');

keyButton.addEventListener('click', () => showKeyForm(''));
window.addEventListener('hashchange', render);
render();

// render shows the view the hash names, or the key form when no key is set.
async function render() {
  markNav();
  if (!getKey()) return showKeyForm('');
  const container = h('div', { class: 'view' });
  clear(main).append(container);
  for (const [re, view] of routes) {
    const m = location.hash.match(re);
    if (!m) continue;
    try {
      await view(container, ...m.slice(1).map((p) => p && decodeURIComponent(p)));
    } catch (e) {
      if (container.isConnected) showError(container, e);
    }
    return;
  }
  container.append(h('h1', null, 'Not found'), h('p', null, 'No view at ', h('code', null, location.hash), '. ', h('a', { href: '#/queue' }, 'Back to the queue.')));
}

function markNav() {
  const here = (location.hash.match(/^#\/(\w+)/) || [])[1] || 'queue';
  const section = { lead: 'queue', account: 'queue' }[here] || here;
  for (const a of document.querySelectorAll('nav a')) {
    if (a.dataset.section === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

// showError explains a failed call; a refused key brings back the key form.
export function showError(container, e) {
  if (e instanceof ApiError && e.status === 401) {
    clearKey();
    return showKeyForm('That API key was refused (401). Check it and type it again; it is the value of the API_KEY setting of this deployment.');
  }
  const box = h('div', { class: 'error', role: 'alert' },
    h('strong', null, e instanceof ApiError && e.status ? `Error ${e.status}` : 'Error'), ' ', e.message || String(e));
  if (e.details && e.details.length) {
    box.append(h('ul', null, e.details.map((d) => h('li', null, h('code', null, d.field), ' ', d.message))));
  }
  container.append(box);
}

function showKeyForm(message) {
  keyButton.hidden = true;
  const input = h('input', { id: 'api-key', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true, 'aria-describedby': 'key-help' });
  const form = h('form', { class: 'card key-form', id: 'key-form' },
    h('h1', null, 'Sign in with the API key'),
    message ? h('p', { class: 'error', role: 'alert', id: 'key-error' }, message) : null,
    h('label', { for: 'api-key' }, 'API key'),
    input,
    h('p', { class: 'muted', id: 'key-help' }, 'It is kept in this browser tab only (sessionStorage) and sent as the x-api-key header to this API. Closing the tab forgets it.'),
    h('button', { type: 'submit', class: 'primary' }, 'Open the console'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    setKey(input.value.trim());
    keyButton.hidden = false;
    render();
  });
  clear(main).append(form);
  input.focus();
}

if (getKey()) keyButton.hidden = false;
