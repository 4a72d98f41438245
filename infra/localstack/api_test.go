package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/leadscore/leadscore/infra/template"
	"github.com/leadscore/leadscore/shared/webhook"
)

func testRouter(t *testing.T) *router {
	t.Helper()
	tmpl, err := template.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	routes, err := tmpl.Routes()
	if err != nil {
		t.Fatal(err)
	}
	return newRouter(routes)
}

func TestRouterMatchesTemplateRoutes(t *testing.T) {
	r := testRouter(t)
	tests := []struct {
		method, path string
		wantKey      string // "" for no match
		wantParams   map[string]string
	}{
		{"POST", "/v1/events", "POST /v1/events", nil},
		{"GET", "/v1/leads", "GET /v1/leads", nil},
		{"GET", "/v1/leads/ld_123", "GET /v1/leads/{lead_id}", map[string]string{"lead_id": "ld_123"}},
		{"DELETE", "/v1/leads/ld_123", "DELETE /v1/leads/{lead_id}", map[string]string{"lead_id": "ld_123"}},
		{"POST", "/v1/forms/contact", "POST /v1/forms/{form_id}", map[string]string{"form_id": "contact"}},
		{"OPTIONS", "/v1/forms/contact", "OPTIONS /v1/forms/{form_id}", map[string]string{"form_id": "contact"}},
		{"GET", "/v1/rules/3/rescore", "GET /v1/rules/{version}/rescore", map[string]string{"version": "3"}},
		{"GET", "/", "GET /", nil},
		{"PUT", "/v1/events", "", nil},
		{"GET", "/v1/leads/ld_1/extra", "", nil},
		{"GET", "/v1/leads/", "", nil}, // API Gateway: another path
		{"POST", "//v1/events", "", nil},
		{"GET", "/v1/nope", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rt, params := r.match(tt.method, tt.path)
			if tt.wantKey == "" {
				if rt != nil {
					t.Fatalf("matched %s, want no route", rt.Key())
				}
				return
			}
			if rt == nil {
				t.Fatalf("no route, want %s", tt.wantKey)
			}
			if rt.Key() != tt.wantKey {
				t.Errorf("route %s, want %s", rt.Key(), tt.wantKey)
			}
			for k, v := range tt.wantParams {
				if params[k] != v {
					t.Errorf("param %s = %q, want %q", k, params[k], v)
				}
			}
		})
	}
}

func TestRouterPrefersLiteralSegments(t *testing.T) {
	r := newRouter([]template.Route{
		{Function: "A", Method: "GET", Path: "/v1/{thing}"},
		{Function: "B", Method: "GET", Path: "/v1/leads"},
		{Function: "C", Method: "ANY", Path: "/{proxy+}"},
	})
	tests := map[string]string{"/v1/leads": "B", "/v1/rules": "A", "/x/y/z": "C"}
	for path, want := range tests {
		rt, _ := r.match("GET", path)
		if rt == nil || rt.Function != want {
			t.Errorf("GET %s -> %v, want %s", path, rt, want)
		}
	}
}

// recorder is an invoker that keeps the event and answers a fixed response.
type recorder struct {
	got  []byte
	resp []byte
	err  error
}

func (r *recorder) Invoke(_ context.Context, payload []byte) ([]byte, error) {
	r.got = payload
	return r.resp, r.err
}

