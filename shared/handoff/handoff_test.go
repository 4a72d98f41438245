package handoff

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/leadscore/leadscore/infra/emulators"
	"github.com/leadscore/leadscore/shared/config"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/logging"
	"github.com/leadscore/leadscore/shared/metrics"
	"github.com/leadscore/leadscore/shared/sqs"
	"github.com/leadscore/leadscore/shared/webhook"
)

var stack *emulators.Stack

func TestMain(m *testing.M) { emulators.RunTests(m, &stack) }

const secret = "test-secret-0123456789"

func sample(typ string) leadscore.Handoff {
	return leadscore.Handoff{TransitionID: "tr_0123456789abcdef01234567", Type: typ, OccurredAt: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC),
		RulesVersion: 3, Lead: leadscore.LeadView{LeadID: "ld_abc", Email: "ada@example.com", Stage: "mql", Attributes: map[string]any{}}}
}

type delivery struct {
	header http.Header
	body   []byte
	at     time.Time
}

// receiver fails the first `fail` posts with 503, then answers 204.
type receiver struct {
	mu   sync.Mutex
	fail int
	got  []delivery
	srv  *httptest.Server
}

func newReceiver(t *testing.T, fail int) *receiver {
	r := &receiver{fail: fail}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.got = append(r.got, delivery{header: req.Header.Clone(), body: b, at: time.Now()})
		if len(r.got) <= r.fail {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func newHandler(t *testing.T, cfg config.Config, vis Visibility) *Handler {
	t.Helper()
	h, err := New(Options{Config: cfg, Visibility: vis, Logger: logging.New(io.Discard, "handoff-test", "debug"),
		Metrics: metrics.New(io.Discard, "handoff-test"), RetryBase: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestFailingWebhookIsRetriedWithBackoffUntilDelivered drives the handler
// like Lambda's event source against the real queue: the receiver fails
// twice, the handler stretches the message's visibility each time, and the
// third receive delivers it, with the same transition_id and a valid
// signature every time.
func TestFailingWebhookIsRetriedWithBackoffUntilDelivered(t *testing.T) {
	emulators.Need(t)
	ctx := t.Context()
	if err := stack.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t, 2)
	cfg, _ := stack.AWSConfig(ctx)
	client := awssqs.NewFromConfig(cfg)
	queues := sqs.NewQueues(client, stack.ScoreQueueURL, stack.HandoffQueueURL)
	h := newHandler(t, config.Config{WebhookURLSales: rcv.srv.URL, WebhookSecret: secret, HandoffQueueURL: stack.HandoffQueueURL, Local: true}, queues)
	ho := sample("lead.mql")
	if failed, err := queues.EnqueueHandoff(ctx, []leadscore.Handoff{ho}); err != nil || len(failed) > 0 {
		t.Fatal(err)
	}
	var failures, receives int
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline) && len(rcv.got) < 3; {
		res, err := client.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(stack.HandoffQueueURL),
			//lint:ignore SA1019 local-aws-sqs returns ApproximateReceiveCount only through AttributeNames (docs/architecture.md)
			MaxNumberOfMessages: 10, WaitTimeSeconds: 1, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Messages) == 0 {
			continue
		}
		var ev events.SQSEvent
		for _, m := range res.Messages {
			receives++
			ev.Records = append(ev.Records, events.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
				Body: aws.ToString(m.Body), Attributes: m.Attributes})
		}
		resp, err := h.Handle(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		failures += len(resp.BatchItemFailures)
		failed := map[string]bool{}
		for _, f := range resp.BatchItemFailures {
			failed[f.ItemIdentifier] = true
		}
		for _, r := range ev.Records {
			if !failed[r.MessageId] {
				client.DeleteMessage(ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(stack.HandoffQueueURL), ReceiptHandle: aws.String(r.ReceiptHandle)})
			}
		}
	}
	if len(rcv.got) != 3 || failures != 2 || receives != 3 {
		t.Fatalf("%d posts, %d reported failures, %d receives; want 3, 2, 3", len(rcv.got), failures, receives)
	}
	for i, d := range rcv.got {
		if k := d.header.Get("Idempotency-Key"); k != ho.TransitionID {
			t.Errorf("attempt %d: Idempotency-Key %q, want %q", i, k, ho.TransitionID)
		}
		if ct := d.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("attempt %d: Content-Type %q", i, ct)
		}
		if err := webhook.Verify(secret, d.header.Get("X-Timestamp"), d.header.Get("X-Signature"), d.body, d.at, webhook.DefaultMaxAge); err != nil {
			t.Errorf("attempt %d: signature does not verify: %v", i, err)
		}
		var got leadscore.Handoff
		if err := json.Unmarshal(d.body, &got); err != nil || got.TransitionID != ho.TransitionID || got.Type != "lead.mql" || got.Lead.LeadID != "ld_abc" {
			t.Errorf("attempt %d: body %s (%v)", i, d.body, err)
		}
	}
}

