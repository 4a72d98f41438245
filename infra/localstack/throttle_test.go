package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/leadscore/leadscore/infra/template"
	"github.com/leadscore/leadscore/shared/api"
	"github.com/leadscore/leadscore/shared/config"
	"github.com/leadscore/leadscore/shared/ingest"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/mock"
)

// inProcess invokes a real handler in this process with the event JSON
// the local stack built, as the runtime API would hand it to the binary.
type inProcess struct {
	handle func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)
}

func (f inProcess) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(payload, &req); err != nil {
		return nil, err
	}
	resp, err := f.handle(ctx, req)
	if err != nil {
		return nil, err
	}
	return json.Marshal(resp)
}

// countingQueue accepts every message: these tests are about the HTTP
// edge, not the queue.
type countingQueue struct{ n atomic.Int64 }

func (q *countingQueue) EnqueueScore(_ context.Context, msgs []leadscore.ScoreMessage) ([]int, error) {
	q.n.Add(int64(len(msgs)))
	return nil, nil
}

// localAPI serves the template's routes, throttled as the template says,
// with the real ingest and api handlers behind them, on a fake clock.
func localAPI(t *testing.T, tm *template.Template, clock *time.Time) (*httptest.Server, *countingQueue) {
	t.Helper()
	routes, err := tm.Routes()
	if err != nil {
		t.Fatal(err)
	}
	fns, q := inProcessFunctions(t)
	n := 0
	api := &apiHandler{router: newRouter(routes), functions: fns, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		now: time.Now, newID: func() string { n++; return fmt.Sprint("req-", n) }}
	th := newThrottle(tm, newRouter(routes), api)
	if tt, ok := th.(*throttle); ok {
		tt.now = func() time.Time { return *clock }
	}
	srv := httptest.NewServer(th)
	t.Cleanup(srv.Close)
	return srv, q
}

func postEvent(t *testing.T, srv *httptest.Server, path, contentType string, body []byte) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+path, bytes.NewReader(body))
	req.Header.Set("x-api-key", "local-test-key-0123456789")
	req.Header.Set("Content-Type", contentType)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode
}

var oneEvent = []byte(`{"type":"page_view","email":"t@example.com"}`)

// TestLocalAPIThrottlesAsTheTemplateSays: with the clock stopped, exactly
// the burst gets through and the next request is a 429; a second later,
// exactly the rate's worth more.
func TestLocalAPIThrottlesAsTheTemplateSays(t *testing.T) {
	tm, err := template.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	def, _, ok := throttleSettings(tm)
	if !ok || def.burst < 1 || def.rate < 1 {
		t.Fatalf("template sets no usable throttling: %v", def)
	}
	clock := time.Unix(1_800_000_000, 0)
	srv, q := localAPI(t, tm, &clock)
	count := func(n int) (ok, throttled int) {
		for range n {
			switch st := postEvent(t, srv, "/v1/events", "application/json", oneEvent); st {
			case http.StatusAccepted:
				ok++
			case http.StatusTooManyRequests:
				throttled++
			default:
				t.Fatalf("status %d", st)
			}
		}
		return ok, throttled
	}
	burst, rate := int(def.burst), int(def.rate)
	if ok, throttled := count(burst + 5); ok != burst || throttled != 5 {
		t.Fatalf("at one instant: %d accepted, %d throttled; want the burst %d, then 429s (%s)", ok, throttled, burst, def)
	}
	clock = clock.Add(time.Second)
	if ok, throttled := count(rate + 5); ok != rate || throttled != 5 {
		t.Fatalf("one second later: %d accepted, %d throttled; want the rate %d (%s)", ok, throttled, rate, def)
	}
	if int(q.n.Load()) != burst+rate {
		t.Errorf("%d events reached the queue, want %d: a 429 must not reach the function", q.n.Load(), burst+rate)
	}
}

