package api

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadscore/leadscore/shared/httpapi"
	"github.com/leadscore/leadscore/shared/mock"
	"github.com/leadscore/leadscore/shared/scoring"
)

func TestAPIKeyOnEveryRoute(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"get-lead.json", "list-leads-email.json", "list-leads-stage.json",
		"delete-lead.json", "get-rules.json", "put-rules.json"} {
		for _, key := range []string{"", "wrong", testKey + "x", strings.ToUpper(testKey)} {
			resp := e.do(t, withHeader(load(t, name), "x-api-key", key))
			if resp.StatusCode != http.StatusUnauthorized || decodeError(t, resp).Error != httpapi.CodeUnauthorized {
				t.Errorf("%s with key %q: status %d, want 401", name, key, resp.StatusCode)
			}
		}
	}
	for _, key := range []string{RescoreProgressRouteKey, SignalsReportRouteKey, BuildSignalsReportRouteKey} {
		method, path, _ := strings.Cut(key, " ")
		req := httpapi.Request{RouteKey: key, RawPath: strings.ReplaceAll(path, "{version}", "1")}
		req.RequestContext.HTTP.Method = method
		if resp := e.do(t, req); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s without a key: status %d, want 401", key, resp.StatusCode)
		}
	}
	e.received(t, 0) // no rescore was started
}

