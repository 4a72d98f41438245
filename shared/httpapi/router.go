package httpapi

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/leadscore/leadscore/shared/apikey"
	"github.com/leadscore/leadscore/shared/logging"
	"github.com/leadscore/leadscore/shared/metrics"
)

// Metric names every HTTP function records (EMF, namespace leadscore,
// dimension function_name), one flush per request.
const (
	MetricRequestLatency = "RequestLatency"
	MetricClientErrors   = "Requests4xx"
	MetricServerErrors   = "Requests5xx"
)

// Call is one request in flight, as a route sees it.
type Call struct {
	Req *Request
	// Params are the path parameters, decoded as API Gateway does.
	Params map[string]string
	// Log carries the request's correlation id (API Gateway's request id).
	Log *slog.Logger

	logAttrs []any
}

// Annotate adds key/value pairs to the request's access log line. Only ids
// and counts: never an email, a name or anything else personal
// (docs/architecture.md, the invariant on personal data in logs).
func (c *Call) Annotate(keyValues ...any) {
	c.logAttrs = append(c.logAttrs, keyValues...)
}

// HandlerFunc answers one route. It never fails: every failure is an HTTP
// answer, and a 5xx never carries internals.
type HandlerFunc func(ctx context.Context, c *Call) Response

// Route is one entry of a function's route table: what template.yaml
// declares for the function (an HttpApi event), and what answers it.
type Route struct {
	Method string
	// Path is the API Gateway route path, e.g. /v1/leads/{lead_id}.
	Path string
	// Public routes are served without a key (the form posts, the tracker,
	// the local demo page). Every other route needs the API key.
	Public bool
	// Ingest routes also take a write key (POST /v1/events, the
	// Segment-compatible routes). A write key on any other route is 403.
	Ingest bool
	Handle HandlerFunc
}

// Key is the route key API Gateway puts in routeKey: "GET /v1/leads/{lead_id}".
func (r Route) Key() string { return r.Method + " " + r.Path }

// Config is what a Router needs besides its routes.
type Config struct {
	// APIKey guards every route not marked Public. Empty means every
	// guarded route answers 401: fail closed.
	APIKey string
	// WriteKeys are accepted on routes marked Ingest. A function without
	// Ingest routes still needs them, to answer a write key 403 rather
	// than 401 (the key is right, the route is not for it).
	WriteKeys []string
	Logger    *slog.Logger
	// Metrics is the function's recorder: the Router adds the request
	// metrics and flushes it (with what the route recorded) per request.
	Metrics *metrics.Recorder
}

// Router answers API Gateway HTTP API requests (payload format 2.0) from a
// route table: it matches the route, checks the API key, recovers a panic
// into a 500, and writes one access log line and one metrics flush per
// request. Build it once per process; it is safe for concurrent use.
type Router struct {
	routes    []Route
	key       apikey.Keys
	writeKeys apikey.Keys
	log       *slog.Logger
	metrics   *metrics.Recorder
}

// NewRouter returns a Router serving routes. It refuses a route without a
// method, a path starting with "/" or a handler, and a route key given twice.
func NewRouter(routes []Route, c Config) (*Router, error) {
	seen := map[string]bool{}
	for _, r := range routes {
		switch {
		case r.Method == "" || !strings.HasPrefix(r.Path, "/") || r.Handle == nil:
			return nil, fmt.Errorf("httpapi: route %q needs a method, a path starting with / and a handler", r.Key())
		case seen[r.Key()]:
			return nil, fmt.Errorf("httpapi: route %q is declared twice", r.Key())
		}
		seen[r.Key()] = true
	}
	rt := &Router{routes: routes, key: apikey.New(c.APIKey), writeKeys: apikey.New(c.WriteKeys...), log: c.Logger, metrics: c.Metrics}
	if rt.log == nil {
		rt.log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if rt.metrics == nil {
		rt.metrics = metrics.New(io.Discard, "")
	}
	return rt, nil
}

// Routes returns the route table, in the order given.
func (rt *Router) Routes() []Route { return rt.routes }

// Handle answers one request. It never returns an error: every failure is an
// HTTP answer, and a 5xx never carries internals.
func (rt *Router) Handle(ctx context.Context, req Request) (resp Response, _ error) {
	start := time.Now()
	c := &Call{Req: &req, Log: logging.ForInvocation(ctx, rt.log)}
	if id := req.RequestContext.RequestID; id != "" {
		c.Log = c.Log.With("correlation_id", id)
	}
	method := strings.ToUpper(req.RequestContext.HTTP.Method)
	r, params, status := match(rt.routes, &req, method)
	routeName := method + " " + r.Path
	defer func() {
		if p := recover(); p != nil {
			// The panic value may quote request data, so only its type and
			// the stack (code locations) are logged.
			c.Log.Error("panic answering request", "route", routeName, "panic_type", fmt.Sprintf("%T", p), "stack", string(debug.Stack()))
			resp = ErrorResponse(Internal())
		}
		rt.finish(c, routeName, resp.StatusCode, time.Since(start))
	}()
	switch status {
	case http.StatusNotFound:
		routeName = method + " (no route)"
		return ErrorResponse(Errorf(http.StatusNotFound, CodeNotFound, "no such route")), nil
	case http.StatusMethodNotAllowed:
		resp = ErrorResponse(Errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "method not allowed on this path"))
		resp.Headers["allow"] = allowed(rt.routes, r.Path)
		return resp, nil
	}
	if e := rt.Authorize(&req, r); e != nil {
		return ErrorResponse(e), nil
	}
	c.Params = params
	return r.Handle(ctx, c), nil
}