// TestLocalAPIRouteSettingsOverrideTheDefault mutates the template with a
// stricter limit on one route: that route is throttled on its own.
func TestLocalAPIRouteSettingsOverrideTheDefault(t *testing.T) {
	root, err := template.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := template.ParseGeneric(doc)
	if err != nil {
		t.Fatal(err)
	}
	props := g["Resources"].(map[string]any)["HttpApi"].(map[string]any)["Properties"].(map[string]any)
	props["RouteSettings"] = map[string]any{"POST /v1/events": map[string]any{"ThrottlingRateLimit": 1.0, "ThrottlingBurstLimit": 2.0}}
	tm, err := template.FromGeneric(g)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Unix(1_800_000_000, 0)
	srv, _ := localAPI(t, tm, &clock)
	var got []int
	for range 3 {
		got = append(got, postEvent(t, srv, "/v1/events", "application/json", oneEvent))
	}
	if fmt.Sprint(got) != "[202 202 429]" {
		t.Fatalf("statuses %v, want [202 202 429] for a burst of 2", got)
	}
	// Another route keeps the default bucket.
	if st := postEvent(t, srv, "/v1/forms/contact", "application/x-www-form-urlencoded", []byte("email=a%40example.com")); st == http.StatusTooManyRequests {
		t.Fatal("the form route was throttled by the events route's bucket")
	}
}

// TestLocalAPIAnswers413OverTheBodyLimits sends bodies at and over each
// route's limit (ingest's README "Limits") through the local stack's HTTP
// server and the real ingest handler.
func TestLocalAPIAnswers413OverTheBodyLimits(t *testing.T) {
	tm, err := template.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Unix(1_800_000_000, 0)
	srv, _ := localAPI(t, tm, &clock)
	// A valid event padded with spaces to an exact size.
	pad := func(size int) []byte {
		b := append([]byte(nil), oneEvent...)
		return append(b, bytes.Repeat([]byte(" "), size-len(b))...)
	}
	form := func(size int) []byte {
		b := []byte("email=a%40example.com&note=")
		return append(b, bytes.Repeat([]byte("x"), size-len(b))...)
	}
	tests := []struct {
		name, path, contentType string
		body                    []byte
		want                    int
	}{
		{"events at 256 KiB", "/v1/events", "application/json", pad(256 << 10), http.StatusAccepted},
		{"events over 256 KiB", "/v1/events", "application/json", pad(256<<10 + 1), http.StatusRequestEntityTooLarge},
		{"events of 5 MiB", "/v1/events", "application/json", pad(5 << 20), http.StatusRequestEntityTooLarge},
		{"rules over 256 KiB", "/v1/rules", "application/json", pad(256<<10 + 1), http.StatusRequestEntityTooLarge},
		{"form over 64 KiB", "/v1/forms/contact", "application/x-www-form-urlencoded", form(64<<10 + 1), http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := http.MethodPost
			if strings.HasSuffix(tt.path, "/rules") {
				method = http.MethodPut
			}
			req, _ := http.NewRequest(method, srv.URL+tt.path, bytes.NewReader(tt.body))
			req.Header.Set("x-api-key", "local-test-key-0123456789")
			req.Header.Set("Content-Type", tt.contentType)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tt.want {
				t.Fatalf("status %d (%s), want %d", res.StatusCode, body, tt.want)
			}
			if tt.want == http.StatusRequestEntityTooLarge && !strings.Contains(string(body), "payload_too_large") {
				t.Errorf("413 body %s does not say payload_too_large", body)
			}
		})
	}
}

// inProcessFunctions are the real ingest and api handlers over in-memory
// stores, by the template's logical ids, and the queue ingest sends to.
func inProcessFunctions(t *testing.T) (map[string]invoker, *countingQueue) {
	t.Helper()
	q := &countingQueue{}
	h, err := ingest.New(ingest.Options{Queue: q, Rules: &mock.RulesStore{}, APIKey: "local-test-key-0123456789",
		Forms: map[string]config.Form{"contact": {Type: "form_submit", AllowedOrigins: []string{"http://127.0.0.1:*"}}}})
	if err != nil {
		t.Fatal(err)
	}
	leads := &mock.Store{}
	a, err := api.New(api.Options{Leads: leads, Eraser: leads, Reports: &mock.ReportStore{Leads: leads}, Rules: &mock.RulesStore{}, Accounts: &mock.AccountStore{}, Members: &mock.AccountStore{},
		Rescores: &mock.RescoreStore{}, Queue: &mock.ScoreQueue{}, APIKey: "local-test-key-0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	fns := map[string]invoker{"IngestFunction": inProcess{h.Handle}, "ApiFunction": inProcess{a.Handle}}
	return fns, q
}