// TestWriteKeyIsForbidden: a write key (a backend's or a CDP's) is right but
// cannot read, publish or erase anything, in x-api-key or by HTTP Basic.
func TestWriteKeyIsForbidden(t *testing.T) {
	const writeKey = "wk_test_0123456789ab"
	e := newEnv(t, func(o *Options) { o.WriteKeys = []string{writeKey} })
	for _, name := range []string{"get-lead.json", "list-leads-email.json", "list-leads-stage.json",
		"delete-lead.json", "get-rules.json", "put-rules.json"} {
		for _, req := range []httpapi.Request{
			withHeader(load(t, name), "x-api-key", writeKey),
			withHeader(withHeader(load(t, name), "x-api-key", ""), "authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(writeKey+":"))),
		} {
			resp := e.do(t, req)
			if resp.StatusCode != http.StatusForbidden || decodeError(t, resp).Error != httpapi.CodeForbidden {
				t.Errorf("%s with a write key: status %d %s, want 403", name, resp.StatusCode, resp.Body)
			}
		}
	}
	e.received(t, 0)
}

// TestNewNamesWhatIsMissing: a deployment without its table, queue or key
// fails its cold start naming each, instead of the first request that
// needs it (the rescore's queue used to show only when a rescore ran).
func TestNewNamesWhatIsMissing(t *testing.T) {
	_, err := New(Options{})
	if err == nil {
		t.Fatal("New without dependencies: no error")
	}
	for _, want := range []string{"Options.Leads", "Options.Eraser", "Options.Rules", "Options.Rescores", "Options.Queue", "SCORE_QUEUE_URL",
		"Options.Reports", "Options.Accounts", "API_KEY"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	leads := &mock.Store{}
	_, err = New(Options{Leads: leads, Eraser: leads, Reports: &mock.ReportStore{Leads: leads}, Rules: &mock.RulesStore{}, Rescores: &mock.RescoreStore{}, Accounts: &mock.AccountStore{}, Members: &mock.AccountStore{}, APIKey: testKey})
	if err == nil || !strings.Contains(err.Error(), "SCORE_QUEUE_URL") || strings.Contains(err.Error(), "API_KEY") {
		t.Errorf("New without a queue: %v, want an error naming only the queue", err)
	}
}

// TestRescoreProgress answers the job PUT /v1/rules started, and 400/404
// for versions without one.
func TestRescoreProgress(t *testing.T) {
	e := newEnv(t)
	if resp := e.do(t, withBody(load(t, "put-rules.json"), string(scoring.DefaultRulesYAML()), false)); resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT: %d %s", resp.StatusCode, resp.Body)
	}
	e.received(t, 1)
	get := func(v string) httpapi.Response {
		req := httpapi.Request{RouteKey: RescoreProgressRouteKey, RawPath: "/v1/rules/" + v + "/rescore",
			PathParameters: map[string]string{"version": v}, Headers: map[string]string{"x-api-key": testKey}}
		req.RequestContext.HTTP.Method = "GET"
		return e.do(t, req)
	}
	resp := get("1")
	var job struct {
		Version   int       `json:"version"`
		StartedAt time.Time `json:"started_at"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(resp.Body), &job) != nil || job.Version != 1 || !job.StartedAt.Equal(testNow) {
		t.Fatalf("progress of version 1: %d %s; want the job started at %s", resp.StatusCode, resp.Body, testNow)
	}
	for v, want := range map[string]int{"2": http.StatusNotFound, "0": http.StatusBadRequest, "x": http.StatusBadRequest} {
		if resp := get(v); resp.StatusCode != want {
			t.Errorf("progress of version %s: %d %s, want %d", v, resp.StatusCode, resp.Body, want)
		}
	}
}

// TestSampleEvents sends every events/api-*.json (what `make invoke FN=api`
// uses) through the handler, configured as the local stack configures it.
func TestSampleEvents(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "events", "api-*.json"))
	want := map[string]int{
		"api-get-lead.json":            http.StatusNotFound,
		"api-get-lead-by-email.json":   http.StatusNotFound,
		"api-list-leads.json":          http.StatusOK,
		"api-delete-lead.json":         http.StatusNoContent,
		"api-get-rules.json":           http.StatusOK,
		"api-put-rules.json":           http.StatusOK,
		"api-get-rescore.json":         http.StatusNotFound, // no rules published before it in this run
		"api-get-signals-report.json":  http.StatusOK,
		"api-list-rules-versions.json": http.StatusOK,
		"api-get-console.json":         http.StatusOK, // public: no key needed
		"api-get-console-asset.json":   http.StatusOK,
		"api-list-lead-events.json":    http.StatusNotFound, // no such lead
		"api-post-rules-preview.json":  http.StatusAccepted,
		"api-get-rules-preview.json":   http.StatusNotFound, // no such preview
		// A background build of the report: its message goes to the score queue.
		"api-post-signals-report.json":   http.StatusAccepted,
		"api-get-account.json":           http.StatusNotFound,
		"api-get-account-by-domain.json": http.StatusNotFound,
		"api-list-accounts.json":         http.StatusOK,
	}
	if len(files) != len(want) {
		t.Fatalf("events/api-*.json: %d files, want %d (one per expectation)", len(files), len(want))
	}
	e := newEnv(t, func(o *Options) { o.APIKey = "local-dev-key" })
	if e.store == nil {
		// Over shared/mock there is no preview store: both routes say so.
		want["api-post-rules-preview.json"] = http.StatusServiceUnavailable
		want["api-get-rules-preview.json"] = http.StatusServiceUnavailable
	}
	published := 0
	for _, f := range files {
		name := filepath.Base(f)
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var req httpapi.Request
		if err := json.Unmarshal(b, &req); err != nil || req.RouteKey == "" {
			t.Fatalf("%s is not an API Gateway request: %v", name, err)
		}
		t.Run(name, func(t *testing.T) {
			resp := e.do(t, req)
			w, ok := want[name]
			if !ok {
				t.Fatalf("no expectation for %s (status %d)", name, resp.StatusCode)
			}
			if resp.StatusCode != w {
				t.Fatalf("status %d body %s; want %d", resp.StatusCode, resp.Body, w)
			}
			if name == "api-put-rules.json" || name == "api-post-signals-report.json" || (name == "api-post-rules-preview.json" && e.store != nil) {
				// the first page message of the version's rescore or of the
				// preview; the report build's message
				published++
			}
		})
	}
	e.received(t, published)
}
