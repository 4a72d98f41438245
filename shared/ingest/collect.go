package ingest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/leadscore/leadscore/shared/config"
	"github.com/leadscore/leadscore/shared/httpapi"
	"github.com/leadscore/leadscore/shared/scoring"
	"github.com/leadscore/leadscore/shared/tracker"
)

// The browser tracker's routes (docs/api.md "Sources"): the script, and the
// public collect route it posts to with a site key.

// Metric names of the collect route.
const (
	MetricCollectBotDropped = "CollectBotDropped"
)

// CodeConsentRequired refuses a collect request without consent from a
// site in consent mode.
const CodeConsentRequired = "consent_required"

// scriptMaxAge is how long browsers and CDNs may keep t.js without asking:
// a new version reaches every page within the hour, and a page view costs
// no request for the script most of the time.
const scriptMaxAge = 3600

// getScript answers GET /v1/t.js: the minified tracker, cacheable, with an
// ETag so a cache revalidates for a 304.
func (h *Handler) getScript(_ context.Context, c *httpapi.Call) httpapi.Response {
	headers := map[string]string{
		"content-type":           "text/javascript; charset=utf-8",
		"cache-control":          fmt.Sprintf("public, max-age=%d", scriptMaxAge),
		"etag":                   tracker.ScriptETag(),
		"x-content-type-options": "nosniff",
		// Pages load it cross-origin with a plain <script>; this also lets
		// a page use Subresource Integrity (crossorigin="anonymous").
		"access-control-allow-origin": "*",
	}
	if inm := httpapi.Header(c.Req, "if-none-match"); inm != "" && strings.Contains(inm, tracker.ScriptETag()) {
		return httpapi.Response{StatusCode: http.StatusNotModified, Headers: headers}
	}
	return httpapi.Response{StatusCode: http.StatusOK, Headers: headers, Body: string(tracker.Script())}
}

// preflightCollect answers OPTIONS /v1/collect. The tracker's own requests
// (a text/plain beacon) need no preflight; a page posting JSON with fetch
// does. Any site's origin gets the headers: the key is checked on the post.
func (h *Handler) preflightCollect(_ context.Context, c *httpapi.Call) httpapi.Response {
	origin := httpapi.Header(c.Req, "origin")
	if origin == "" || !slices.ContainsFunc(h.sites, func(s site) bool { return s.AllowsOrigin(origin) }) {
		return httpapi.ErrorResponse(originRefused())
	}
	return httpapi.WithHeaders(httpapi.NoContent(), map[string]string{
		"access-control-allow-origin":  origin,
		"access-control-allow-methods": "POST",
		"access-control-allow-headers": "content-type",
		"access-control-max-age":       "86400",
		"vary":                         "Origin",
	})
}

// postCollect answers POST /v1/collect: the site key from the body, the
// Origin from the browser, then the events validated like POST /v1/events.
// A known bot is answered as if accepted and nothing is enqueued.
func (h *Handler) postCollect(ctx context.Context, c *httpapi.Call) httpapi.Response {
	origin := httpapi.Header(c.Req, "origin")
	cors := map[string]string{"vary": "Origin"}
	fail := func(e *httpapi.Error) httpapi.Response { return httpapi.WithHeaders(httpapi.ErrorResponse(e), cors) }

	body, e := httpapi.Body(c.Req, tracker.MaxCollectBytes)
	if e == nil {
		e = strictJSON(body)
	}
	if e != nil {
		return fail(e)
	}
	col, err := tracker.DecodeCollect(body)
	if err != nil {
		return fail(collectError(err))
	}
	s, ok := h.findSite(col.Site)
	switch {
	case !ok:
		return fail(httpapi.Errorf(http.StatusUnauthorized, httpapi.CodeUnauthorized, "unknown site key",
			httpapi.Detail{Field: "site", Message: "is not the key of a site in SITES"}))
	case origin == "" || !s.AllowsOrigin(origin):
		// A browser always sends Origin on a cross-site POST; a request
		// without it is not a page on the site.
		return fail(originRefused())
	}
	cors["access-control-allow-origin"] = origin
	c.Annotate("site", s.name)
	if s.ConsentRequired && !col.Consent {
		return fail(httpapi.Errorf(http.StatusForbidden, CodeConsentRequired,
			"this site is in consent mode: the tracker sends nothing before leadscore.consent(true)",
			httpapi.Detail{Field: "consent", Message: "must be true for site " + s.name}))
	}
	if tracker.IsBot(httpapi.Header(c.Req, "user-agent")) {
		c.Annotate("bot", true)
		h.metrics.Count(MetricCollectBotDropped, float64(len(col.Events)))
		return httpapi.WithHeaders(httpapi.JSON(http.StatusAccepted, AcceptedBody{Accepted: []Accepted{}}), cors)
	}
	b, e := h.validateCollect(ctx, c, col)
	if e != nil {
		return fail(e)
	}
	out, e := h.enqueue(ctx, b, c)
	if e != nil {
		return fail(e)
	}
	return httpapi.WithHeaders(httpapi.JSON(http.StatusAccepted, out), cors)
}

// validateCollect runs the tracker's events through POST /v1/events'
// validation. The server's clock dates them (the body has no occurred_at).
func (h *Handler) validateCollect(ctx context.Context, c *httpapi.Call, col *tracker.Collect) (*batch, *httpapi.Error) {
	rules := h.currentRules(ctx, false, c.Log)
	n := normalizer{now: h.now().UTC(), rules: rules}
	evs := make([]scoring.Event, len(col.Events))
	paths := make([]string, len(col.Events))
	for i, raw := range col.Events {
		paths[i] = fmt.Sprintf("events[%d]", i)
		evs[i], _ = n.event(paths[i], raw)
	}
	if len(n.details) > 0 {
		c.Annotate("events_accepted", 0, "events_rejected", len(col.Events))
		h.metrics.Count(MetricEventsRejected, float64(len(col.Events)))
		return nil, httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest,
			fmt.Sprintf("the request has %d problem(s); nothing was accepted", len(n.details)), n.details...)
	}
	return dedupe(evs, paths, rules), nil
}

// collectError is the answer to a body the tracker would not send.
func collectError(err error) *httpapi.Error {
	var te *tracker.Error
	if !errors.As(err, &te) {
		return httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest, "the body is not a collect request")
	}
	details := make([]httpapi.Detail, len(te.Problems))
	for i, p := range te.Problems {
		details[i] = httpapi.Detail{Field: p.Field, Message: p.Message}
	}
	if te.TooLarge {
		return httpapi.Errorf(http.StatusRequestEntityTooLarge, httpapi.CodePayloadTooLarge,
			fmt.Sprintf("the body is larger than %d bytes", tracker.MaxCollectBytes), details...)
	}
	return httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest,
		fmt.Sprintf("the request has %d problem(s); nothing was accepted", len(details)), details...)
}

func originRefused() *httpapi.Error {
	return httpapi.Errorf(http.StatusForbidden, httpapi.CodeOriginNotAllowed, "this site key does not accept requests from this origin",
		httpapi.Detail{Field: "origin", Message: "is not an allowed origin of the site"})
}

// site is one configured site, with its name for logs.
type site struct {
	name string
	config.Site
}

// findSite finds the site a key belongs to, comparing in constant time.
func (h *Handler) findSite(key string) (site, bool) {
	name, ok := h.siteKeys.Find(key)
	if !ok {
		return site{}, false
	}
	i := slices.IndexFunc(h.sites, func(s site) bool { return s.name == name })
	return h.sites[i], true
}
