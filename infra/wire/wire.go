// Package wire builds the functions' handlers over one table and its
// queues the way functions/*/main.go wires them, for the tests that run the
// pipeline in one process (infra/chaos, shared/sweep's lifecycle test): one
// place to change when a handler gains a dependency. A handler package's
// own tests build only their handler (they cannot import this package,
// which imports them).
package wire

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/leadscore/leadscore/infra/emulators"
	"github.com/leadscore/leadscore/shared/api"
	"github.com/leadscore/leadscore/shared/config"
	"github.com/leadscore/leadscore/shared/dynamodb"
	"github.com/leadscore/leadscore/shared/handoff"
	"github.com/leadscore/leadscore/shared/ingest"
	"github.com/leadscore/leadscore/shared/logging"
	"github.com/leadscore/leadscore/shared/metrics"
	"github.com/leadscore/leadscore/shared/score"
	"github.com/leadscore/leadscore/shared/sqs"
	"github.com/leadscore/leadscore/shared/sweep"
)

// The functions' logical ids in template.yaml; Deps' per-function hooks
// receive them.
const (
	IngestFunction  = "IngestFunction"
	APIFunction     = "ApiFunction"
	ScoreFunction   = "ScoreFunction"
	SweepFunction   = "SweepFunction"
	HandoffFunction = "HandoffFunction"
)

// Deps are what the handlers are built over. The per-function hooks let a
// test give each function its own clients (wrapped in faults, say), log and
// metrics.
type Deps struct {
	Table           string
	ScoreQueueURL   string
	HandoffQueueURL string
	DynamoDB        func(fn string) dynamodb.API
	SQS             func(fn string) sqs.API
	Logger          func(fn string) *slog.Logger
	Metrics         func(fn string) *metrics.Recorder
	// Now is the ingest and score functions' clock; time.Now when nil.
	Now func() time.Time
	// SigningNow is the clock the handoff function signs webhooks with
	// (their X-Timestamp); time.Now when nil, as receivers check it
	// against their own clock.
	SigningNow func() time.Time
	// APIKey guards the ingestion and API routes.
	APIKey string
	// Forms are the ingest function's form settings; Local is the local
	// mode (the demo page; a sweep time ahead of the clock), as the local
	// stack sets them.
	Forms map[string]config.Form
	Local bool
	// Webhooks are the handoff function's receivers and secret.
	Webhooks config.Config
	// EventRetention is the score function's store's (zero: forever).
	EventRetention time.Duration
	// RescoreSettle is the api function's (leadscore.RescoreSettle when
	// zero; negative: none).
	RescoreSettle time.Duration
	// RulesTTL is the score function's rules cache TTL (the default when
	// zero); tests shorten it to play a publish's stale window.
	RulesTTL time.Duration
	// SweepMargin and HandoffRetryBase shorten the sweep's deadline margin
	// and the handoff's first retry delay for tests.
	SweepMargin      time.Duration
	HandoffRetryBase time.Duration
}

// Handlers are the functions' handlers.
type Handlers struct {
	Ingest  *ingest.Handler
	API     *api.Handler
	Score   *score.Handler
	Sweep   *sweep.Handler
	Handoff *handoff.Handler
}

// Emulated returns Deps over st: plain clients of the emulators, logs and
// metrics discarded, a test API key. Callers change what their test needs.
func Emulated(ctx context.Context, st *emulators.Stack) (Deps, error) {
	cfg, err := st.AWSConfig(ctx)
	if err != nil {
		return Deps{}, err
	}
	ddb, q := awsdynamodb.NewFromConfig(cfg), awssqs.NewFromConfig(cfg)
	return Deps{
		Table: st.TableName, ScoreQueueURL: st.ScoreQueueURL, HandoffQueueURL: st.HandoffQueueURL,
		DynamoDB: func(string) dynamodb.API { return ddb },
		SQS:      func(string) sqs.API { return q },
		Logger:   func(fn string) *slog.Logger { return logging.New(io.Discard, fn, "info") },
		Metrics:  func(fn string) *metrics.Recorder { return metrics.New(io.Discard, fn) },
		APIKey:   "wire-test-api-key",
	}, nil
}

// Build wires the handlers as functions/*/main.go does.
func Build(d Deps) (*Handlers, error) {
	if d.DynamoDB == nil || d.SQS == nil || d.Logger == nil || d.Metrics == nil {
		return nil, errors.New("wire: Deps needs DynamoDB, SQS, Logger and Metrics")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	store := func(fn string) *dynamodb.Store { return dynamodb.New(d.DynamoDB(fn), d.Table) }
	queues := func(fn string) *sqs.Queues { return sqs.NewQueuesFrom(d.SQS(fn), d.ScoreQueueURL, d.HandoffQueueURL) }
	var hs Handlers
	var err error

	if hs.Ingest, err = ingest.New(ingest.Options{Queue: queues(IngestFunction), Rules: store(IngestFunction),
		APIKey: d.APIKey, Forms: d.Forms, Local: d.Local, Logger: d.Logger(IngestFunction), Metrics: d.Metrics(IngestFunction), Now: d.Now}); err != nil {
		return nil, err
	}

	as := store(APIFunction)
	if hs.API, err = api.New(api.Options{Leads: as, Eraser: as, Rules: as, Rescores: as, Reports: as, History: as, Previews: as, Events: as, Accounts: as, Members: as, Queue: queues(APIFunction),
		APIKey: d.APIKey, Logger: d.Logger(APIFunction), Metrics: d.Metrics(APIFunction), Now: d.Now,
		RescoreSettle: d.RescoreSettle}); err != nil {
		return nil, err
	}

	ss, sq := store(ScoreFunction), queues(ScoreFunction)
	ss.EventRetention = d.EventRetention
	if hs.Score, err = score.New(score.Options{Store: ss, Rules: ss, Handoff: sq, Rescore: ss, Queue: sq, Eraser: ss, Reports: ss, Accounts: ss,
		Usage: dynamodb.MeterInvocation, Logger: d.Logger(ScoreFunction), Metrics: d.Metrics(ScoreFunction), Now: d.Now,
		RulesTTL: d.RulesTTL}); err != nil {
		return nil, err
	}

	// The sweep checks its time against d.Now, the tests' clock, as the
	// deployed sweep checks it against the wall clock.
	if hs.Sweep, err = sweep.New(sweep.Options{Due: store(SweepFunction), Queue: queues(SweepFunction),
		Logger: d.Logger(SweepFunction), Metrics: d.Metrics(SweepFunction), Margin: d.SweepMargin,
		Local: d.Local, Now: d.Now}); err != nil {
		return nil, err
	}

	hooks := d.Webhooks
	hooks.HandoffQueueURL = d.HandoffQueueURL
	if hs.Handoff, err = handoff.New(handoff.Options{Config: hooks, Visibility: queues(HandoffFunction),
		Logger: d.Logger(HandoffFunction), Metrics: d.Metrics(HandoffFunction), Now: d.SigningNow, RetryBase: d.HandoffRetryBase}); err != nil {
		return nil, err
	}
	return &hs, nil
}
