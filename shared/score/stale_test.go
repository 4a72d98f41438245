package score

import (
	"context"
	"testing"
	"time"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// staleReads is the real store, except that PeekLead answers with a copy
// read earlier: DynamoDB Local never serves a stale eventually consistent
// read, and these tests need one.
type staleReads struct {
	leadscore.ScoreStore
	stale map[string]*leadscore.LeadRecord
	peeks int
}

func (s *staleReads) PeekLead(ctx context.Context, id string) (*leadscore.LeadRecord, error) {
	s.peeks++
	if rec, ok := s.stale[id]; ok {
		cp := *rec
		return &cp, nil
	}
	return s.ScoreStore.PeekLead(ctx, id)
}

// snapshot reads a lead as it is now, to be served stale later.
func snapshot(t *testing.T, st leadscore.ScoreStore, id string) *leadscore.LeadRecord {
	t.Helper()
	rec, err := st.ReadLead(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestStaleFirstReadCannotLoseAnUpdate: a batch that starts from a stale
// copy of the lead loses its versioned write, re-reads consistently and
// applies its event to the current lead, so nothing written in between is
// lost and nothing is counted twice.
func TestStaleFirstReadCannotLoseAnUpdate(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	e := newEnv(t, t0)
	const email = "stale@acme.io"
	id := leadscore.LeadID(email)
	a := event("st-a", "form_submit", email, "", t0.Add(-3*time.Hour), nil)
	a.Lead = fitAttrs
	b := event("st-b", "webinar_attend", email, "", t0.Add(-2*time.Hour), nil)
	c := event("st-c", "content_download", email, "", t0.Add(-time.Hour), map[string]any{"funnel_stage": "bottom"})

	handle := func(msgs ...leadscore.ScoreMessage) {
		t.Helper()
		resp, err := e.h.Handle(t.Context(), batch(t, msgs...))
		if err != nil || len(resp.BatchItemFailures) > 0 {
			t.Fatalf("batch: %v, %d failures", err, len(resp.BatchItemFailures))
		}
	}
	handle(evMsg(a))
	old := snapshot(t, e.store, id)
	handle(evMsg(b))

	stale := &staleReads{ScoreStore: e.store, stale: map[string]*leadscore.LeadRecord{id: old}}
	e.h.store = stale
	handle(evMsg(c))
	if stale.peeks == 0 {
		t.Fatal("the handler never used PeekLead")
	}

	got, err := e.store.Lead(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	want := fromScratch([]*scoring.Event{a, b, c}, t0)
	if viewOf(t, e.store, got).Score != want.Score {
		t.Fatalf("after a batch from a stale read: score %+v, want %+v (scoring a, b and c from scratch)", viewOf(t, e.store, got).Score, want.Score)
	}
}

// TestEvaluateOfALeadTooNewForAStaleReadIsNotSkipped: an evaluate message
// whose eventually consistent read does not see the lead yet must not be
// dropped as "lead gone" on that word alone.
func TestEvaluateOfALeadTooNewForAStaleReadIsNotSkipped(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	e := newEnv(t, t0)
	const email = "fresh@acme.io"
	id := leadscore.LeadID(email)
	form := event("fr-form", "form_submit", email, "", t0, nil)
	form.Lead = fitAttrs
	demo := event("fr-demo", "demo_request", email, "", t0, nil)
	notYet := snapshot(t, e.store, id) // before the lead exists
	resp, err := e.h.Handle(t.Context(), batch(t, evMsg(form), evMsg(demo)))
	if err != nil || len(resp.BatchItemFailures) > 0 {
		t.Fatalf("events: %v %+v", err, resp)
	}
	drainHandoffs(t, e)

	// The sweep's evaluation 15 days later (nurture is due), read stale.
	e.h.store = &staleReads{ScoreStore: e.store, stale: map[string]*leadscore.LeadRecord{id: notYet}}
	later := t0.Add(15 * 24 * time.Hour)
	resp, err = e.h.Handle(t.Context(), batch(t, leadscore.ScoreMessage{Kind: leadscore.KindEvaluate, LeadID: id, Now: later}))
	if err != nil || len(resp.BatchItemFailures) > 0 {
		t.Fatalf("evaluate: %v %+v", err, resp)
	}
	got, err := e.store.Lead(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if viewOf(t, e.store, got).Stage != scoring.StageNurture {
		t.Fatalf("stage %s after the evaluation, want nurture: the evaluation was skipped", viewOf(t, e.store, got).Stage)
	}
}
