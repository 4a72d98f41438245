package ingest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/leadscore/leadscore/infra/faults"
	"github.com/leadscore/leadscore/shared/httpapi"
	"github.com/leadscore/leadscore/shared/mock"
	lssqs "github.com/leadscore/leadscore/shared/sqs"
)

func TestRouting(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		routeKey   string
		rawPath    string
		wantStatus int
		wantAllow  string
	}{
		{name: "route key", method: "POST", routeKey: "POST /v1/events", rawPath: "/v1/events", wantStatus: 202},
		{name: "$default route falls back to the path", method: "POST", routeKey: "$default", rawPath: "/v1/events", wantStatus: 202},
		{name: "no route key, trailing slash", method: "POST", rawPath: "/v1/events/", wantStatus: 202},
		{name: "unknown path", method: "GET", routeKey: "$default", rawPath: "/v2/events", wantStatus: 404},
		{name: "wrong method", method: "GET", routeKey: "$default", rawPath: "/v1/events", wantStatus: 405, wantAllow: "POST"},
		{name: "demo page outside local mode", method: "GET", routeKey: "GET /", rawPath: "/", wantStatus: 404},
	}
	e := newEnv(t)
	accepted := 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := withBody(load(t, "post-event.json"), `{"type":"page_view","anonymous_id":"a"}`, false)
			req.RouteKey, req.RequestContext.RouteKey, req.RawPath, req.RequestContext.HTTP.Method = tc.routeKey, tc.routeKey, tc.rawPath, tc.method
			resp := e.do(t, req)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d body %s; want %d", resp.StatusCode, resp.Body, tc.wantStatus)
			}
			if resp.StatusCode == 202 {
				accepted++
			} else {
				decodeError(t, resp)
			}
			if resp.Headers["allow"] != tc.wantAllow {
				t.Errorf("allow %q, want %q", resp.Headers["allow"], tc.wantAllow)
			}
		})
	}
	e.received(t, accepted)
}

func TestAPIKeyOnEveryPrivateRoute(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"post-event.json"} {
		for _, key := range []string{"", "wrong", testKey + "x", strings.ToUpper(testKey)} {
			resp := e.do(t, withHeader(load(t, name), "x-api-key", key))
			if resp.StatusCode != http.StatusUnauthorized || decodeError(t, resp).Error != httpapi.CodeUnauthorized {
				t.Errorf("%s with key %q: status %d, want 401", name, key, resp.StatusCode)
			}
		}
	}
	e.queueEmpty(t)
}

// TestNewNamesWhatIsMissing: a deployment without a queue, rules store or
// API key fails its cold start, naming each, instead of serving requests
// (an empty key would otherwise lock every private route: fail closed).
func TestNewNamesWhatIsMissing(t *testing.T) {
	_, err := New(Options{})
	if err == nil {
		t.Fatal("New without dependencies: no error")
	}
	for _, want := range []string{"SCORE_QUEUE_URL", "TABLE_NAME", "API_KEY"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if _, err := New(Options{Queue: &mock.ScoreQueue{}, Rules: &mock.RulesStore{}}); err == nil || !strings.Contains(err.Error(), "API_KEY") {
		t.Errorf("New without a key: %v, want an error naming API_KEY", err)
	}
}

func TestDemoPageOnlyLocal(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Local = true })
	resp := e.do(t, withHeader(load(t, "get-demo.json"), "host", "127.0.0.1:3000"))
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Headers["content-type"], "text/html") {
		t.Fatalf("status %d type %q", resp.StatusCode, resp.Headers["content-type"])
	}
	for _, want := range []string{`<script async src="/v1/t.js" data-site="` + testSiteKey + `">`, `action="/v1/forms/contact"`,
		`name="_hp"`, `name="_redirect"`, `href="/pricing"`, `href="/careers"`, `content_download`} {
		if !strings.Contains(resp.Body, want) {
			t.Errorf("demo page lacks %s", want)
		}
	}
	// The page is a stranger's web page as far as keys go: only the
	// public site key.
	for _, secret := range []string{testKey, testWriteKey, testSegmentSecret} {
		if strings.Contains(resp.Body, secret) {
			t.Errorf("demo page carries a secret key %q", secret)
		}
	}
	// A host no site allows gets the page without the tracker.
	resp = e.do(t, withHeader(load(t, "get-demo.json"), "host", "demo.internal"))
	if resp.StatusCode != http.StatusOK || strings.Contains(resp.Body, "/v1/t.js\"") || !strings.Contains(resp.Body, "the tracker is off") {
		t.Errorf("demo page for an unknown host: %d, tracker tag present or no notice", resp.StatusCode)
	}
}

