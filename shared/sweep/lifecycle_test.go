package sweep_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/leadscore/leadscore/infra/emulators"
	"github.com/leadscore/leadscore/infra/wire"
	"github.com/leadscore/leadscore/shared/config"
	"github.com/leadscore/leadscore/shared/dynamodb"
	"github.com/leadscore/leadscore/shared/handoff"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/logging"
	"github.com/leadscore/leadscore/shared/score"
	"github.com/leadscore/leadscore/shared/scoring"
	"github.com/leadscore/leadscore/shared/sqs"
	"github.com/leadscore/leadscore/shared/sweep"
	"github.com/leadscore/leadscore/shared/webhook"
)

const secret = "lifecycle-test-secret"

// pipeline is the sweep, score and handoff functions wired to the real
// table and queues (infra/wire), with a webhook receiver that verifies
// signatures and records each transition once per delivery.
type pipeline struct {
	t       *testing.T
	clock   time.Time
	store   *dynamodb.Store // the test's view of the table
	sqs     *awssqs.Client
	queue   *sqs.Queues
	logs    *bytes.Buffer
	score   *score.Handler
	sweep   *sweep.Handler
	handoff *handoff.Handler

	mu        sync.Mutex
	delivered []leadscore.Handoff
}

func newPipeline(t *testing.T) *pipeline {
	emulators.Need(t)
	st := sweep.TestStack()
	if err := st.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	p := &pipeline{t: t, logs: &bytes.Buffer{}}
	recv := httptest.NewServer(http.HandlerFunc(p.receive))
	t.Cleanup(recv.Close)
	deps, err := wire.Emulated(t.Context(), st)
	if err != nil {
		t.Fatal(err)
	}
	deps.Logger = func(fn string) *slog.Logger { return logging.New(p.logs, fn, "info") }
	deps.Now = func() time.Time { return p.clock }
	deps.SigningNow = deps.Now // the receiver checks signatures at p.clock
	deps.Webhooks = config.Config{WebhookURLSales: recv.URL + "/sales", WebhookURLNurture: recv.URL + "/nurture",
		WebhookSecret: secret, Local: true}
	deps.SweepMargin = time.Second
	hs, err := wire.Build(deps)
	if err != nil {
		t.Fatal(err)
	}
	p.score, p.sweep, p.handoff = hs.Score, hs.Sweep, hs.Handoff
	cfg, err := st.AWSConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	p.store = dynamodb.New(awsdynamodb.NewFromConfig(cfg), st.TableName)
	p.sqs = awssqs.NewFromConfig(cfg)
	p.queue = sqs.NewQueues(p.sqs, st.ScoreQueueURL, st.HandoffQueueURL)
	return p
}