func TestRoutingSkipsAndRejects(t *testing.T) {
	rcv := newReceiver(t, 0)
	other := newReceiver(t, 0)
	redirect := httptest.NewServer(http.RedirectHandler(other.srv.URL, http.StatusFound))
	t.Cleanup(redirect.Close)
	rec := func(body string) events.SQSEvent {
		return events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: body, Attributes: map[string]string{"ApproximateReceiveCount": "1"}}}}
	}
	js := func(h leadscore.Handoff) string { b, _ := json.Marshal(h); return string(b) }
	cases := []struct {
		name      string
		cfg       config.Config
		body      string
		wantFail  bool
		wantPosts int
	}{
		{"mql goes to sales", config.Config{WebhookURLSales: rcv.srv.URL, Local: true}, js(sample("lead.mql")), false, 1},
		{"sql goes to sales", config.Config{WebhookURLSales: rcv.srv.URL, Local: true}, js(sample("lead.sql")), false, 1},
		{"nurture goes to nurture", config.Config{WebhookURLNurture: rcv.srv.URL, Local: true}, js(sample("lead.nurture")), false, 1},
		{"nurture without its URL is skipped", config.Config{WebhookURLSales: rcv.srv.URL, Local: true}, js(sample("lead.nurture")), false, 0},
		{"lead kind is skipped", config.Config{WebhookURLSales: rcv.srv.URL, Local: true}, js(sample("lead.lead")), false, 0},
		{"unparseable fails alone", config.Config{WebhookURLSales: rcv.srv.URL, Local: true}, `{"transition_id":`, true, 0},
		{"redirect is not followed", config.Config{WebhookURLSales: redirect.URL, Local: true}, js(sample("lead.mql")), true, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rcv.mu.Lock()
			rcv.got = nil
			rcv.mu.Unlock()
			c.cfg.WebhookSecret = secret
			h := newHandler(t, c.cfg, nil)
			resp, err := h.Handle(t.Context(), rec(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if (len(resp.BatchItemFailures) == 1) != c.wantFail {
				t.Fatalf("failures %v, want failed=%v", resp.BatchItemFailures, c.wantFail)
			}
			if len(rcv.got) != c.wantPosts || len(other.got) != 0 {
				t.Fatalf("%d posts to the receiver, %d to the redirect target; want %d, 0", len(rcv.got), len(other.got), c.wantPosts)
			}
		})
	}
}

func TestNewRequiresHTTPSOutsideLocal(t *testing.T) {
	cases := []struct {
		name string
		cfg  config.Config
		ok   bool
	}{
		{"https", config.Config{WebhookURLSales: "https://crm.example.com/hook", WebhookSecret: secret}, true},
		{"http in AWS", config.Config{WebhookURLSales: "http://crm.example.com/hook", WebhookSecret: secret}, false},
		{"http locally", config.Config{WebhookURLSales: "http://127.0.0.1:9/hook", WebhookSecret: secret, Local: true}, true},
		{"no secret", config.Config{WebhookURLNurture: "https://mail.example.com/hook"}, false},
		{"relative URL", config.Config{WebhookURLSales: "/hook", WebhookSecret: secret}, false},
		{"nothing configured", config.Config{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(Options{Config: c.cfg, Logger: logging.New(io.Discard, "handoff-test", "debug"), Metrics: metrics.New(io.Discard, "handoff-test")})
			if (err == nil) != c.ok {
				t.Fatalf("New: %v, want ok=%v", err, c.ok)
			}
		})
	}
}

func TestRetryDelayGrowsAndCaps(t *testing.T) {
	for _, c := range []struct {
		n    int
		want time.Duration
	}{{0, 30 * time.Second}, {1, 30 * time.Second}, {2, time.Minute}, {3, 2 * time.Minute}, {5, 8 * time.Minute}, {6, 15 * time.Minute}, {50, 15 * time.Minute}} {
		if got := RetryDelay(c.n); got != c.want {
			t.Errorf("RetryDelay(%d) = %s, want %s", c.n, got, c.want)
		}
	}
}

// TestAccountWebhookIsSignedLikeALeads: an account.mqa goes to the sales
// URL with the lead webhooks' headers and signature, and its body is
// {transition_id, type, occurred_at, rules_version, account} with no lead.
func TestAccountWebhookIsSignedLikeALeads(t *testing.T) {
	rcv := newReceiver(t, 0)
	h := newHandler(t, config.Config{WebhookURLSales: rcv.srv.URL, WebhookSecret: secret, Local: true}, nil)
	ho := leadscore.Handoff{TransitionID: "tr_acc0123456789abcdef012345", Type: "account.mqa", OccurredAt: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC),
		RulesVersion: 3, Account: &leadscore.AccountView{AccountID: "sf-001", Domain: "acme.io", Stage: "mqa", EngagedContacts: 3,
			Leads: []leadscore.AccountLead{{LeadID: "ld_abc", Email: "ada@acme.io", Stage: "lead", Engagement: 12}}}}
	lead := sample("lead.mql")
	for _, m := range []leadscore.Handoff{ho, lead} {
		body, _ := json.Marshal(m)
		resp, err := h.Handle(t.Context(), events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: string(body),
			Attributes: map[string]string{"ApproximateReceiveCount": "1"}}}})
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("%s: %v %v", m.Type, resp.BatchItemFailures, err)
		}
	}
	if len(rcv.got) != 2 {
		t.Fatalf("%d posts, want the account's and the lead's", len(rcv.got))
	}
	acct, lp := rcv.got[0], rcv.got[1]
	for name := range lp.header {
		if name == "Content-Length" || name == "Accept-Encoding" {
			continue
		}
		if acct.header.Get(name) == "" {
			t.Errorf("the account webhook lacks header %s that the lead webhook has", name)
		}
	}
	ts, sig := acct.header.Get(webhook.HeaderTimestamp), acct.header.Get(webhook.HeaderSignature)
	if err := webhook.Verify(secret, ts, sig, acct.body, time.Now(), time.Hour); err != nil {
		t.Errorf("the account webhook's signature does not verify: %v (headers %v)", err, acct.header)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(acct.body, &body); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"transition_id", "type", "occurred_at", "rules_version", "account"} {
		if _, ok := body[k]; !ok {
			t.Errorf("account webhook body lacks %s: %s", k, acct.body)
		}
	}
	if _, ok := body["lead"]; ok {
		t.Errorf("account webhook body carries a lead: %s", acct.body)
	}
}
