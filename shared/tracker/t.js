/*
 * leadscore browser tracker (docs/api.md "Sources"). Paste into a site:
 *
 *   <script async src="<API>/v1/t.js" data-site="<site key>"></script>
 *
 * add data-consent="required" to send and store nothing until
 * leadscore.consent(true). Hand-written, no dependencies; `make tracker`
 * writes the minified t.min.js that GET /v1/t.js serves.
 *
 * Rules it keeps: it never throws into the host page (every entry point is
 * wrapped in try/catch); it stores one first-party cookie (the anonymous id,
 * SameSite=Lax, Secure on https) and, once asked, the consent choice;
 * Global Privacy Control stops it entirely; a page view is sent when the
 * page is hidden or left, with navigator.sendBeacon (or fetch keepalive), so
 * leaving the page loses nothing.
 */
(function (w, d, nav) {
  try {
    var AID = 'ls_aid', CONSENT = 'ls_consent', YEAR = 31536000;
    var script = d.currentScript || d.querySelector('script[data-site][src*="/v1/t.js"]');
    var site = script.getAttribute('data-site');
    var api = script.src.split('/v1/t.js')[0];
    var consentMode = script.getAttribute('data-consent') === 'required';
    var page, visibleMs, shownAt;

    // safe wraps every entry point the page or the browser calls.
    var safe = function (fn) {
      return function () {
        try {
          return fn.apply(this, arguments);
        } catch (e) {}
      };
    };

    // cookie reads (no value) or writes one cookie; a read gives undefined
    // when the page blocks cookies, and then nothing is sent.
    var cookie = safe(function (name, value, maxAge) {
      if (value === undefined) {
        var m = d.cookie.match('(?:^|; )' + name + '=([^;]*)');
        return m ? decodeURIComponent(m[1]) : '';
      }
      d.cookie = name + '=' + encodeURIComponent(value) + '; path=/; max-age=' + maxAge +
        '; SameSite=Lax' + (location.protocol === 'https:' ? '; Secure' : '');
    });

    var randomId = function () {
      var c = w.crypto, b = new Uint8Array(16), s = '', i;
      if (c && c.randomUUID) return c.randomUUID();
      if (c && c.getRandomValues) c.getRandomValues(b);
      else for (i = 0; i < 16; i++) b[i] = Math.random() * 256;
      for (i = 0; i < 16; i++) s += (b[i] + 256).toString(16).slice(1);
      return s;
    };

    // allowed: GPC stops everything; in consent mode nothing happens before
    // consent; otherwise until the visitor opts out.
    var allowed = function () {
      if (nav.globalPrivacyControl === true) return false;
      var c = cookie(CONSENT);
      return c !== undefined && (consentMode ? c === '1' : c !== '0');
    };

    // anonymousId is only called once allowed(): the cookie is set then.
    var anonymousId = function () {
      var id = cookie(AID) || randomId();
      cookie(AID, id, YEAR);
      return id;
    };

    var send = function (events) {
      if (!site || !allowed()) return;
      var url = api + '/v1/collect', body = JSON.stringify({
        site: site, anonymous_id: anonymousId(), consent: cookie(CONSENT) === '1', events: events
      });
      // A string body is text/plain: no CORS preflight, and a beacon
      // outlives the page.
      if (!(nav.sendBeacon && nav.sendBeacon(url, body)) && w.fetch) {
        w.fetch(url, {method: 'POST', body: body, keepalive: true, credentials: 'omit',
          headers: {'Content-Type': 'text/plain'}})['catch'](function () {});
      }
    };

    var query = function () {
      var q = {}, parts = location.search.slice(1).split('&'), i, kv;
      for (i = 0; i < parts.length; i++) {
        kv = parts[i].split('=');
        if (kv[0]) q[decodeURIComponent(kv[0])] = decodeURIComponent((kv[1] || '').replace(/\+/g, ' '));
      }
      return q;
    };

    // campaign adds the page's UTM parameters to props.
    var campaign = function (props) {
      var keys = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'], i;
      for (i = 0; i < keys.length; i++) if (page.q[keys[i]]) props[keys[i]] = page.q[keys[i]];
      return props;
    };

    // adClick sends one ad_click for a landing from an ad; a click id is the
    // event id, so a reload is not a second click.
    var adClick = function () {
      var ids = {gclid: 'google', fbclid: 'facebook', msclkid: 'microsoft', li_fat_id: 'linkedin'}, k, id, net;
      if (page.ad || !allowed()) return;
      for (k in ids) if (page.q[k]) { net = ids[k]; id = page.q[k]; break; }
      if (!net && !/^(cpc|paid)$/i.test(page.q.utm_medium || '')) return;
      page.ad = 1;
      send([{type: 'ad_click', event_id: /^[\w.:-]{1,120}$/.test(id) ? 'ad_' + id : 'ad_' + randomId(),
        properties: campaign({url: page.path, ad_network: net || page.q.utm_source || ''})}]);
    };

    var startPage = function () {
      page = {id: 'pv_' + randomId(), path: location.pathname, title: d.title, referrer: d.referrer, q: query()};
      visibleMs = 0;
      shownAt = d.visibilityState === 'hidden' ? 0 : Date.now();
      adClick();
    };

    // endPage sends the page view once, with the seconds it was visible. A
    // page left before consent is not sent; one hidden before consent is,
    // when next hidden or left.
    var endPage = function () {
      if (!page || page.sent) return;
      if (shownAt) visibleMs += Date.now() - shownAt;
      shownAt = 0;
      if (!allowed()) return;
      page.sent = 1;
      send([{type: 'page_view', event_id: page.id, properties: campaign({
        url: page.path, title: page.title, referrer: page.referrer, duration_s: Math.round(visibleMs / 1000)
      })}]);
    };

    // stitch gives a leadscore form (one posting to this API's /v1/forms/)
    // the anonymous id, so the lead it creates inherits the visits.
    var stitch = function (form) {
      if (!form || !form.getAttribute || !allowed()) return;
      if (new URL(form.getAttribute('action') || '', location.href).href.indexOf(api + '/v1/forms/') !== 0) return;
      var input = form.querySelector('input[name="anonymous_id"]');
      if (!input) {
        input = d.createElement('input');
        input.type = 'hidden';
        input.name = 'anonymous_id';
        form.appendChild(input);
      }
      input.value = anonymousId();
    };
    var stitchAll = function () {
      for (var i = 0; i < d.forms.length; i++) stitch(d.forms[i]);
    };

    // A single-page app changes the path without loading a page.
    var navigated = function () {
      if (page && location.pathname !== page.path) {
        endPage();
        startPage();
      }
    };
    var wrapHistory = function (name) {
      var orig = history[name];
      history[name] = function () {
        var r = orig.apply(this, arguments);
        safe(navigated)();
        return r;
      };
    };

    var leadscore = {
      identify: safe(function (email, traits) {
        send([{type: 'identify', email: String(email), lead: traits || undefined}]);
      }),
      track: safe(function (type, properties) {
        send([{type: String(type), properties: properties || undefined}]);
      }),
      consent: safe(function (yes) {
        cookie(CONSENT, yes ? '1' : '0', YEAR);
        if (!yes) return cookie(AID, '', 0);
        adClick();
        stitchAll();
      }),
      page: safe(function () {
        endPage();
        startPage();
      })
    };

    var queued = w.leadscore;
    w.leadscore = leadscore;
    if (nav.globalPrivacyControl === true && cookie(AID)) cookie(AID, '', 0);
    startPage();
    d.addEventListener('visibilitychange', safe(function () {
      if (d.visibilityState === 'hidden') endPage();
      else if (!shownAt) shownAt = Date.now();
    }));
    w.addEventListener('pagehide', safe(endPage));
    // A page restored from the back/forward cache is a new view.
    w.addEventListener('pageshow', safe(function (e) {
      if (e.persisted) startPage();
    }));
    w.addEventListener('popstate', safe(navigated));
    safe(wrapHistory)('pushState');
    safe(wrapHistory)('replaceState');
    d.addEventListener('submit', safe(function (e) {
      stitch(e.target);
    }), true);
    if (d.readyState === 'loading') d.addEventListener('DOMContentLoaded', safe(stitchAll));
    else stitchAll();

    // Calls queued before the script loaded: window.leadscore = [['identify', ...]].
    for (var i = 0; queued && i < queued.length; i++) {
      safe(function (call) {
        leadscore[call[0]].apply(leadscore, [].slice.call(call, 1));
      })(queued[i]);
    }
  } catch (e) {}
})(window, document, navigator);
