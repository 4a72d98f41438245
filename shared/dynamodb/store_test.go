package dynamodb

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/leadscore/leadscore/infra/emulators"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func ev(id, typ, email string, at time.Time) scoring.Event {
	return scoring.Event{EventID: id, Type: typ, OccurredAt: at, Email: email,
		Properties: map[string]any{"url": "/pricing"}}
}

func TestRecordEventsDedupesOnceEver(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	lead := leadscore.LeadID(t.Name() + "@example.com")
	first := s.RecordEvents(ctx, lead, []scoring.Event{ev("e1", "page_view", "a@example.com", t0), ev("e2", "page_view", "a@example.com", t0)}, t0)
	for _, r := range first {
		if r.Err != nil || !r.Created {
			t.Fatalf("first record of %s: created=%v err=%v, want created", r.Event.EventID, r.Created, r.Err)
		}
	}
	// Days later, the same id with other content: not created, and the
	// stored copy and its first received_at come back.
	later := t0.Add(72 * time.Hour)
	again := s.RecordEvents(ctx, lead, []scoring.Event{ev("e1", "demo_request", "a@example.com", later)}, later)
	if again[0].Err != nil || again[0].Created {
		t.Fatalf("second record of e1: created=%v err=%v, want a duplicate", again[0].Created, again[0].Err)
	}
	if !again[0].ReceivedAt.Equal(t0) || again[0].Event.Type != "page_view" {
		t.Fatalf("duplicate came back as received %s type %s, want the stored %s page_view", again[0].ReceivedAt, again[0].Event.Type, t0)
	}
	hist, err := s.EventHistory(ctx, lead)
	if err != nil || len(hist) != 2 {
		t.Fatalf("history: %d events, %v; want 2", len(hist), err)
	}
}

func TestWriteLeadIsConditionalOnVersion(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	id := leadscore.LeadID(t.Name() + "@example.com")
	a, err := s.ReadLead(ctx, id)
	if err != nil || a.Exists {
		t.Fatalf("read of a new lead: exists=%v err=%v", a.Exists, err)
	}
	b, _ := s.ReadLead(ctx, id)
	r := scoring.DefaultRules()
	for _, rec := range []*leadscore.LeadRecord{a, b} {
		rec.Email = "x@example.com"
		rec.State.Apply([]scoring.Event{ev("e1", "page_view", "x@example.com", t0)}, r)
		res := rec.State.Evaluate(r, t0)
		rec.View = leadscore.BuildView(id, rec.Email, rec.State, res, 0, t0)
		rec.DueAt = res.DueAt
	}
	if err := s.WriteLead(ctx, a, t0); err != nil {
		t.Fatalf("first create: %v", err)
	}
	if err := s.WriteLead(ctx, b, t0); !errors.Is(err, leadscore.ErrConflict) {
		t.Fatalf("second create: %v, want ErrConflict", err)
	}
	c, err := s.ReadLead(ctx, id)
	if err != nil || !c.Exists || c.Version != 1 {
		t.Fatalf("reread: exists=%v version=%d err=%v", c.Exists, c.Version, err)
	}
	stale := *c
	if err := s.WriteLead(ctx, c, t0); err != nil {
		t.Fatalf("update at version 1: %v", err)
	}
	if err := s.WriteLead(ctx, &stale, t0); !errors.Is(err, leadscore.ErrConflict) {
		t.Fatalf("update of a stale copy: %v, want ErrConflict", err)
	}
	got, err := s.Lead(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || viewOf(t, s, got).Stage != scoring.StageLead || viewOf(t, s, got).LeadID != id || got.Email != "x@example.com" {
		t.Fatalf("lead read back: version %d stage %s id %s, want 2 lead %s", got.Version, viewOf(t, s, got).Stage, viewOf(t, s, got).LeadID, id)
	}
	if _, err := s.Lead(ctx, "ld_nobody"); !errors.Is(err, leadscore.ErrNotFound) {
		t.Fatalf("missing lead: %v, want ErrNotFound", err)
	}
}

func TestPublishRulesNeverGivesOneVersionTwice(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	before, err := s.CurrentRules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const n = 6
	versions := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := s.PublishRules(ctx, scoring.DefaultRules())
			if err != nil {
				t.Errorf("publish %d: %v", i, err)
			}
			versions[i] = v
		}()
	}
	wg.Wait()
	slices.Sort(versions)
	for i := range versions {
		if versions[i] != before.Version+1+i {
			t.Fatalf("versions %v, want %d consecutive from %d", versions, n, before.Version+1)
		}
	}
	cur, err := s.CurrentRules(ctx)
	if err != nil || cur.Version != versions[n-1] {
		t.Fatalf("current rules version %v (%v), want %d", cur, err, versions[n-1])
	}
	r, err := s.Rules(ctx, versions[0])
	if err != nil || r.Version != versions[0] {
		t.Fatalf("rules %d: %v %v", versions[0], r, err)
	}
	if _, err := s.Rules(ctx, 99999); !errors.Is(err, leadscore.ErrNotFound) {
		t.Fatalf("unknown version: %v, want ErrNotFound", err)
	}
}

