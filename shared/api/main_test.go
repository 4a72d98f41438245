package api

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/leadscore/leadscore/infra/emulators"
	"github.com/leadscore/leadscore/shared/dynamodb"
	"github.com/leadscore/leadscore/shared/httpapi"
	"github.com/leadscore/leadscore/shared/httpapi/httpapitest"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/logging"
	"github.com/leadscore/leadscore/shared/metrics"
	"github.com/leadscore/leadscore/shared/mock"
	lssqs "github.com/leadscore/leadscore/shared/sqs"
)

var stack *emulators.Stack

// TestMain starts the emulators unless -short (make unit), fuzzing or
// benchmarks only: the handler then runs over shared/mock. Otherwise the
// same tests run against the real table and queue, and the emulator-only
// ones run too.
func TestMain(m *testing.M) { emulators.RunTestsOverMocks(m, &stack) }

const testKey = "test-key"

// testNow is the handler's clock in tests.
var testNow = time.Date(2026, 11, 22, 10, 15, 0, 0, time.UTC)

// The request helpers of shared/httpapi/httpapitest, by their short names.
var (
	load        = httpapitest.Load
	withBody    = httpapitest.WithBody
	withHeader  = httpapitest.WithHeader
	decodeError = httpapitest.DecodeError
	fields      = httpapitest.Fields
)

// env is one handler over the emulators (freshly reset) when they run, else
// over shared/mock.
type env struct {
	h       *Handler
	opts    Options
	logs    *bytes.Buffer
	metrics *bytes.Buffer
	store   *dynamodb.Store  // nil over mocks
	leads   *mock.Store      // nil over the emulators
	queue   *mock.ScoreQueue // nil over the emulators
	sqs     *awssqs.Client   // nil over mocks
}

func newEnv(t *testing.T, tweak ...func(*Options)) *env {
	t.Helper()
	e := &env{logs: &bytes.Buffer{}, metrics: &bytes.Buffer{}}
	e.opts = Options{
		APIKey:  testKey,
		Logger:  logging.New(e.logs, "api", "debug"),
		Metrics: metrics.New(e.metrics, "api"),
		Now:     func() time.Time { return testNow },
		// The tests read the rescore's first page message at once.
		RescoreSettle: -1,
	}
	if stack == nil {
		e.leads, e.queue = &mock.Store{}, &mock.ScoreQueue{}
		e.opts.Leads, e.opts.Eraser = e.leads, e.leads
		// Pages of 3: every shard is read over several pages.
		e.opts.Reports = &mock.ReportStore{Leads: e.leads, PageLimit: 3}
		rules := &mock.RulesStore{}
		e.opts.Rules, e.opts.History, e.opts.Rescores, e.opts.Queue = rules, rules, &mock.RescoreStore{}, e.queue
		e.opts.Events = e.leads
		accounts := &mock.AccountStore{}
		e.opts.Accounts, e.opts.Members = accounts, accounts
	} else {
		if err := stack.Reset(t.Context()); err != nil {
			t.Fatal(err)
		}
		cfg, err := stack.AWSConfig(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		e.store = dynamodb.New(awsddb.NewFromConfig(cfg), stack.TableName)
		e.sqs = awssqs.NewFromConfig(cfg)
		e.opts.Leads, e.opts.Eraser, e.opts.Reports, e.opts.Rules, e.opts.Rescores = e.store, e.store, e.store, e.store, e.store
		e.opts.Accounts, e.opts.Members = e.store, e.store
		e.opts.History, e.opts.Previews, e.opts.Events = e.store, e.store, e.store
		e.opts.Queue = lssqsQueues(e.sqs)
	}
	for _, f := range tweak {
		f(&e.opts)
	}
	h, err := New(e.opts)
	if err != nil {
		t.Fatal(err)
	}
	e.h = h
	return e
}

// do sends req through Handle, and fails the test if any log line it wrote
// carries an email address or a 5xx carries internals.
func (e *env) do(t *testing.T, req httpapi.Request) httpapi.Response {
	t.Helper()
	resp, err := e.h.Handle(t.Context(), req)
	if err != nil {
		t.Fatalf("Handle returned an error: %v", err)
	}
	httpapitest.CheckAnswer(t, resp, e.logs.String())
	return resp
}

// received drains the score queue, expecting want messages.
func (e *env) received(t *testing.T, want int) []leadscore.ScoreMessage {
	t.Helper()
	var out []leadscore.ScoreMessage
	if e.queue != nil {
		out = e.queue.Take()
	}
	if e.sqs != nil {
		msgs, err := stack.Take(t.Context(), stack.ScoreQueueURL, want)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			var msg leadscore.ScoreMessage
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &msg); err != nil {
				t.Fatalf("queued body %q: %v", aws.ToString(m.Body), err)
			}
			out = append(out, msg)
		}
	}
	if len(out) != want {
		t.Fatalf("score queue held %d messages, want %d", len(out), want)
	}
	return out
}

// lssqsQueues is the score queue as functions/api wires it: no urgent or
// handoff queue.
func lssqsQueues(c *awssqs.Client) leadscore.ScoreQueue {
	return lssqs.NewQueues(c, stack.ScoreQueueURL, "")
}

// readLead returns lead id as the score function reads it for an update:
// stored, or new when absent.
func (e *env) readLead(t *testing.T, id string) *leadscore.LeadRecord {
	t.Helper()
	if e.store != nil {
		rec, err := e.store.ReadLead(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	rec, err := e.leads.ReadLead(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// writeLead stores rec as the score function writes it.
func (e *env) writeLead(t *testing.T, rec *leadscore.LeadRecord) {
	t.Helper()
	if e.store != nil {
		if err := e.store.WriteLead(t.Context(), rec, testNow); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err := e.leads.WriteLead(t.Context(), rec, testNow); err != nil {
		t.Fatal(err)
	}
}
