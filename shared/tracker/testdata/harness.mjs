// harness.mjs runs t.min.js in a Node vm against a small fake browser and
// prints what it did as JSON, for tracker_test.go. It is not a browser: it
// checks the script's logic (what is sent, stored and stitched, and that
// nothing escapes); the real browser test drives Chromium.
//
//   node harness.mjs <t.min.js> '<scenario JSON>'
//
// Scenario: {url, consentAttr, gpc, beaconFails, throwingCookies, queued,
// preCookies, forms: [action...], steps: [[op, ...args]]} with ops
// "advance" ms, "hide", "show", "pagehide", "push" path, "call" method args...,
// "submit" formIndex.
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import { webcrypto } from 'node:crypto';

const [, , scriptPath, scenarioJSON] = process.argv;
const sc = JSON.parse(scenarioJSON);
const out = { beacons: [], fetches: [], cookieWrites: [], forms: [], threw: null };
let now = 1_700_000_000_000;

const jar = {};
for (const [k, v] of Object.entries(sc.preCookies || {})) jar[k] = v;
const listeners = { doc: {}, win: {} };
const on = (reg) => (type, fn) => { (reg[type] = reg[type] || []).push(fn); };
const fire = (reg, type, ev) => (reg[type] || []).forEach((fn) => fn(ev || {}));

const page = new URL(sc.url || 'https://www.example.com/pricing');
const location = {
  get protocol() { return page.protocol; }, get pathname() { return page.pathname; },
  get search() { return page.search; }, get href() { return page.href; },
};

const makeForm = (action) => {
  const inputs = [];
  return {
    getAttribute: (n) => (n === 'action' ? action : null),
    querySelector: (sel) => inputs.find((i) => sel.includes(`name="${i.name}"`)) || null,
    appendChild: (el) => inputs.push(el),
    inputs,
  };
};
const forms = (sc.forms || []).map(makeForm);

const document = {
  currentScript: {
    src: 'https://api.example.net/v1/t.js',
    getAttribute: (n) => ({ 'data-site': 'pk_test_0123456789ab', 'data-consent': sc.consentAttr || null }[n] ?? null),
  },
  get cookie() {
    if (sc.throwingCookies) throw new Error('cookies are blocked');
    return Object.entries(jar).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('; ');
  },
  set cookie(s) {
    if (sc.throwingCookies) throw new Error('cookies are blocked');
    out.cookieWrites.push(s);
    const [pair, ...attrs] = s.split('; ');
    const [k, v] = pair.split('=');
    if (attrs.includes('max-age=0')) delete jar[k]; else jar[k] = decodeURIComponent(v);
  },
  visibilityState: 'visible',
  readyState: 'complete',
  title: 'Pricing',
  referrer: 'https://www.google.com/',
  forms,
  addEventListener: on(listeners.doc),
  querySelector: () => null,
  createElement: () => ({}),
};

const win = {
  document, location, URL, Uint8Array, Math, JSON, String, decodeURIComponent, encodeURIComponent,
  crypto: webcrypto,
  history: { pushState: (s, t, url) => { page.pathname = url; }, replaceState: () => {} },
  addEventListener: on(listeners.win),
  fetch: (url, init) => { out.fetches.push({ url, body: JSON.parse(init.body), keepalive: init.keepalive }); return Promise.resolve({}); },
  navigator: {
    globalPrivacyControl: !!sc.gpc,
    sendBeacon: (url, body) => {
      if (sc.beaconFails) return false;
      out.beacons.push({ url, body: JSON.parse(body) });
      return true;
    },
  },
};
if (sc.queued) win.leadscore = sc.queued;
win.window = win;
const ctx = vm.createContext(win);
vm.runInContext('Date.now = function () { return __now(); };', ctx);
ctx.__now = () => now;

try {
  vm.runInContext(readFileSync(scriptPath, 'utf8'), ctx);
  for (const [op, ...args] of sc.steps || []) {
    switch (op) {
      case 'advance': now += args[0]; break;
      case 'hide': document.visibilityState = 'hidden'; fire(listeners.doc, 'visibilitychange'); break;
      case 'show': document.visibilityState = 'visible'; fire(listeners.doc, 'visibilitychange'); break;
      case 'pagehide': fire(listeners.win, 'pagehide', { persisted: false }); break;
      case 'push': win.history.pushState({}, '', args[0]); break;
      case 'call': win.leadscore[args[0]](...args.slice(1)); break;
      case 'submit': fire(listeners.doc, 'submit', { target: forms[args[0]] }); break;
    }
  }
} catch (e) {
  out.threw = String(e);
}
out.cookies = jar;
out.forms = forms.map((f) => Object.fromEntries(f.inputs.map((i) => [i.name, { type: i.type, value: i.value }])));
out.api = typeof win.leadscore === 'object' && !Array.isArray(win.leadscore) ? Object.keys(win.leadscore).sort() : null;
console.log(JSON.stringify(out));
