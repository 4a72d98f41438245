// send.mjs sends one scripted customer journey to a leadscore stack with a
// real Segment or RudderStack SDK, exactly as a customer's backend would:
// the SDK pointed at the API's base URL with a write key, nothing else.
// A Go test runs it and then checks the leads' scores (docs/api.md "Sources").
//
//   LEADSCORE_URL=http://127.0.0.1:3000 LEADSCORE_WRITE_KEY=wk_local_... \
//   LEADSCORE_RUN=r1 node infra/sdkclients/send.mjs segment|rudder
//
// The journey, for the person <sdk>-<run>@example.com (userId <sdk>-user-<run>):
//   1. page /pricing as an anonymous visitor (<sdk>-anon2-<run>), before any identify;
//   2. identify: email and traits (VP Engineering at a 250-person software company in GB);
//   3. page /pricing with the userId only, messageId <sdk>-page-<run>;
//   4. track "Demo Requested" (mapped by the rules' default table) and
//      "Pricing Calculator Used" (unmapped: kept as type track);
//   5. group acme-<sdk>-<run> with the account's traits;
//   6. alias <sdk>-anon2-<run> -> userId, so step 1's visit joins the lead;
//   7. step 3's message again, same messageId, in a later request: counted once;
//   8. identify with the userId alone and trait journeyStep 8, the last step
//      (a test waits for it before reading the scores).
// Each step is flushed before the next, so the order on the wire is the
// journey's. It prints one JSON line: the ids used, the HTTP answers seen,
// and failures (the exit status is 1 when a message was not delivered).
//
// How the SDKs talk (read in their sources, pinned in infra/package.json):
//   @segment/analytics-node 3.1.0: POST <host><path>, default path /v1/batch,
//     Authorization: Basic base64(writeKey + ":"); body {batch, writeKey,
//     sentAt}; flushAt 15, flushInterval 10 s; 32 KB per message and 480 KB
//     per batch enforced client-side; 400 is never retried, other 4xx are not
//     retried except 408/410/429/460, 5xx (but 501/505) and network errors
//     are retried with backoff up to maxRetries (default 10).
//   @rudderstack/rudder-sdk-node 3.0.13: POST <dataPlaneUrl>/v1/batch, HTTP
//     Basic with the write key as user name (axios auth), body {batch,
//     timestamp, sentAt} gzipped with Content-Encoding: gzip by default;
//     messages carry originalTimestamp (not timestamp), sentAt, channel,
//     _metadata; flushAt 20, flushInterval 10 s, flush at 450 KB; axios-retry
//     retries network errors, 5xx and 429 only, retryCount times (default 3).
import { Analytics as SegmentAnalytics } from '@segment/analytics-node';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';

const base = process.env.LEADSCORE_URL;
const writeKey = process.env.LEADSCORE_WRITE_KEY;
const run = process.env.LEADSCORE_RUN || String(Date.now());
const sdk = process.argv[2];
if (!base || !writeKey || !['segment', 'rudder'].includes(sdk)) {
  console.error('usage: LEADSCORE_URL=... LEADSCORE_WRITE_KEY=... [LEADSCORE_RUN=...] node send.mjs segment|rudder');
  process.exit(2);
}

const ids = {
  email: `${sdk}-${run}@example.com`,
  userId: `${sdk}-user-${run}`,
  anonymousId: `${sdk}-anon-${run}`,
  previousId: `${sdk}-anon2-${run}`,
  groupId: `acme-${sdk}-${run}`,
  pageMessageId: `${sdk}-page-${run}`,
};
const statuses = [];
const failures = [];

// client adapts both SDKs to: call(method, message) and flush().
function segmentClient() {
  const a = new SegmentAnalytics({ writeKey, host: base, path: '/v1/batch', flushAt: 50, flushInterval: 60000, maxRetries: 1 });
  a.on('http_response', (r) => statuses.push(r.status));
  a.on('error', (e) => failures.push(String(e && (e.reason || e.message || e.code) || e)));
  return {
    call: (method, msg) => a[method](msg),
    flush: () => a.flush(),
    close: () => a.closeAndFlush({ timeout: 10000 }),
  };
}

function rudderClient() {
  const a = new RudderAnalytics(writeKey, {
    dataPlaneUrl: base, flushAt: 50, flushInterval: 60000, retryCount: 1,
    logLevel: 'error',
    errorHandler: (e) => failures.push(String(e && e.message || e)),
  });
  return {
    call: (method, msg) => a[method](msg, (err) => { if (err) failures.push(String(err.message || err)); }),
    flush: () => a.flush().then((r) => { statuses.push('flushed'); }),
    close: () => Promise.resolve(),
  };
}

const c = sdk === 'segment' ? segmentClient() : rudderClient();
const page = { name: 'Pricing', properties: { path: '/pricing', url: 'https://www.example.com/pricing', title: 'Pricing' } };
const steps = [
  ['page', { anonymousId: ids.previousId, ...page }],
  ['identify', {
    userId: ids.userId, anonymousId: ids.anonymousId,
    traits: { email: ids.email, firstName: 'Ada', lastName: 'Lovelace', title: 'VP Engineering',
      company: { name: 'Acme', employee_count: 250, industry: 'software' }, address: { country: 'GB' } },
  }],
  ['page', { userId: ids.userId, messageId: ids.pageMessageId, ...page }],
  ['track', { userId: ids.userId, event: 'Demo Requested', properties: { plan: 'enterprise' } }],
  ['track', { userId: ids.userId, event: 'Pricing Calculator Used', properties: { seats: 40 } }],
  ['group', { userId: ids.userId, groupId: ids.groupId,
    traits: { name: 'Acme', industry: 'software', employees: 250, website: 'https://www.acme.com' } }],
  ['alias', { previousId: ids.previousId, userId: ids.userId }],
  ['page', { userId: ids.userId, messageId: ids.pageMessageId, ...page }],
  ['identify', { userId: ids.userId, traits: { journeyStep: 8 } }],
];

for (const [method, msg] of steps) {
  c.call(method, msg);
  await c.flush();
}
await c.close();
console.log(JSON.stringify({ sdk, ids, statuses, failures }));
process.exit(failures.length ? 1 : 0);
