// Package ingest is the HTTP API (API Gateway HTTP API, payload format 2.0):
// events and form posts in, leads and rules out (CONTRACT.md "HTTP API").
// It depends only on the leadscore interfaces; functions/ingest wires the
// SQS and DynamoDB implementations.
package ingest

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/leadscore/leadscore/shared/config"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/logging"
	"github.com/leadscore/leadscore/shared/metrics"
	"github.com/leadscore/leadscore/shared/scoring"
)

// RulesTTL is how long validation trusts its cached copy of the current
// rules before looking again (issue 7: a new version is picked up within a
// minute, and no event ever costs a table read).
const RulesTTL = 30 * time.Second

// rulesReadTimeout bounds the one table read a stale cache may cost an event
// post; past it the cached (or default) rules are used.
const rulesReadTimeout = 500 * time.Millisecond

// Metric names (EMF, namespace leadscore, dimension function_name).
const (
	MetricEventsAccepted    = "EventsAccepted"
	MetricEventsRejected    = "EventsRejected"
	MetricEventsDuplicate   = "EventsDuplicate"
	MetricEventsNotEnqueued = "EventsNotEnqueued"
	MetricFormSpamDropped   = "FormSpamDropped"
	MetricRequestLatency    = "RequestLatency"
	MetricClientErrors      = "Requests4xx"
	MetricServerErrors      = "Requests5xx"
)

