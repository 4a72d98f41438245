package dynamodb

import (
	"fmt"
	"testing"
	"time"

	"github.com/leadscore/leadscore/infra/emulators"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

func TestListingKeyIsTheBand(t *testing.T) {
	for _, c := range []struct {
		e    float64
		want string
	}{{0, "0"}, {24.99, "0"}, {25, "25"}, {57.25, "50"}, {-3, "-25"}, {120, "100"}} {
		if got := ListingKey(c.e); got != c.want {
			t.Errorf("ListingKey(%v) = %s, want %s", c.e, got, c.want)
		}
	}
}

// browsingLead is a lead in stage lead with a form fill and pageViews blog
// page views an hour before t0: engagement about 10 + pageViews.
func browsingLead(t *testing.T, s *Store, id string, pageViews int) *leadscore.LeadRecord {
	t.Helper()
	rec, err := s.ReadLead(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	rec.Email = id + "@example.com"
	evs := []scoring.Event{ev(id+"-form", "form_submit", rec.Email, t0.Add(-time.Hour))}
	for i := range pageViews {
		e := ev(fmt.Sprintf("%s-%d", id, i), "page_view", rec.Email, t0.Add(-time.Hour))
		e.Properties = map[string]any{"url": "/blog/post"}
		evs = append(evs, e)
	}
	r := scoring.DefaultRules()
	rec.State.Apply(evs, r)
	rec.View = leadscore.BuildView(id, rec.Email, rec.State, rec.State.Evaluate(r, t0), r.Version, t0)
	return rec
}

// A lead write whose engagement stays in its band leaves the stage-index
// entry alone, so DynamoDB charges the table write only; crossing into the
// next band moves the entry (a delete and a put).
func TestListingIndexIsWrittenOnlyWhenTheBandChanges(t *testing.T) {
	emulators.Need(t)
	s := newStore(t)
	rec := browsingLead(t, s, "ld_"+t.Name(), 1)
	write := func(engagement float64) float64 {
		t.Helper()
		m := &CapacityMeter{}
		rec.View.Score.Engagement = engagement
		if err := s.WriteLead(WithMeter(t.Context(), m), rec, t0); err != nil {
			t.Fatal(err)
		}
		return m.Total()
	}
	first := write(26.5)
	same := write(49.25)
	next := write(51)
	if same != 1 {
		t.Errorf("a write within the band cost %v units, want 1 (the table only; first write %v)", same, first)
	}
	if next <= same {
		t.Errorf("a write into the next band cost %v units, want more than the %v of a write within it", next, same)
	}
}
