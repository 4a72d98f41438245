// Package sweep is the scheduled nurture and expiry sweep. It changes no lead
// itself: it finds the leads whose due time has come and asks the score
// function to evaluate them at the schedule's clock, so every lead change
// goes through one code path with one locking scheme (docs/architecture.md
// invariant 4).
package sweep

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/logging"
	"github.com/leadscore/leadscore/shared/metrics"
)

// pageSize is how many due leads one index query returns: ten queue batches.
const pageSize = 100

// Options are a Handler's dependencies and settings. Due, Queue, Logger
// and Metrics are required.
type Options struct {
	Due     leadscore.DueFinder
	Queue   leadscore.ScoreQueue
	Logger  *slog.Logger
	Metrics *metrics.Recorder
	// Margin is how long before the invocation's deadline the sweep stops
	// starting new pages; what is left stays due and the next run takes it.
	Margin time.Duration
	// Local is the local stack's mode (LEADSCORE_LOCAL=1): there a sweep
	// time ahead of the wall clock is accepted, to try nurture and expiry.
	Local bool
	// Now is the wall clock a sweep's time is checked against; time.Now
	// when nil.
	Now func() time.Time
}

// The sweep times a sweep accepts (docs/api.md "Scheduled sweep").
const (
	// MaxAhead is how far ahead of the wall clock a sweep's time may be
	// outside local mode: the clock skew an event's occurred_at is allowed
	// too. A sweep further ahead would expire and nurture leads early.
	MaxAhead = 5 * time.Minute
)