// Options are a Handler's dependencies. Queue is required; Leads, Eraser and
// Rules may be nil, and then the routes needing them answer 503 (and event
// validation uses scoring.DefaultRules).
type Options struct {
	Queue  leadscore.ScoreQueue
	Leads  leadscore.LeadReader
	Eraser leadscore.LeadEraser
	Rules  leadscore.RulesStore
	// Rescore, with Queue, starts the bulk rescore of a version PUT
	// /v1/rules publishes; nil means publishing does not rescore.
	Rescore leadscore.RescoreStore
	// APIKey guards every route but the public ones (forms, the demo page).
	// Empty means every guarded route answers 401: fail closed.
	APIKey string
	Forms  map[string]config.Form
	// Local serves the demo page at GET / (it embeds APIKey, so never in AWS).
	Local   bool
	Logger  *slog.Logger
	Metrics *metrics.Recorder
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Routes adds routes served by other packages (issue 7's rescore
	// progress and signals report), keyed by API Gateway route key such as
	// "GET /v1/reports/signals". They sit behind the API key.
	Routes map[string]RouteFunc
}

// RouteFunc answers one added route; params are the path parameters.
type RouteFunc func(ctx context.Context, req events.APIGatewayV2HTTPRequest, params map[string]string) events.APIGatewayV2HTTPResponse

// Handler answers API Gateway HTTP API requests. Build it once per process.
type Handler struct {
	queue   leadscore.ScoreQueue
	leads   leadscore.LeadReader
	eraser  leadscore.LeadEraser
	rules   leadscore.RulesStore
	rescore leadscore.RescoreStore
	apiKey  string // only for the local demo page
	keyHash [32]byte
	hasKey  bool
	forms   map[string]config.Form
	local   bool
	log     *slog.Logger
	metrics *metrics.Recorder
	now     func() time.Time

	routes []route

	// rulesCache validates event types and gives the rules version a
	// lead's view is computed with.
	rulesCache *leadscore.RulesCache
}

// New returns a Handler.
func New(o Options) *Handler {
	h := &Handler{queue: o.Queue, leads: o.Leads, eraser: o.Eraser, rules: o.Rules, rescore: o.Rescore,
		forms: o.Forms, local: o.Local, apiKey: o.APIKey, log: o.Logger, metrics: o.Metrics, now: o.Now}
	if o.APIKey != "" {
		h.keyHash, h.hasKey = sha256.Sum256([]byte(o.APIKey)), true
	}
	if h.log == nil {
		h.log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if h.metrics == nil {
		h.metrics = metrics.New(io.Discard, "ingest")
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.forms == nil {
		h.forms = map[string]config.Form{}
	}
	h.rulesCache = &leadscore.RulesCache{Store: h.rules, TTL: RulesTTL, Now: h.now}
	h.routes = slices.Clone(routes)
	for key, fn := range o.Routes {
		m, p, ok := strings.Cut(key, " ")
		if !ok {
			panic("ingest: route key " + key + " is not \"METHOD /path\"")
		}
		h.routes = append(h.routes, route{method: m, pattern: p, fn: func(_ *Handler, ctx context.Context,
			req *events.APIGatewayV2HTTPRequest, params map[string]string, _ *call) events.APIGatewayV2HTTPResponse {
			return fn(ctx, *req, params)
		}})
	}
	return h
}

// call is one request in flight: what the route learnt that the access log
// line should carry. Only ids, never personal data.
type call struct {
	log      *slog.Logger
	leadID   string
	accepted int
	rejected int
}

type routeFunc func(h *Handler, ctx context.Context, req *events.APIGatewayV2HTTPRequest, params map[string]string, c *call) events.APIGatewayV2HTTPResponse

type route struct {
	method  string
	pattern string // API Gateway route key path, e.g. /v1/leads/{lead_id}
	public  bool
	fn      routeFunc
}

// routes are CONTRACT.md's, as template.yaml declares them.
var routes = []route{
	{method: "POST", pattern: "/v1/events", fn: (*Handler).postEvents},
	{method: "POST", pattern: "/v1/forms/{form_id}", public: true, fn: (*Handler).postForm},
	{method: "OPTIONS", pattern: "/v1/forms/{form_id}", public: true, fn: (*Handler).preflightForm},
	{method: "GET", pattern: "/v1/leads/{lead_id}", fn: (*Handler).getLead},
	{method: "GET", pattern: "/v1/leads", fn: (*Handler).listLeads},
	{method: "DELETE", pattern: "/v1/leads/{lead_id}", fn: (*Handler).deleteLead},
	{method: "GET", pattern: "/v1/rules", fn: (*Handler).getRules},
	{method: "PUT", pattern: "/v1/rules", fn: (*Handler).putRules},
	{method: "GET", pattern: "/", public: true, fn: (*Handler).demoPage},
}

// Handle answers one request. It never returns an error: every failure is an
// HTTP answer, and a 5xx never carries internals.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (resp events.APIGatewayV2HTTPResponse, _ error) {
	start := time.Now()
	c := &call{log: logging.ForInvocation(ctx, h.log)}
	if id := req.RequestContext.RequestID; id != "" {
		c.log = c.log.With("correlation_id", id)
	}
	method := strings.ToUpper(req.RequestContext.HTTP.Method)
	r, params, status := match(h.routes, &req, method)
	routeName := method + " " + r.pattern
	defer func() {
		if p := recover(); p != nil {
			// The panic value may quote request data, so only its type and
			// the stack (code locations) are logged.
			c.log.Error("panic answering request", "route", routeName, "panic_type", fmt.Sprintf("%T", p), "stack", string(debug.Stack()))
			resp = errorResponse(internalError())
		}
		h.finish(c, routeName, resp.StatusCode, time.Since(start))
	}()
	switch {
	case status == http.StatusNotFound:
		routeName = method + " (no route)"
		return errorResponse(errorf(http.StatusNotFound, CodeNotFound, "no such route")), nil
	case status == http.StatusMethodNotAllowed:
		routeName = method + " " + r.pattern
		resp = errorResponse(errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "method not allowed on this path"))
		resp.Headers["allow"] = allowed(h.routes, r.pattern)
		return resp, nil
	}
	if !r.public && !h.authorized(&req) {
		return errorResponse(errorf(http.StatusUnauthorized, CodeUnauthorized, "missing or wrong API key in the x-api-key header")), nil
	}
	return r.fn(h, ctx, &req, params, c), nil
}

func (h *Handler) finish(c *call, routeName string, status int, d time.Duration) {
	h.metrics.Milliseconds(MetricRequestLatency, d)
	switch {
	case status >= 500:
		h.metrics.Count(MetricServerErrors, 1)
	case status >= 400:
		h.metrics.Count(MetricClientErrors, 1)
	}
	attrs := []any{"route", routeName, "status", status, "duration_ms", float64(d.Microseconds()) / 1000}
	if c.leadID != "" {
		attrs = append(attrs, "lead_id", c.leadID)
	}
	if c.accepted > 0 || c.rejected > 0 {
		attrs = append(attrs, "events_accepted", c.accepted, "events_rejected", c.rejected)
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	c.log.Log(context.Background(), level, "request", attrs...)
	if err := h.metrics.Flush(); err != nil {
		c.log.Warn("writing metrics failed", "error", err.Error())
	}
}

// match finds the route for req: by API Gateway's route key when it names
// one of ours, else by method and raw path (a $default route, or a caller
// that leaves the route key out). status is 404 or 405 when nothing fits.
func match(routes []route, req *events.APIGatewayV2HTTPRequest, method string) (route, map[string]string, int) {
	key := req.RouteKey
	if key == "" {
		key = req.RequestContext.RouteKey
	}
	if m, p, ok := strings.Cut(key, " "); ok {
		for _, r := range routes {
			if r.method == m && r.pattern == p {
				params := req.PathParameters
				if params == nil {
					params, _ = matchPath(r.pattern, req.RawPath)
				}
				return r, params, 0
			}
		}
	}
	path := req.RawPath
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	var pathMatch *route
	for i, r := range routes {
		params, ok := matchPath(r.pattern, path)
		if !ok {
			continue
		}
		if r.method == method {
			return r, params, 0
		}
		pathMatch = &routes[i]
	}
	if pathMatch != nil {
		return *pathMatch, nil, http.StatusMethodNotAllowed
	}
	return route{pattern: path}, nil, http.StatusNotFound
}

// matchPath matches a raw path against a route pattern, decoding path
// parameters as API Gateway does.
func matchPath(pattern, path string) (map[string]string, bool) {
	ps := strings.Split(strings.Trim(pattern, "/"), "/")
	xs := strings.Split(strings.Trim(path, "/"), "/")
	if len(ps) != len(xs) {
		return nil, false
	}
	var params map[string]string
	for i, p := range ps {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			if xs[i] == "" {
				return nil, false
			}
			v, err := url.PathUnescape(xs[i])
			if err != nil {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[p[1:len(p)-1]] = v
			continue
		}
		if p != xs[i] {
			return nil, false
		}
	}
	return params, true
}

func allowed(routes []route, pattern string) string {
	var ms []string
	for _, r := range routes {
		if r.pattern == pattern {
			ms = append(ms, r.method)
		}
	}
	return strings.Join(ms, ", ")
}

// authorized compares the x-api-key header with the configured key in
// constant time. Both are hashed first so the comparison's time does not
// depend on the key's length either.
func (h *Handler) authorized(req *events.APIGatewayV2HTTPRequest) bool {
	if !h.hasKey {
		return false
	}
	got := sha256.Sum256([]byte(header(req, "x-api-key")))
	return subtle.ConstantTimeCompare(got[:], h.keyHash[:]) == 1
}

// currentRules returns the rules to validate event types with. It reads the
// store only when the cached copy is older than RulesTTL and the caller
// needs it (refresh is true when an event named a type the cached rules do
// not know): an event of a known type never costs a table read.
func (h *Handler) currentRules(ctx context.Context, refresh bool, log *slog.Logger) *scoring.Rules {
	if !refresh || h.rules == nil {
		return h.rulesCache.Cached()
	}
	rctx, cancel := context.WithTimeout(ctx, rulesReadTimeout)
	defer cancel()
	r, err := h.rulesCache.Current(rctx)
	if err != nil {
		// Validation falls back to the rules it has: an outage of the table
		// must not stop events from being accepted. The cache tries again
		// only after RulesTTL, so a stream of unknown types does not turn
		// into a stream of table reads.
		log.Warn("reading current rules failed; validating with the cached rules", "error", err.Error())
		return h.rulesCache.Cached()
	}
	return r
}

// forgetRules makes the next validation read the rules again (after a PUT).
func (h *Handler) forgetRules() {
	h.rulesCache.Forget()
}