func serve(t *testing.T, fn *recorder, req *http.Request) (*httptest.ResponseRecorder, events.APIGatewayV2HTTPRequest) {
	t.Helper()
	h := &apiHandler{
		router:    testRouter(t),
		functions: map[string]invoker{"IngestFunction": fn, "ApiFunction": fn},
		log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		now:       func() time.Time { return time.Date(2026, 11, 23, 10, 15, 0, 0, time.UTC) },
		newID:     func() string { return "req-1" },
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var ev events.APIGatewayV2HTTPRequest
	if fn.got != nil {
		if err := json.Unmarshal(fn.got, &ev); err != nil {
			t.Fatal(err)
		}
	}
	return w, ev
}

func TestAPIEventShape(t *testing.T) {
	fn := &recorder{resp: []byte(`{"statusCode":202,"headers":{"content-type":"application/json"},"body":"{\"accepted\":[]}"}`)}
	req := httptest.NewRequest("POST", "/v1/events?dry=1&tag=a&tag=b", strings.NewReader(`{"type":"page_view"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Api-Key", "k")
	req.Header.Add("Cookie", "a=1; b=2")
	w, ev := serve(t, fn, req)
	if w.Code != 202 || w.Body.String() != `{"accepted":[]}` {
		t.Fatalf("response %d %q, want 202 with the function's body", w.Code, w.Body.String())
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"version", ev.Version, "2.0"},
		{"routeKey", ev.RouteKey, "POST /v1/events"},
		{"rawPath", ev.RawPath, "/v1/events"},
		{"rawQueryString", ev.RawQueryString, "dry=1&tag=a&tag=b"},
		{"query joined", ev.QueryStringParameters["tag"], "a,b"},
		{"header lower-cased", ev.Headers["x-api-key"], "k"},
		{"cookies apart", strings.Join(ev.Cookies, "|"), "a=1|b=2"},
		{"no cookie header", ev.Headers["cookie"], ""},
		{"method", ev.RequestContext.HTTP.Method, "POST"},
		{"source ip", ev.RequestContext.HTTP.SourceIP, "192.0.2.1"},
		{"request id", ev.RequestContext.RequestID, "req-1"},
		{"stage", ev.RequestContext.Stage, "$default"},
		{"time epoch", ev.RequestContext.TimeEpoch, int64(1795428900000)},
		{"json body as text", ev.Body, `{"type":"page_view"}`},
		{"not base64", ev.IsBase64Encoded, false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func TestAPIFormBodyIsBase64(t *testing.T) {
	fn := &recorder{resp: []byte(`{"statusCode":303,"headers":{"location":"http://localhost:8080/thanks"}}`)}
	form := "email=ada%40example.com&_hp="
	req := httptest.NewRequest("POST", "/v1/forms/contact", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w, ev := serve(t, fn, req)
	if !ev.IsBase64Encoded {
		t.Fatal("form body not base64-encoded; API Gateway HTTP APIs encode form posts")
	}
	if b, _ := base64.StdEncoding.DecodeString(ev.Body); string(b) != form {
		t.Errorf("decoded body %q, want %q", b, form)
	}
	if ev.PathParameters["form_id"] != "contact" {
		t.Errorf("pathParameters %v, want form_id=contact", ev.PathParameters)
	}
	if w.Code != 303 || w.Header().Get("Location") != "http://localhost:8080/thanks" {
		t.Errorf("response %d location %q, want the 303 redirect", w.Code, w.Header().Get("Location"))
	}
}

func TestAPIResponses(t *testing.T) {
	tests := []struct {
		name     string
		resp     []byte
		err      error
		wantCode int
		wantBody string
	}{
		{"plain JSON is a 200", []byte(`{"ok":true}`), nil, 200, `{"ok":true}`},
		{"base64 body decoded", []byte(`{"statusCode":200,"body":"aGk=","isBase64Encoded":true}`), nil, 200, "hi"},
		{"function error is a 500", nil, context.DeadlineExceeded, 500, `{"message":"Internal Server Error"}`},
		{"bad status is a 500", []byte(`{"statusCode":42}`), nil, 500, `{"message":"Internal Server Error"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn := &recorder{resp: tt.resp, err: tt.err}
			w, _ := serve(t, fn, httptest.NewRequest("GET", "/v1/rules", nil))
			if w.Code != tt.wantCode || w.Body.String() != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", w.Code, w.Body.String(), tt.wantCode, tt.wantBody)
			}
		})
	}
}

func TestAPIUnknownRouteIs404WithoutInvoking(t *testing.T) {
	fn := &recorder{}
	w, _ := serve(t, fn, httptest.NewRequest("PATCH", "/v1/events", nil))
	if w.Code != 404 || fn.got != nil {
		t.Errorf("got %d, invoked=%v; want 404 and no invocation", w.Code, fn.got != nil)
	}
}

func TestIsText(t *testing.T) {
	tests := map[string]bool{
		"application/json": true, "application/json; charset=utf-8": true, "text/plain": true,
		"application/yaml": true, "": true, "application/x-www-form-urlencoded": false,
		"multipart/form-data; boundary=x": false, "application/octet-stream": false, "image/png": false,
	}
	for ct, want := range tests {
		if got := isText(ct); got != want {
			t.Errorf("isText(%q) = %v, want %v", ct, got, want)
		}
	}
}

func TestScheduledEventCarriesNow(t *testing.T) {
	tmpl, err := template.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	ss, err := tmpl.Schedules()
	if err != nil || len(ss) == 0 {
		t.Fatalf("schedules %v, %v", ss, err)
	}
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(scheduledEvent(ss[0], now, "exec-1"), &ev); err != nil {
		t.Fatalf("scheduled event is not JSON: %v", err)
	}
	if !ev.Time.Equal(now) || ev.DetailType != "Scheduled Event" || ev.ID != "exec-1" {
		t.Errorf("event time %s detail-type %q id %q; want %s, Scheduled Event, exec-1", ev.Time, ev.DetailType, ev.ID, now)
	}
}

// TestVerifySignature: the local receiver's check (webhook.Verify) accepts
// a signature computed here independently, at its timestamp.
func TestVerifySignature(t *testing.T) {
	// sha256=hex(HMAC-SHA256("s3cret", "1700000000.{}"))
	const good = "sha256=" + "6a53ec6b0a4a1d0f6b6ab3d8bb8b1e5c2a7d0b4a9b2b7c0f6a0f0f6c9d3b8e1a"
	sig := sign("s3cret", "1700000000", []byte("{}"))
	tests := []struct {
		name, secret, ts, sig string
		want                  bool
	}{
		{"valid", "s3cret", "1700000000", sig, true},
		{"wrong secret", "other", "1700000000", sig, false},
		{"wrong timestamp", "s3cret", "1700000001", sig, false},
		{"no prefix", "s3cret", "1700000000", strings.TrimPrefix(sig, "sha256="), false},
		{"garbage", "s3cret", "1700000000", good, false},
		{"no timestamp", "s3cret", "", sig, false},
	}
	for _, tt := range tests {
		if got := webhook.Verify(tt.secret, tt.ts, tt.sig, []byte("{}"), time.Unix(1700000000, 0), webhook.DefaultMaxAge) == nil; got != tt.want {
			t.Errorf("%s: verify = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func sign(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