var (
	// earliest is the earliest sweep time, as for an event's occurred_at.
	earliest = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	// latestLocal bounds a hand-edited time in local mode: far enough to
	// try any timer, well before 2262, where nanosecond clocks overflow
	// (a sweep at 9999-12-31 evaluated leads in 1816).
	latestLocal = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Handler runs one sweep per scheduled event. Build it with New.
type Handler struct {
	due     leadscore.DueFinder
	queue   leadscore.ScoreQueue
	log     *slog.Logger
	metrics *metrics.Recorder
	margin  time.Duration
	local   bool
	wall    func() time.Time
}

// New checks o's dependencies and returns a Handler. Call it once per
// process: a missing dependency fails the cold start, not a sweep.
func New(o Options) (*Handler, error) {
	switch {
	case o.Due == nil:
		return nil, errors.New("sweep: Options.Due (the due index) is nil")
	case o.Queue == nil:
		return nil, errors.New("sweep: Options.Queue (the score queue) is nil")
	case o.Logger == nil:
		return nil, errors.New("sweep: Options.Logger is nil")
	case o.Metrics == nil:
		return nil, errors.New("sweep: Options.Metrics is nil")
	}
	wall := o.Now
	if wall == nil {
		wall = time.Now
	}
	return &Handler{due: o.Due, queue: o.Queue, log: o.Logger, metrics: o.Metrics, margin: o.Margin, local: o.Local, wall: wall}, nil
}

// Summary is what one sweep did; it is also the invocation's result, so a
// person invoking the sweep by hand sees it.
type Summary struct {
	Now      time.Time `json:"now"`
	Due      int       `json:"due"`
	Enqueued int       `json:"enqueued"`
	Failed   int       `json:"failed"`
	// Complete is false when the sweep stopped for its deadline with shards
	// left; they stay due and the next scheduled run continues.
	Complete     bool    `json:"complete"`
	ReadCapacity float64 `json:"read_capacity_units"`
}

// Handle sweeps with now = the scheduled event's time (docs/api.md
// "Scheduled sweep"): invoking it by hand with an edited time is how nurture
// and expiry are tested.
func (h *Handler) Handle(ctx context.Context, ev events.EventBridgeEvent) (Summary, error) {
	log := logging.ForInvocation(ctx, h.log).With("correlation_id", ev.ID)
	start := time.Now()
	if ev.Time.IsZero() {
		return Summary{}, fmt.Errorf("scheduled event %q has no time: the sweep's clock is the event's time field", ev.ID)
	}
	now := ev.Time.UTC()
	if err := h.checkTime(now); err != nil {
		return Summary{}, fmt.Errorf("scheduled event %q: %w", ev.ID, err)
	}
	sum := Summary{Now: now, Complete: true}

	// Rotate the first shard with the clock, so that when a run stops for
	// its deadline the next one does not starve the same shards again.
	shards := h.due.DueShards()
	first := int(now.Unix()/60) % shards
	for i := range shards {
		shard := (first + i) % shards
		if !h.sweepShard(ctx, log, shard, now, &sum) {
			sum.Complete = false
			break
		}
	}

	h.metrics.Count("SweepDueLeads", float64(sum.Due))
	h.metrics.Count("SweepEnqueueFailures", float64(sum.Failed))
	h.metrics.Add("SweepReadCapacityUnits", metrics.UnitCount, sum.ReadCapacity)
	h.metrics.Milliseconds("SweepLatency", time.Since(start))
	h.metrics.Flush()
	log.Info("sweep done", "now", now, "due", sum.Due, "enqueued", sum.Enqueued,
		"failed", sum.Failed, "complete", sum.Complete, "read_capacity_units", sum.ReadCapacity)
	if sum.Failed > 0 {
		// A failed run is retried by the scheduler; the leads are still due.
		return sum, fmt.Errorf("sweep at %s: %d of %d due leads could not be enqueued", now.Format(time.RFC3339), sum.Failed, sum.Due)
	}
	return sum, nil
}

// sweepShard enqueues every due lead of one shard; it reports false when it
// stopped for the deadline.
// checkTime refuses a sweep time outside the accepted range, before any
// lead is touched: a clock ahead of the wall clock would decide expiries
// and nurture moves early, and one past 2262 overflows.
func (h *Handler) checkTime(now time.Time) error {
	latest, why := h.wall().UTC().Add(MaxAhead), fmt.Sprintf("%s after the wall clock", MaxAhead)
	if h.local {
		latest, why = latestLocal, "the local limit"
	}
	if now.Before(earliest) || now.After(latest) {
		hint := ""
		if !h.local {
			hint = "; a sweep ahead of the clock would expire and nurture leads early (LEADSCORE_LOCAL=1 allows a future time, to try timers locally)"
		}
		return fmt.Errorf("sweep time %s is outside the accepted range %s to %s (%s)%s",
			now.Format(time.RFC3339), earliest.Format(time.RFC3339), latest.Format(time.RFC3339), why, hint)
	}
	return nil
}

func (h *Handler) sweepShard(ctx context.Context, log *slog.Logger, shard int, now time.Time, sum *Summary) bool {
	cursor := ""
	for {
		if h.nearDeadline(ctx) {
			return false
		}
		ids, next, consumed, err := h.due.DueLeads(ctx, shard, now, pageSize, cursor)
		sum.ReadCapacity += consumed
		if err != nil {
			log.Error("due index query failed", "shard", shard, "error", err)
			sum.Failed++
			return true
		}
		if len(ids) > 0 {
			msgs := make([]leadscore.ScoreMessage, len(ids))
			for i, id := range ids {
				msgs[i] = leadscore.ScoreMessage{Kind: leadscore.KindEvaluate, LeadID: id, Now: now}
				if acct, ok := leadscore.DueAccount(id); ok {
					// An account with unsent transitions: evaluated and
					// its outbox sent again.
					msgs[i] = leadscore.ScoreMessage{Kind: leadscore.KindAccount, AccountID: acct, Now: now}
				}
			}
			failed, err := h.queue.EnqueueScore(ctx, msgs)
			if err != nil {
				log.Error("enqueue evaluations failed", "shard", shard, "error", err)
			}
			sum.Due += len(ids)
			sum.Failed += len(failed)
			sum.Enqueued += len(ids) - len(failed)
		}
		if next == "" {
			return true
		}
		cursor = next
	}
}

func (h *Handler) nearDeadline(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	deadline, ok := ctx.Deadline()
	return ok && time.Until(deadline) < h.margin
}
