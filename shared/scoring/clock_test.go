package scoring

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestAFutureClockNeverStrandsALead: an evaluation with a clock far ahead
// (a sweep invoked with a future time) expires an idle lead "in the
// future". When the clock comes back and the lead raises a hand, the lead
// must still move: revive and become an MQL (docs/scoring.md section 4, "A
// clock that goes backwards"). Property over how far ahead the clock went
// and when the hand-raise comes.
func TestAFutureClockNeverStrandsALead(t *testing.T) {
	r := DefaultRules()
	rng := rand.New(rand.NewPCG(7, 11))
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	vp := map[string]any{"job_title": "VP Marketing", "company_size": 500.0, "industry": "software", "country": "US"}
	for i := 0; i < 300; i++ {
		s := NewLeadState()
		s.Apply([]Event{{EventID: "visit", Type: "page_view", OccurredAt: t0, Email: "ada@acme.example",
			Properties: map[string]any{"url": "/blog"}}}, r)
		s.Evaluate(r, t0)
		ahead := t0.Add(time.Duration(181+rng.IntN(3000)) * 24 * time.Hour)
		if res := s.Evaluate(r, ahead); res.Stage != StageExpired {
			t.Fatalf("a lead idle until %s is %s, want expired (the setup)", ahead.Format(time.DateOnly), res.Stage)
		}
		now := t0.Add(time.Duration(1+rng.IntN(60*24)) * time.Minute)
		s.Apply([]Event{{EventID: "demo", Type: "demo_request", OccurredAt: now, Email: "ada@acme.example", Lead: vp}}, r)
		res := s.Evaluate(r, now)
		if res.Stage != StageMQL {
			t.Fatalf("expired at %s by a clock ahead, then a hand-raise at %s: stage %s with fit %v, want mql",
				ahead.Format(time.DateOnly), now.Format(time.RFC3339), res.Stage, res.Score.Fit)
		}
		if again := s.Evaluate(r, now); len(again.Transitions) != 0 {
			t.Fatalf("evaluating again at the same now moved the lead: %+v", again.Transitions)
		}
	}
}
