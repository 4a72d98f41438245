package mock_test

import (
	"errors"
	"testing"
	"time"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/mock"
	"github.com/leadscore/leadscore/shared/scoring"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// TestStoreKeepsTheScoreStorePromises: the promises handler tests rely on
// (shared/dynamodb's tests prove the same of the real table).
func TestStoreKeepsTheScoreStorePromises(t *testing.T) {
	s := &mock.Store{}
	ctx := t.Context()
	id := leadscore.LeadID("ada@example.com")

	ev := scoring.Event{EventID: "e1", Type: "page_view", Email: "ada@example.com", OccurredAt: t0}
	first := s.RecordEvents(ctx, id, []scoring.Event{ev}, t0)
	again := s.RecordEvents(ctx, id, []scoring.Event{ev}, t0.Add(time.Minute))
	if !first[0].Created || again[0].Created || !again[0].ReceivedAt.Equal(t0) {
		t.Fatalf("records: first %+v, again %+v; want created once, received at the first time", first[0], again[0])
	}

	a, _ := s.ReadLead(ctx, id)
	b, _ := s.ReadLead(ctx, id)
	if a.Exists || a.State.Stage() != scoring.StageLead {
		t.Fatalf("a lead never written: exists %v stage %s", a.Exists, a.State.Stage())
	}
	a.View = leadscore.LeadView{Stage: scoring.StageLead, RulesVersion: 0, EvaluatedAt: t0}
	if err := s.WriteLead(ctx, a, t0); err != nil || a.Version != 1 || !a.Exists {
		t.Fatalf("first write: %v, version %d", err, a.Version)
	}
	if err := s.WriteLead(ctx, b, t0); !errors.Is(err, leadscore.ErrConflict) {
		t.Fatalf("a second writer of a new lead: %v, want ErrConflict", err)
	}
	got, err := s.ReadLead(ctx, id)
	if err != nil || got.Version != 1 || got.View.Stage != "" || !got.EvaluatedAt.Equal(t0) {
		t.Fatalf("read back: %+v %v; want version 1, the evaluation time, no view", got, err)
	}
	a.State.Apply([]scoring.Event{ev}, scoring.DefaultRules())
	if later, _ := s.ReadLead(ctx, id); !later.State.LastActivityAt().IsZero() {
		t.Fatal("a change to the written record after the write reached the stored copy")
	}

	if err := s.EraseLead(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadLead(ctx, id); !errors.Is(err, leadscore.ErrErased) {
		t.Fatalf("read after erasure: %v, want ErrErased", err)
	}
	if h, _ := s.EventHistory(ctx, id); len(h) != 0 {
		t.Fatalf("history after erasure: %d events", len(h))
	}
}

func TestQueuesRecordAndRefuse(t *testing.T) {
	q := &mock.ScoreQueue{Refuse: func(m leadscore.ScoreMessage) bool { return m.LeadID == "ld_refused" }}
	failed, err := q.EnqueueScore(t.Context(), []leadscore.ScoreMessage{{LeadID: "ld_a"}, {LeadID: "ld_refused"}})
	if !errors.Is(err, mock.ErrRefused) || len(failed) != 1 || failed[0] != 1 {
		t.Fatalf("failed %v %v, want [1] and ErrRefused", failed, err)
	}
	if got := q.Take(); len(got) != 1 || got[0].LeadID != "ld_a" || len(q.Take()) != 0 {
		t.Fatalf("drained %+v, want ld_a once", got)
	}
}
