package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/leadscore/leadscore/shared/logging"
	"github.com/leadscore/leadscore/shared/metrics"
)

func request(method, path, key string) Request {
	req := Request{RawPath: path, Headers: map[string]string{"x-api-key": key}}
	req.RequestContext.HTTP.Method = method
	req.RequestContext.RequestID = "req-1"
	return req
}

func testRouter(t *testing.T, key string, logs, ms *bytes.Buffer) *Router {
	t.Helper()
	ok := func(_ context.Context, c *Call) Response {
		c.Annotate("lead_id", c.Params["lead_id"])
		return JSON(http.StatusOK, c.Params)
	}
	r, err := NewRouter([]Route{
		{Method: "GET", Path: "/v1/leads/{lead_id}", Handle: ok},
		{Method: "DELETE", Path: "/v1/leads/{lead_id}", Handle: ok},
		{Method: "POST", Path: "/v1/forms/{form_id}", Public: true, Handle: ok},
		{Method: "GET", Path: "/boom", Public: true, Handle: func(context.Context, *Call) Response { panic("secret@example.com") }},
	}, Config{APIKey: key, Logger: logging.New(logs, "test", "info"), Metrics: metrics.New(ms, "test")})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRouter(t *testing.T) {
	var logs, ms bytes.Buffer
	r := testRouter(t, "k-123", &logs, &ms)
	tests := []struct {
		name, method, path, key string
		want                    int
		allow                   string
	}{
		{name: "guarded route with the key", method: "GET", path: "/v1/leads/ld_1", key: "k-123", want: 200},
		{name: "guarded route, wrong key", method: "GET", path: "/v1/leads/ld_1", key: "k-124", want: 401},
		{name: "guarded route, key prefix", method: "GET", path: "/v1/leads/ld_1", key: "k-12", want: 401},
		{name: "public route without a key", method: "POST", path: "/v1/forms/contact", want: 200},
		{name: "unknown path", method: "GET", path: "/v2/leads", key: "k-123", want: 404},
		{name: "wrong method", method: "PUT", path: "/v1/leads/ld_1", key: "k-123", want: 405, allow: "GET, DELETE"},
		{name: "panic is a 500", method: "GET", path: "/boom", want: 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := r.Handle(t.Context(), request(tc.method, tc.path, tc.key))
			if err != nil || resp.StatusCode != tc.want || resp.Headers["allow"] != tc.allow {
				t.Fatalf("%d allow %q (%v) body %s; want %d allow %q", resp.StatusCode, resp.Headers["allow"], err, resp.Body, tc.want, tc.allow)
			}
			if tc.want >= 400 && !strings.Contains(resp.Body, `"details":[]`) {
				t.Errorf("error body %s lacks the contract's shape", resp.Body)
			}
		})
	}
	if strings.Contains(logs.String(), "secret@example.com") {
		t.Errorf("the panic value reached the log: %s", logs.String())
	}
	for _, want := range []string{`"lead_id":"ld_1"`, `"correlation_id":"req-1"`, `"route":"PUT /v1/leads/{lead_id}"`, `"panic_type":"string"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, logs.String())
		}
	}
	for _, want := range []string{MetricRequestLatency, MetricClientErrors, MetricServerErrors} {
		if !strings.Contains(ms.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestNoKeyFailsClosed: a router without a configured key refuses every
// guarded route, even a request with an empty key header.
func TestNoKeyFailsClosed(t *testing.T) {
	var logs, ms bytes.Buffer
	r := testRouter(t, "", &logs, &ms)
	for _, key := range []string{"", "anything"} {
		if resp, _ := r.Handle(t.Context(), request("GET", "/v1/leads/ld_1", key)); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("key %q: %d, want 401", key, resp.StatusCode)
		}
	}
}

func TestNewRouterRefusesABadTable(t *testing.T) {
	h := func(context.Context, *Call) Response { return NoContent() }
	for name, routes := range map[string][]Route{
		"twice":      {{Method: "GET", Path: "/a", Handle: h}, {Method: "GET", Path: "/a", Handle: h}},
		"no handler": {{Method: "GET", Path: "/a"}},
		"no slash":   {{Method: "GET", Path: "a", Handle: h}},
	} {
		if _, err := NewRouter(routes, Config{}); err == nil {
			t.Errorf("%s: NewRouter accepted %v", name, routes)
		}
	}
}

func TestBodyLimitRawAndDecoded(t *testing.T) {
	for _, tc := range []struct {
		req  Request
		want int
	}{
		{Request{Body: strings.Repeat("x", 11)}, http.StatusRequestEntityTooLarge},
		{Request{Body: base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", 11))), IsBase64Encoded: true}, http.StatusRequestEntityTooLarge},
		{Request{Body: "%%%", IsBase64Encoded: true}, http.StatusBadRequest},
	} {
		if _, e := Body(&tc.req, 10); e == nil || e.Status != tc.want {
			t.Errorf("Body(%q): %v, want %d", tc.req.Body, e, tc.want)
		}
	}
	if b, e := Body(&Request{Body: base64.StdEncoding.EncodeToString([]byte("0123456789")), IsBase64Encoded: true}, 10); e != nil || string(b) != "0123456789" {
		t.Errorf("a body at the limit: %q %v", b, e)
	}
}

// TestWriteKeys: a write key sends events and nothing else; it travels in
// x-api-key or as the HTTP Basic user name (the Segment SDKs' way).
func TestWriteKeys(t *testing.T) {
	ok := func(context.Context, *Call) Response { return NoContent() }
	r, err := NewRouter([]Route{
		{Method: "POST", Path: "/v1/events", Ingest: true, Handle: ok},
		{Method: "GET", Path: "/v1/leads", Handle: ok},
	}, Config{APIKey: "admin-key-0123456789", WriteKeys: []string{"wk_old_0123456789ab", "wk_new_0123456789ab"}})
	if err != nil {
		t.Fatal(err)
	}
	basic := func(user string) map[string]string {
		return map[string]string{"authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"))}
	}
	tests := []struct {
		name, path string
		headers    map[string]string
		want       int
		code       string
	}{
		{"write key on an ingest route", "/v1/events", map[string]string{"x-api-key": "wk_new_0123456789ab"}, 204, ""},
		{"the rotated-out key still works", "/v1/events", basic("wk_old_0123456789ab"), 204, ""},
		{"admin key by Basic", "/v1/events", basic("admin-key-0123456789"), 204, ""},
		{"write key on a read", "/v1/leads", map[string]string{"x-api-key": "wk_new_0123456789ab"}, 403, CodeForbidden},
		{"write key by Basic on a read", "/v1/leads", basic("wk_old_0123456789ab"), 403, CodeForbidden},
		{"wrong Basic user", "/v1/events", basic("wk_new_0123456789aX"), 401, CodeUnauthorized},
		{"no key", "/v1/events", nil, 401, CodeUnauthorized},
		{"admin key on a read", "/v1/leads", map[string]string{"x-api-key": "admin-key-0123456789"}, 204, ""},
	}
	for _, tc := range tests {
		req := Request{RawPath: tc.path, Headers: tc.headers}
		req.RequestContext.HTTP.Method = map[string]string{"/v1/events": "POST", "/v1/leads": "GET"}[tc.path]
		resp, _ := r.Handle(t.Context(), req)
		if resp.StatusCode != tc.want || (tc.code != "" && !strings.Contains(resp.Body, `"error":"`+tc.code+`"`)) {
			t.Errorf("%s: %d %s; want %d %s", tc.name, resp.StatusCode, resp.Body, tc.want, tc.code)
		}
	}
}

// TestGreedyParameterTakesTheRest: a {name+} segment matches the rest of
// the path, slashes included, as API Gateway's greedy parameters do; it
// needs at least one segment.
func TestGreedyParameterTakesTheRest(t *testing.T) {
	cases := []struct {
		path string
		want string
		ok   bool
	}{
		{"/files/a.js", "a.js", true},
		{"/files/views/rules.js", "views/rules.js", true},
		{"/files/a%20b/c", "a b/c", true},
		{"/files", "", false},
		{"/other/a.js", "", false},
	}
	for _, c := range cases {
		params, ok := matchPath("/files/{name+}", c.path)
		if ok != c.ok || params["name"] != c.want {
			t.Errorf("matchPath(/files/{name+}, %s) = %v %v, want %q %v", c.path, params, ok, c.want, c.ok)
		}
	}
	if _, ok := matchPath("/files/{name}", "/files/views/rules.js"); ok {
		t.Error("a plain {name} matched two segments")
	}
}
