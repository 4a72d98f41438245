package sweep

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/leadscore/leadscore/shared/logging"
	"github.com/leadscore/leadscore/shared/metrics"
	"github.com/leadscore/leadscore/shared/mock"
)

// TestSweepRefusesTimesOutsideItsRange: outside local mode a sweep time
// ahead of the wall clock would expire and nurture leads early (and they
// would keep it), and a time past 2262 overflows nanosecond clocks (9999
// came out as 1816); both are refused with an error naming the range,
// before any lead is touched (docs/api.md "Scheduled sweep").
func TestSweepRefusesTimesOutsideItsRange(t *testing.T) {
	wall := time.Now().UTC()
	f := freshMock(t)
	f.putLead(t, "ld_000000000000000000000001", wall.Add(-time.Hour))
	for _, at := range []time.Time{
		wall.Add(48 * time.Hour),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC),
	} {
		_, err := f.h.Handle(t.Context(), scheduled(at))
		if err == nil || !strings.Contains(err.Error(), "outside") {
			t.Errorf("sweep at %s: %v, want an error naming the accepted range", at.Format(time.RFC3339), err)
		}
	}
	if got := f.queue.Take(); len(got) != 0 {
		t.Fatalf("refused sweeps enqueued %d evaluations", len(got))
	}
	if _, err := f.h.Handle(t.Context(), scheduled(wall)); err != nil {
		t.Fatalf("a sweep at the wall clock: %v", err)
	}
	if got := f.queue.Take(); len(got) != 1 {
		t.Errorf("a sweep at the wall clock enqueued %d evaluations, want the due lead's", len(got))
	}
}

// TestLocalSweepAcceptsAFutureClock: in local mode a hand-edited future
// time is how nurture and expiry are tried, so it is accepted, up to the
// local limit that keeps clocks from overflowing.
func TestLocalSweepAcceptsAFutureClock(t *testing.T) {
	wall := time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)
	q := &mock.ScoreQueue{}
	h, err := New(Options{Due: &mock.Store{}, Queue: q, Logger: logging.New(io.Discard, "sweep-test", "info"),
		Metrics: metrics.New(io.Discard, "sweep-test"), Local: true, Now: func() time.Time { return wall }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Handle(t.Context(), scheduled(wall.Add(400*24*time.Hour))); err != nil {
		t.Errorf("a local sweep 400 days ahead: %v", err)
	}
	if _, err := h.Handle(t.Context(), scheduled(time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC))); err == nil || !strings.Contains(err.Error(), "outside") {
		t.Errorf("a local sweep in 9999: %v, want an error naming the accepted range", err)
	}
}
