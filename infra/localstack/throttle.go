package main

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/leadscore/leadscore/infra/template"
)

// throttle answers 429 where API Gateway would: a token bucket per route
// with the template's HttpApi ThrottlingRateLimit (tokens per second) and
// ThrottlingBurstLimit (bucket size), from DefaultRouteSettings and, per
// route key, RouteSettings. Locally every client shares one bucket per
// route, as every caller of a stage does in AWS.
type throttle struct {
	next     http.Handler
	router   *router
	def      bucketSettings
	perRoute map[string]bucketSettings
	now      func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucketSettings struct{ rate, burst float64 }

type bucket struct {
	tokens float64
	last   time.Time
}

// throttleSettings reads the HttpApi's throttling; ok is false when the
// template sets none (the local API then does not throttle).
func throttleSettings(tm *template.Template) (def bucketSettings, perRoute map[string]bucketSettings, ok bool) {
	perRoute = map[string]bucketSettings{}
	for _, id := range tm.ResourcesOfType(template.TypeHTTPAPI) {
		props := tm.Resources[id].Properties
		if rs, isMap := props["DefaultRouteSettings"].(map[string]any); isMap {
			def, ok = readBucket(rs, bucketSettings{})
		}
		if routes, isMap := props["RouteSettings"].(map[string]any); isMap {
			for key, v := range routes {
				if rs, isMap := v.(map[string]any); isMap {
					if s, set := readBucket(rs, def); set {
						perRoute[key] = s
						ok = true
					}
				}
			}
		}
	}
	return def, perRoute, ok
}

func readBucket(rs map[string]any, base bucketSettings) (bucketSettings, bool) {
	s, set := base, false
	if v, isNum := rs["ThrottlingRateLimit"].(float64); isNum {
		s.rate, set = v, true
	}
	if v, isNum := rs["ThrottlingBurstLimit"].(float64); isNum {
		s.burst, set = v, true
	}
	return s, set
}

// newThrottle wraps next with the template's throttling, or returns next
// when the template sets none.
func newThrottle(tm *template.Template, rt *router, next http.Handler) http.Handler {
	def, perRoute, ok := throttleSettings(tm)
	if !ok {
		return next
	}
	return &throttle{next: next, router: rt, def: def, perRoute: perRoute, now: time.Now, buckets: map[string]*bucket{}}
}

func (t *throttle) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	key := "$default"
	if rt, _ := t.router.match(req.Method, req.URL.EscapedPath()); rt != nil {
		key = rt.Key()
	}
	if !t.allow(key) {
		// API Gateway's own answer, before any function runs.
		writeJSON(w, http.StatusTooManyRequests, `{"message":"Too Many Requests"}`)
		return
	}
	t.next.ServeHTTP(w, req)
}

func (t *throttle) allow(routeKey string) bool {
	s, ok := t.perRoute[routeKey]
	if !ok {
		s = t.def
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	b := t.buckets[routeKey]
	if b == nil {
		b = &bucket{tokens: s.burst, last: now}
		t.buckets[routeKey] = b
	}
	b.tokens = min(s.burst, b.tokens+now.Sub(b.last).Seconds()*s.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (s bucketSettings) String() string {
	return fmt.Sprintf("%g requests/s, burst %g", s.rate, s.burst)
}
