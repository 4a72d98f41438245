package sweep

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/leadscore/leadscore/infra/emulators"
	"github.com/leadscore/leadscore/shared/dynamodb"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/logging"
	"github.com/leadscore/leadscore/shared/metrics"
	"github.com/leadscore/leadscore/shared/mock"
	"github.com/leadscore/leadscore/shared/scoring"
	"github.com/leadscore/leadscore/shared/sqs"
)

var stack *emulators.Stack

func TestMain(m *testing.M) { emulators.RunTests(m, &stack) }

type fixture struct {
	ddb   *awsddb.Client // nil over the mocks
	sqs   *awssqs.Client // nil over the mocks
	store interface {
		leadscore.ScoreStore
		leadscore.DueFinder
		leadscore.RulesStore
		leadscore.LeadReader
	}
	h    *Handler
	logs *bytes.Buffer
	// queue is the score queue of a fixture over the mocks.
	queue *mock.ScoreQueue
}

// fresh empties the table and queues and returns a sweep wired to them.
func fresh(tb testing.TB) *fixture {
	tb.Helper()
	emulators.Need(tb)
	ctx := context.Background()
	if err := stack.Reset(ctx); err != nil {
		tb.Fatal(err)
	}
	cfg, err := stack.AWSConfig(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	f := &fixture{ddb: awsddb.NewFromConfig(cfg), sqs: awssqs.NewFromConfig(cfg), logs: &bytes.Buffer{}}
	store := dynamodb.New(f.ddb, stack.TableName)
	f.store = store
	f.h = newHandler(tb, store, sqs.NewQueues(f.sqs, stack.ScoreQueueURL, stack.HandoffQueueURL), f.logs)
	return f
}

// freshMock returns a sweep over the in-memory mocks (make unit).
func freshMock(tb testing.TB) *fixture {
	tb.Helper()
	f := &fixture{store: &mock.Store{}, queue: &mock.ScoreQueue{}, logs: &bytes.Buffer{}}
	f.h = newHandler(tb, f.store, f.queue, f.logs)
	return f
}

func newHandler(tb testing.TB, due leadscore.DueFinder, q leadscore.ScoreQueue, logs io.Writer) *Handler {
	tb.Helper()
	h, err := New(Options{Due: due, Queue: q, Logger: logging.New(logs, "sweep-test", "info"),
		Metrics: metrics.New(io.Discard, "sweep-test"), Margin: time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// eachBackend runs test over the mocks, and over the emulators unless
// -short: the sweep's logic and the real due index agree.
func eachBackend(t *testing.T, test func(t *testing.T, f *fixture)) {
	t.Run("mock", func(t *testing.T) { test(t, freshMock(t)) })
	t.Run("emulators", func(t *testing.T) { test(t, fresh(t)) })
}

// putLead writes a lead through the store, as the score function would,
// due at due (zero: nothing due, so not in the sparse index).
func (f *fixture) putLead(t *testing.T, id string, due time.Time) {
	t.Helper()
	rec, err := f.store.ReadLead(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	rec.View = leadscore.LeadView{LeadID: id, Stage: scoring.StageMQL}
	rec.DueAt = due
	// Written an hour before it falls due, as the score function would have.
	if err := f.store.WriteLead(t.Context(), rec, due.Add(-time.Hour)); err != nil {
		t.Fatalf("write lead %s: %v", id, err)
	}
}

// evaluations drains the score queue and returns the evaluate messages.
func (f *fixture) evaluations(t *testing.T, want int) []leadscore.ScoreMessage {
	t.Helper()
	if f.queue != nil {
		return f.queue.Take()
	}
	msgs, err := stack.Take(t.Context(), stack.ScoreQueueURL, want)
	if err != nil {
		t.Fatal(err)
	}
	var out []leadscore.ScoreMessage
	for _, m := range msgs {
		var msg leadscore.ScoreMessage
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &msg); err != nil {
			t.Fatalf("score message %q: %v", aws.ToString(m.Body), err)
		}
		out = append(out, msg)
	}
	return out
}

func scheduled(now time.Time) events.EventBridgeEvent {
	return events.EventBridgeEvent{Version: "0", ID: "sweep-test", DetailType: "Scheduled Event",
		Source: "aws.scheduler", Time: now, Detail: json.RawMessage(`{}`)}
}

func TestSweepEnqueuesExactlyTheDueLeads(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fixture) {
		now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
		var want []string
		for i := range 40 {
			id := fmt.Sprintf("ld_due_%02d", i)
			switch i % 4 {
			case 0, 1: // due: in the past, or exactly now
				f.putLead(t, id, now.Add(-time.Duration(i%2)*time.Hour))
				want = append(want, id)
			case 2: // due later
				f.putLead(t, id, now.Add(time.Second))
			case 3: // nothing due: not in the sparse index
				f.putLead(t, id, time.Time{})
			}
		}

		sum, err := f.h.Handle(t.Context(), scheduled(now))
		if err != nil {
			t.Fatal(err)
		}
		if sum.Due != len(want) || sum.Enqueued != len(want) || !sum.Complete || sum.Failed != 0 {
			t.Errorf("summary %+v, want %d due, all enqueued, complete", sum, len(want))
		}

		msgs := f.evaluations(t, len(want)+1)
		var got []string
		for _, m := range msgs {
			if m.Kind != leadscore.KindEvaluate || !m.Now.Equal(now) {
				t.Errorf("message %+v: want kind evaluate at the schedule's time %s", m, now)
			}
			got = append(got, m.LeadID)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("enqueued %v\nwant     %v", got, want)
		}
	})
}

func TestSweepPagesThroughAShard(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fixture) {
		now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
		// More than one page of due leads, all in shard 0.
		var ids []string
		for i := 0; len(ids) < pageSize+30; i++ {
			id := fmt.Sprintf("ld_page_%d", i)
			if f.store.DueShard(id) == 0 {
				ids = append(ids, id)
				f.putLead(t, id, now.Add(-time.Minute))
			}
		}
		sum, err := f.h.Handle(t.Context(), scheduled(now))
		if err != nil {
			t.Fatal(err)
		}
		if sum.Enqueued != len(ids) {
			t.Errorf("enqueued %d, want %d", sum.Enqueued, len(ids))
		}
		if got := len(f.evaluations(t, len(ids)+1)); got != len(ids) {
			t.Errorf("score queue holds %d evaluations, want %d", got, len(ids))
		}
	})
}

