package sweep

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/logging"
	"github.com/leadscore/leadscore/shared/metrics"
	"github.com/leadscore/leadscore/shared/mock"
)

// dueList is a due index of one shard holding fixed ids.
type dueList []string

func (d dueList) DueShards() int      { return 1 }
func (d dueList) DueShard(string) int { return 0 }
func (d dueList) DueLeads(context.Context, int, time.Time, int, string) ([]string, string, float64, error) {
	return d, "", 0, nil
}

// TestDueAccountIsEvaluatedAsAnAccount: an account the due index returns
// (its outbox has an unsent transition) gets an account message, a lead an
// evaluate message, both at the schedule's clock.
func TestDueAccountIsEvaluatedAsAnAccount(t *testing.T) {
	q := &mock.ScoreQueue{}
	h, err := New(Options{Due: dueList{"ld_0123456789abcdef01234567", leadscore.DueAccountID("sf-001")}, Queue: q,
		Logger: logging.New(io.Discard, "sweep-test", "info"), Metrics: metrics.New(io.Discard, "sweep-test")})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	if _, err := h.Handle(t.Context(), scheduled(now)); err != nil {
		t.Fatal(err)
	}
	got := q.Take()
	if len(got) != 2 || got[0].Kind != leadscore.KindEvaluate || got[1].Kind != leadscore.KindAccount ||
		got[1].AccountID != "sf-001" || got[1].LeadID != "" || !got[1].Now.Equal(now) || len(got[1].Members) != 0 {
		t.Errorf("messages %+v, want an evaluate of the lead and an account message for sf-001 at %s", got, now)
	}
}