func (p *pipeline) receive(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := webhook.Verify(secret, r.Header.Get("X-Timestamp"), r.Header.Get("X-Signature"), body, p.clock, webhook.DefaultMaxAge); err != nil {
		p.t.Errorf("webhook signature: %v", err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var h leadscore.Handoff
	if err := json.Unmarshal(body, &h); err != nil {
		p.t.Errorf("webhook body %s: %v", body, err)
	}
	p.mu.Lock()
	p.delivered = append(p.delivered, h)
	p.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// webhooks returns how many deliveries of type kind the receiver has seen.
func (p *pipeline) webhooks(kind string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, h := range p.delivered {
		if h.Type == kind {
			n++
		}
	}
	return n
}

// drive runs queue's messages through fn as Lambda's SQS event source does:
// batches of up to 10, deleting what the handler did not report failed,
// until the queue stays empty.
func (p *pipeline) drive(queueURL string, fn func(events.SQSEvent) (events.SQSEventResponse, error)) {
	t := p.t
	t.Helper()
	for empty := 0; empty < 2; {
		res, err := p.sqs.ReceiveMessage(t.Context(), &awssqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL),
			// Short polls: every message this test waits for was sent
			// before the poll, and the emulator's long poll waits its whole
			// time unless it can fill the batch.
			MaxNumberOfMessages: 10, WaitTimeSeconds: 0,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Messages) == 0 {
			empty++
			continue
		}
		var batch events.SQSEvent
		for _, m := range res.Messages {
			batch.Records = append(batch.Records, events.SQSMessage{MessageId: aws.ToString(m.MessageId),
				ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
				Attributes: map[string]string{"ApproximateReceiveCount": "1"}, EventSource: "aws:sqs"})
		}
		resp, err := fn(batch)
		if err != nil {
			t.Fatalf("handler: %v", err)
		}
		if len(resp.BatchItemFailures) > 0 {
			t.Fatalf("handler failed %d messages: %+v", len(resp.BatchItemFailures), resp.BatchItemFailures)
		}
		for _, m := range res.Messages {
			if _, err := p.sqs.DeleteMessage(t.Context(), &awssqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// settle runs everything queued through the score and handoff functions.
func (p *pipeline) settle() {
	st := sweep.TestStack()
	p.drive(st.ScoreQueueURL, func(e events.SQSEvent) (events.SQSEventResponse, error) { return p.score.Handle(p.t.Context(), e) })
	p.drive(st.HandoffQueueURL, func(e events.SQSEvent) (events.SQSEventResponse, error) { return p.handoff.Handle(p.t.Context(), e) })
}

var seq int

// post queues events for email at the pipeline's clock, as ingest would.
func (p *pipeline) post(email string, types ...string) {
	p.t.Helper()
	var msgs []leadscore.ScoreMessage
	for _, typ := range types {
		seq++
		ev := &scoring.Event{EventID: "lc-" + strconv.Itoa(seq), Type: typ, OccurredAt: p.clock, Email: email,
			Lead: map[string]any{"job_title": "VP Marketing", "company_size": 800.0, "industry": "software", "country": "US"}}
		if typ == "content_download" {
			ev.Properties = map[string]any{"funnel_stage": "bottom"}
		}
		msgs = append(msgs, leadscore.ScoreMessage{Kind: leadscore.KindEvent, LeadID: leadscore.LeadID(email), Event: ev})
	}
	if failed, err := p.queue.EnqueueScore(p.t.Context(), msgs); err != nil || len(failed) > 0 {
		p.t.Fatalf("enqueue: %v %v", failed, err)
	}
	p.settle()
}

// sweepAt runs the scheduled sweep with the given time, then lets the score
// and handoff functions take what it enqueued.
func (p *pipeline) sweepAt(now time.Time) sweep.Summary {
	p.t.Helper()
	p.clock = now
	sum, err := p.sweep.Handle(p.t.Context(), sweep.Scheduled(now))
	if err != nil {
		p.t.Fatal(err)
	}
	p.settle()
	return sum
}

func (p *pipeline) stage(email string) scoring.Stage {
	p.t.Helper()
	l, err := p.store.Lead(p.t.Context(), leadscore.LeadID(email))
	if err != nil {
		p.t.Fatal(err)
	}
	return sweep.ViewOf(p.t, p.store, l).Stage
}

// TestNurtureAndReengagement follows an MQL that sales never takes up: it
// moves to nurture when the sweep runs past the 14-day deadline (and not
// before), the nurture webhook fires once, and fresh engagement after the
// nurture day makes it an MQL again (docs/scoring.md section 4).
func TestNurtureAndReengagement(t *testing.T) {
	p := newPipeline(t)
	const ada = "ada@example.com"
	day0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	p.clock = day0
	p.post(ada, "demo_request") // fit 50 >= 40 and a hand-raise: MQL at once
	if got := p.stage(ada); got != scoring.StageMQL || p.webhooks("lead.mql") != 1 {
		t.Fatalf("after the demo request: stage %s, %d lead.mql webhooks; want mql and 1", got, p.webhooks("lead.mql"))
	}

	// 13 whole days in mql: not yet.
	p.sweepAt(day0.Add(13 * 24 * time.Hour))
	if got := p.stage(ada); got != scoring.StageMQL || p.webhooks("lead.nurture") != 0 {
		t.Fatalf("day 13: stage %s, %d nurture webhooks; want still mql, none", got, p.webhooks("lead.nurture"))
	}
	// Day 14: nurture, and the email platform is told once.
	day14 := time.Date(2026, 11, 16, 0, 5, 0, 0, time.UTC)
	if sum := p.sweepAt(day14); sum.Enqueued == 0 {
		t.Fatalf("the sweep on day 14 found no due lead: %+v", sum)
	}
	if got := p.stage(ada); got != scoring.StageNurture || p.webhooks("lead.nurture") != 1 {
		t.Fatalf("day 14: stage %s, %d nurture webhooks; want nurture, 1", got, p.webhooks("lead.nurture"))
	}
	// Later sweeps do not tell it again.
	p.sweepAt(day14.Add(24 * time.Hour))
	p.sweepAt(day14.Add(48 * time.Hour))
	if n := p.webhooks("lead.nurture"); n != 1 {
		t.Fatalf("%d nurture webhooks after more sweeps, want 1", n)
	}

	// Re-engaging: 30 (trial) + 20 (webinar) + 25 (bottom-funnel download)
	// = 75 >= 50 earned on or after the nurture day, fit 50 >= 40: mql again.
	p.clock = day14.Add(3 * 24 * time.Hour)
	p.post(ada, "trial_signup", "webinar_attend", "content_download")
	if got := p.stage(ada); got != scoring.StageMQL || p.webhooks("lead.mql") != 2 {
		t.Fatalf("after re-engaging: stage %s, %d lead.mql webhooks; want mql, 2", got, p.webhooks("lead.mql"))
	}
}

// TestExpiryAndReturn follows a lead with no activity for 180 days: the
// sweep expires it on the deadline (not the day before) and a new event
// brings it back to lead.
func TestExpiryAndReturn(t *testing.T) {
	p := newPipeline(t)
	const bob = "bob@example.com"
	day0 := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	p.clock = day0
	p.post(bob, "newsletter_signup") // engagement 5: a lead, not an mql
	if got := p.stage(bob); got != scoring.StageLead {
		t.Fatalf("after the sign-up: %s, want lead", got)
	}
	p.sweepAt(day0.Add(179 * 24 * time.Hour))
	if got := p.stage(bob); got != scoring.StageLead {
		t.Fatalf("day 179: %s, want still lead", got)
	}
	p.sweepAt(day0.Add(180 * 24 * time.Hour))
	if got := p.stage(bob); got != scoring.StageExpired {
		t.Fatalf("day 180: %s, want expired", got)
	}
	p.clock = day0.Add(200 * 24 * time.Hour)
	p.post(bob, "page_view")
	l, err := p.store.Lead(t.Context(), leadscore.LeadID(bob))
	if err != nil {
		t.Fatal(err)
	}
	if sweep.ViewOf(t, p.store, l).Stage != scoring.StageLead {
		t.Fatalf("after a new event: %s, want lead", sweep.ViewOf(t, p.store, l).Stage)
	}
	h := sweep.ViewOf(t, p.store, l).StageHistory
	if len(h) < 2 || h[len(h)-2].To != scoring.StageExpired || h[len(h)-1].From != scoring.StageExpired || h[len(h)-1].To != scoring.StageLead {
		t.Fatalf("stage history %+v: want ... -> expired -> lead", h)
	}
}