func TestSweepStopsBeforeItsDeadline(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fixture) {
		now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
		f.putLead(t, "ld_late", now.Add(-time.Minute))
		ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(f.h.margin/2))
		defer cancel()
		sum, err := f.h.Handle(ctx, scheduled(now))
		if err != nil {
			t.Fatal(err)
		}
		if sum.Complete || sum.Enqueued != 0 {
			t.Errorf("summary %+v: want an incomplete sweep that started no page inside its margin", sum)
		}
		// What it left is still due: the next run takes it.
		sum, err = f.h.Handle(t.Context(), scheduled(now.Add(5*time.Minute)))
		if err != nil || sum.Enqueued != 1 || !sum.Complete {
			t.Errorf("next run: %+v, %v; want the lead enqueued", sum, err)
		}
	})
}

func TestSweepRejectsAnEventWithoutTime(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fixture) {
		_, err := f.h.Handle(t.Context(), events.EventBridgeEvent{ID: "no-time"})
		if err == nil {
			t.Fatal("a scheduled event without time was accepted: the sweep would run with a zero clock")
		}
	})
}

// viewOf is l's API view, computed as the API computes it: with the rules
// version l was last evaluated with.
func viewOf(t testing.TB, rules leadscore.RulesStore, l *leadscore.Lead) leadscore.LeadView {
	t.Helper()
	v, err := leadscore.NewRulesCache(rules).View(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