// Authorize checks the key a request carries against what route r takes:
// nothing for a public route; the API key, or a write key on an Ingest
// route; a write key elsewhere is 403. The key is read from x-api-key, else
// from Authorization (HTTP Basic with the key as the user name, as the
// Segment and RudderStack SDKs send it, or Bearer). A route that
// authenticates in its own way (a signed webhook) calls it as a fallback.
func (rt *Router) Authorize(req *Request, r Route) *Error {
	if r.Public {
		return nil
	}
	key := Header(req, "x-api-key")
	if key == "" {
		key, _ = apikey.FromAuthorization(Header(req, "authorization"))
	}
	admin, write := rt.key.Match(key), rt.writeKeys.Match(key)
	switch {
	case admin, write && r.Ingest:
		return nil
	case write:
		return Errorf(http.StatusForbidden, CodeForbidden,
			"a write key can only send events (POST /v1/events and the Segment-compatible routes); this route needs the API key")
	case r.Ingest:
		return Errorf(http.StatusUnauthorized, CodeUnauthorized,
			"missing or wrong key: send the API key in x-api-key, or a write key as the HTTP Basic user name")
	default:
		return Errorf(http.StatusUnauthorized, CodeUnauthorized, "missing or wrong API key in the x-api-key header")
	}
}

// finish writes the access log line (route, status, duration, the route's
// annotations; never the query string, body or an email) and flushes the
// request's metrics.
func (rt *Router) finish(c *Call, routeName string, status int, d time.Duration) {
	rt.metrics.Milliseconds(MetricRequestLatency, d)
	switch {
	case status >= 500:
		rt.metrics.Count(MetricServerErrors, 1)
	case status >= 400:
		rt.metrics.Count(MetricClientErrors, 1)
	}
	attrs := append([]any{"route", routeName, "status", status, "duration_ms", float64(d.Microseconds()) / 1000}, c.logAttrs...)
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	c.Log.Log(context.Background(), level, "request", attrs...)
	if err := rt.metrics.Flush(); err != nil {
		c.Log.Warn("writing metrics failed", "error", err.Error())
	}
}

// match finds the route for req: by API Gateway's route key when it names
// one of routes, else by method and raw path (a $default route, or a caller
// that leaves the route key out). status is 404 or 405 when nothing fits.
func match(routes []Route, req *Request, method string) (Route, map[string]string, int) {
	key := req.RouteKey
	if key == "" {
		key = req.RequestContext.RouteKey
	}
	if m, p, ok := strings.Cut(key, " "); ok {
		for _, r := range routes {
			if r.Method == m && r.Path == p {
				params := req.PathParameters
				if params == nil {
					params, _ = matchPath(r.Path, req.RawPath)
				}
				return r, params, 0
			}
		}
	}
	path := req.RawPath
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	var pathMatch *Route
	for i, r := range routes {
		params, ok := matchPath(r.Path, path)
		if !ok {
			continue
		}
		if r.Method == method {
			return r, params, 0
		}
		pathMatch = &routes[i]
	}
	if pathMatch != nil {
		return *pathMatch, nil, http.StatusMethodNotAllowed
	}
	return Route{Path: path}, nil, http.StatusNotFound
}

// matchPath matches a raw path against a route path, decoding path
// parameters as API Gateway does.
func matchPath(pattern, path string) (map[string]string, bool) {
	ps := strings.Split(strings.Trim(pattern, "/"), "/")
	xs := strings.Split(strings.Trim(path, "/"), "/")
	if last := ps[len(ps)-1]; strings.HasSuffix(last, "+}") && len(xs) > len(ps) {
		// A greedy {name+} takes the rest of the path, slashes and all, as
		// API Gateway does.
		xs = append(xs[:len(ps)-1], strings.Join(xs[len(ps)-1:], "/"))
	}
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
			params[strings.TrimSuffix(p[1:len(p)-1], "+")] = v
			continue
		}
		if p != xs[i] {
			return nil, false
		}
	}
	return params, true
}

func allowed(routes []Route, path string) string {
	var ms []string
	for _, r := range routes {
		if r.Path == path {
			ms = append(ms, r.Method)
		}
	}
	return strings.Join(ms, ", ")
}