// writeLead creates a lead in stage lead whose engagement grows with n:
// n pricing visits on n different days.
func writeLead(t *testing.T, s *Store, id string, n int, due time.Time) {
	t.Helper()
	rec, err := s.ReadLead(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	rec.Email = id + "@example.com"
	evs := []scoring.Event{ev(id+"-0", "form_submit", rec.Email, t0.Add(-time.Hour))}
	for i := range n {
		evs = append(evs, ev(fmt.Sprintf("%s-%d", id, i+1), "page_view", rec.Email, t0.Add(-time.Duration(i)*24*time.Hour)))
	}
	r := scoring.DefaultRules()
	rec.State.Apply(evs, r)
	res := rec.State.Evaluate(r, t0)
	rec.View = leadscore.BuildView(id, rec.Email, rec.State, res, r.Version, t0)
	rec.DueAt = due
	if err := s.WriteLead(t.Context(), rec, t0); err != nil {
		t.Fatal(err)
	}
}

// TestLeadsByStagePagesHighestEngagementFirst: every lead is listed once,
// highest engagement band (ListingStep) first; the API orders each page
// exactly.
func TestLeadsByStagePagesHighestEngagementFirst(t *testing.T) {
	emulators.Need(t)
	if err := stack.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	s := newStore(t)
	stage := scoring.StageLead
	var want []string
	for i := range 7 {
		id := fmt.Sprintf("ld_%s_%d", t.Name(), i)
		writeLead(t, s, id, i, time.Time{})
		want = append(want, id)
	}
	var got []string
	cursor := ""
	pages := 0
	lastBand := math.Inf(1)
	for {
		leads, next, err := s.LeadsByStage(t.Context(), stage, 3, cursor)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, l := range leads {
			got = append(got, l.ID)
			if viewOf(t, s, l).Stage != stage || l.Email == "" {
				t.Fatalf("listed lead %s has stage %s email %q", l.ID, viewOf(t, s, l).Stage, l.Email)
			}
			band, _ := strconv.ParseFloat(ListingKey(viewOf(t, s, l).Score.Engagement), 64)
			if band > lastBand {
				t.Fatalf("page %d lists %s in band %v after a lead of band %v", pages, l.ID, band, lastBand)
			}
			lastBand = band
		}
		if next == "" {
			break
		}
		cursor = next
	}
	slices.Sort(got)
	if !slices.Equal(got, want) || pages < 3 {
		t.Fatalf("listed %v in %d pages, want %v in 3", got, pages, want)
	}
	if _, _, err := s.LeadsByStage(t.Context(), "mql", 3, cursor+"x"); !errors.Is(err, ErrBadCursor) && cursor != "" {
		t.Fatalf("garbled cursor: %v, want ErrBadCursor", err)
	}
	first, next, _ := s.LeadsByStage(t.Context(), stage, 3, "")
	if _, _, err := s.LeadsByStage(t.Context(), "mql", 3, next); !errors.Is(err, ErrBadCursor) || len(first) != 3 {
		t.Fatalf("cursor of another stage: %v, want ErrBadCursor", err)
	}
}

func TestDueIndexIsSparseAndLazy(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	id := "ld_" + t.Name()
	writeLead(t, s, id, 1, t0.Add(48*time.Hour))
	rec, _ := s.ReadLead(ctx, id)
	if !rec.IndexDueAt.Equal(t0.Add(48 * time.Hour)) {
		t.Fatalf("index due %s, want %s", rec.IndexDueAt, t0.Add(48*time.Hour))
	}
	// A later scoring due keeps the earlier stored one (no index write).
	rec.DueAt = t0.Add(96 * time.Hour)
	if err := s.WriteLead(ctx, rec, t0); err != nil {
		t.Fatal(err)
	}
	if !rec.IndexDueAt.Equal(t0.Add(48 * time.Hour)) {
		t.Fatalf("index due moved to %s, want it kept at %s", rec.IndexDueAt, t0.Add(48*time.Hour))
	}
	shard := DueShard(id)
	ids, _, _, err := s.DueLeads(ctx, shard, t0.Add(49*time.Hour), 100, "")
	if err != nil || !slices.Contains(ids, id) {
		t.Fatalf("due leads at +49h: %v %v, want %s", ids, err, id)
	}
	ids, _, _, _ = s.DueLeads(ctx, shard, t0.Add(47*time.Hour), 100, "")
	if slices.Contains(ids, id) {
		t.Fatalf("lead due at +48h listed at +47h")
	}
	// Nothing due: removed from the index.
	rec.DueAt = time.Time{}
	if err := s.WriteLead(ctx, rec, t0); err != nil {
		t.Fatal(err)
	}
	ids, _, _, _ = s.DueLeads(ctx, shard, t0.Add(10000*time.Hour), 100, "")
	if slices.Contains(ids, id) {
		t.Fatalf("lead with nothing due is still in the due index")
	}
}

func TestOutboxKeepsLeadDueUntilMarkedSent(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	id := "ld_" + t.Name()
	rec, _ := s.ReadLead(ctx, id)
	rec.Email = "o@example.com"
	rec.View = leadscore.LeadView{Stage: "lead", Attributes: map[string]any{}}
	tr := scoring.Transition{From: "lead", To: "mql", At: t0, RulesVersion: 0}
	rec.Outbox = []leadscore.Handoff{leadscore.NewHandoff(id, tr, rec.View)}
	rec.DueAt = t0.Add(14 * 24 * time.Hour)
	if err := s.WriteLead(ctx, rec, t0); err != nil {
		t.Fatal(err)
	}
	got, _ := s.ReadLead(ctx, id)
	if len(got.Outbox) != 1 || got.Outbox[0].TransitionID != leadscore.TransitionID(id, tr) || got.Outbox[0].Type != "lead.mql" {
		t.Fatalf("outbox read back %+v", got.Outbox)
	}
	if !got.IndexDueAt.Equal(t0.Add(leadscore.OutboxResend)) {
		t.Fatalf("due with an unsent outbox %s, want %s", got.IndexDueAt, t0.Add(leadscore.OutboxResend))
	}
	if err := s.MarkSent(ctx, got, []string{got.Outbox[0].TransitionID}, t0); err != nil {
		t.Fatal(err)
	}
	after, _ := s.ReadLead(ctx, id)
	if len(after.Outbox) != 0 || !after.IndexDueAt.Equal(t0.Add(14*24*time.Hour)) || after.Version != 2 {
		t.Fatalf("after MarkSent: outbox %d due %s version %d; want empty, scoring's due, 2", len(after.Outbox), after.IndexDueAt, after.Version)
	}
	// Marking against a stale copy still removes the entry.
	rec2, _ := s.ReadLead(ctx, id)
	rec2.Outbox = []leadscore.Handoff{leadscore.NewHandoff(id, scoring.Transition{From: "mql", To: "sql", At: t0}, rec2.View)}
	if err := s.WriteLead(ctx, rec2, t0); err != nil {
		t.Fatal(err)
	}
	stale := *rec2
	stale.Version--
	if err := s.MarkSent(ctx, &stale, []string{rec2.Outbox[0].TransitionID}, t0); err != nil {
		t.Fatal(err)
	}
	final, _ := s.ReadLead(ctx, id)
	if len(final.Outbox) != 0 {
		t.Fatalf("stale MarkSent left %d outbox entries", len(final.Outbox))
	}
}

func TestVisitorMergeFirstLeadWins(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	vid := leadscore.VisitorID(t.Name())
	if owner, err := s.VisitorLead(ctx, vid); err != nil || owner != "" {
		t.Fatalf("unknown visitor owner %q %v", owner, err)
	}
	if owner, err := s.MergeVisitor(ctx, vid, "ld_a"); err != nil || owner != "ld_a" {
		t.Fatalf("merge into a: %q %v", owner, err)
	}
	if owner, err := s.MergeVisitor(ctx, vid, "ld_a"); err != nil || owner != "ld_a" {
		t.Fatalf("merge into a again: %q %v", owner, err)
	}
	if owner, err := s.MergeVisitor(ctx, vid, "ld_b"); err != nil || owner != "ld_a" {
		t.Fatalf("merge into b: %q %v, want ld_a", owner, err)
	}
}

func TestConsumedCapacityIsMetered(t *testing.T) {
	s := newStore(t)
	m := &CapacityMeter{}
	ctx := WithMeter(t.Context(), m)
	s.RecordEvents(ctx, "ld_"+t.Name(), []scoring.Event{ev("e1", "page_view", "m@example.com", t0)}, t0)
	if _, err := s.ReadLead(ctx, "ld_"+t.Name()); err != nil {
		t.Fatal(err)
	}
	u := m.Usage()
	if u["RecordEvent"].Calls != 1 || u["RecordEvent"].Units <= 0 || u["ReadLead"].Units <= 0 {
		t.Fatalf("usage %+v: want one RecordEvent and one ReadLead with units > 0", u)
	}
}