func TestQueueRefusalIs503NamingTheEvents(t *testing.T) {
	needEmulators(t)
	var inj *faults.RefusingSQS
	e := newEnv(t, func(o *Options) {
		inj = &faults.RefusingSQS{BatchSender: awssqs.NewFromConfig(mustAWSConfig(t)),
			// Every attempt of the entry carrying ev-b-2: SQS's partial failure.
			Refuse: func(_ int, e types.SendMessageBatchRequestEntry) bool {
				return strings.Contains(aws.ToString(e.MessageBody), `"ev-b-2"`)
			}}
		o.Queue = lssqs.NewQueuesFrom(inj, stack.ScoreQueueURL, stack.HandoffQueueURL)
	})
	body := `{"events":[{"event_id":"ev-b-1","type":"page_view","anonymous_id":"a"},{"event_id":"ev-b-2","type":"page_view","anonymous_id":"a"},{"event_id":"ev-b-3","type":"page_view","anonymous_id":"b"}]}`
	resp := e.do(t, withBody(load(t, "post-event.json"), body, false))
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d body %s; want 503", resp.StatusCode, resp.Body)
	}
	var b struct {
		Error       string           `json:"error"`
		NotAccepted []Accepted       `json:"not_accepted"`
		Accepted    []Accepted       `json:"accepted"`
		Details     []httpapi.Detail `json:"details"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &b); err != nil {
		t.Fatal(err)
	}
	if b.Error != httpapi.CodeQueueUnavailable || len(b.NotAccepted) != 1 || b.NotAccepted[0].EventID != "ev-b-2" ||
		len(b.Accepted) != 2 || !slices.Contains(fields(b.Details), "events[1].event_id") {
		t.Fatalf("body %s, want ev-b-2 named as not accepted at events[1] and the other two accepted", resp.Body)
	}
	if inj.Calls() != 3 {
		t.Errorf("SendMessageBatch calls = %d, want 1 + 2 retries of the refused entry", inj.Calls())
	}
	got := e.received(t, 2)
	ids := []string{got[0].msg.Event.EventID, got[1].msg.Event.EventID}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"ev-b-1", "ev-b-3"}) {
		t.Errorf("queued %v, want ev-b-1 and ev-b-3", ids)
	}
}

func TestQueueDownIs503WithoutInternals(t *testing.T) {
	needEmulators(t)
	e := newEnv(t, func(o *Options) {
		o.Queue = lssqs.NewQueues(awssqs.NewFromConfig(mustAWSConfig(t)), stack.ScoreQueueURL+"-missing", stack.HandoffQueueURL)
	})
	resp := e.do(t, load(t, "post-event.json"))
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d body %s; want 503", resp.StatusCode, resp.Body)
	}
	b := decodeError(t, resp)
	if strings.Contains(resp.Body, "missing") || strings.Contains(resp.Body, "127.0.0.1") || !strings.Contains(b.Text(), "ev-2026-11-22-0001") {
		t.Errorf("503 body %s: want the event id named and no queue URL or SDK text", resp.Body)
	}
	if !strings.Contains(e.metrics.String(), MetricEventsNotEnqueued) {
		t.Errorf("metrics lack %s: %s", MetricEventsNotEnqueued, e.metrics.String())
	}
}
