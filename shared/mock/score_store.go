package mock

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// ReadLead returns a copy of the stored lead; a lead never written comes
// back with Exists false and a fresh state (leadscore.ScoreStore).
func (s *Store) ReadLead(_ context.Context, id string) (*leadscore.LeadRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.call("ReadLead")
	return s.read(id)
}

// PeekLead is ReadLead: the mock has no stale copies.
func (s *Store) PeekLead(_ context.Context, id string) (*leadscore.LeadRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.call("PeekLead")
	return s.read(id)
}

func (s *Store) read(id string) (*leadscore.LeadRecord, error) {
	if s.erased[id] {
		return nil, fmt.Errorf("read lead %s: %w", id, leadscore.ErrErased)
	}
	if stored, ok := s.leads[id]; ok {
		return copyRecord(stored)
	}
	rec := &leadscore.LeadRecord{}
	rec.ID = id
	rec.State = newState(id)
	return rec, nil
}

// RecordEvents records each event under subjectID once ever
// (leadscore.ScoreStore).
func (s *Store) RecordEvents(_ context.Context, subjectID string, evs []scoring.Event, receivedAt time.Time) []leadscore.RecordedEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.call("RecordEvents")
	if s.events == nil {
		s.events = map[string]map[string]record{}
	}
	if s.events[subjectID] == nil {
		s.events[subjectID] = map[string]record{}
	}
	out := make([]leadscore.RecordedEvent, len(evs))
	for i, ev := range evs {
		if r, ok := s.events[subjectID][ev.EventID]; ok {
			out[i] = leadscore.RecordedEvent{Event: copyEvent(r.event), ReceivedAt: r.receivedAt}
			continue
		}
		s.events[subjectID][ev.EventID] = record{event: copyEvent(ev), receivedAt: receivedAt.UTC().Truncate(time.Second)}
		out[i] = leadscore.RecordedEvent{Event: copyEvent(ev), Created: true, ReceivedAt: receivedAt.UTC().Truncate(time.Second)}
	}
	return out
}

// WriteLead stores rec if its Version is still the stored one (or the lead
// does not exist yet, for a new lead), else leadscore.ErrConflict
// (leadscore.ScoreStore).
func (s *Store) WriteLead(_ context.Context, rec *leadscore.LeadRecord, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.call("WriteLead")
	stored, exists := s.leads[rec.ID]
	if s.erased[rec.ID] || exists != rec.Exists || (exists && stored.Version != rec.Version) {
		return fmt.Errorf("write lead %s at version %d: %w", rec.ID, rec.Version, leadscore.ErrConflict)
	}
	rec.Applied.Prune(now)
	rec.IndexDueAt = leadscore.IndexDue(rec.IndexDueAt, rec.DueAt, len(rec.Outbox), now)
	rec.Version++
	rec.Exists = true
	rec.RulesVersion, rec.EvaluatedAt = rec.View.RulesVersion, rec.View.EvaluatedAt
	c, err := copyRecord(rec)
	if err != nil {
		return err
	}
	// The stage listing's index: the write's stage and engagement.
	c.View = leadscore.LeadView{Stage: rec.View.Stage, Score: scoring.Score{Engagement: rec.View.Score.Engagement}}
	if s.leads == nil {
		s.leads = map[string]*leadscore.LeadRecord{}
	}
	s.leads[rec.ID] = c
	return nil
}

// EventHistory returns every recorded event of subjectID, by event id
// (leadscore.ScoreStore).
func (s *Store) EventHistory(_ context.Context, subjectID string) ([]scoring.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.call("EventHistory")
	var out []scoring.Event
	for _, id := range slices.Sorted(maps.Keys(s.events[subjectID])) {
		out = append(out, copyEvent(s.events[subjectID][id].event))
	}
	return out, nil
}

// MarkSent removes transitionIDs from the stored outbox and bumps the
// version; the due time goes back to scoring's when nobody wrote the lead
// since rec (leadscore.ScoreStore).
func (s *Store) MarkSent(_ context.Context, rec *leadscore.LeadRecord, transitionIDs []string, now time.Time) error {
	if len(transitionIDs) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.call("MarkSent")
	sent := func(h leadscore.Handoff) bool { return slices.Contains(transitionIDs, h.TransitionID) }
	remaining := slices.DeleteFunc(slices.Clone(rec.Outbox), sent)
	stored, ok := s.leads[rec.ID]
	if !ok {
		rec.Outbox = remaining
		return nil
	}
	stored.Outbox = slices.DeleteFunc(stored.Outbox, sent)
	if stored.Version == rec.Version {
		due := leadscore.IndexDue(time.Time{}, rec.DueAt, len(remaining), now)
		stored.IndexDueAt = due
		rec.IndexDueAt = due
		rec.Version++
	}
	stored.Version++
	rec.Outbox = remaining
	return nil
}

// VisitorLead returns the lead visitorID was merged into, or ""
// (leadscore.ScoreStore).
func (s *Store) VisitorLead(_ context.Context, visitorID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.call("VisitorLead")
	return s.visitors[visitorID], nil
}

// MergeVisitor links visitorID to leadID unless it belongs to another lead
// already; it returns the owner (leadscore.ScoreStore).
func (s *Store) MergeVisitor(_ context.Context, visitorID, leadID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.call("MergeVisitor")
	if owner := s.visitors[visitorID]; owner != "" {
		return owner, nil
	}
	if s.visitors == nil {
		s.visitors = map[string]string{}
	}
	s.visitors[visitorID] = leadID
	return leadID, nil
}

// copyRecord is a deep copy (the state through its own encoding), so nothing a handler changes after a write reaches the store.
func copyRecord(rec *leadscore.LeadRecord) (*leadscore.LeadRecord, error) {
	c := *rec
	c.State = newState(rec.ID)
	if rec.State != nil {
		b, err := rec.State.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("copy the state of lead %s: %w", rec.ID, err)
		}
		if err := c.State.UnmarshalBinary(b); err != nil {
			return nil, fmt.Errorf("copy the state of lead %s: %w", rec.ID, err)
		}
	}
	c.Applied = leadscore.RestoreAppliedRing(rec.Applied.Floor, rec.Applied.Entries())
	// A read returns what the table keeps: not the view, nor the outbox
	// bodies (leadscore.View and the next evaluation compute them).
	c.View = leadscore.LeadView{}
	c.Visitors = slices.Clone(rec.Visitors)
	c.Outbox = slices.Clone(rec.Outbox)
	for i := range c.Outbox {
		c.Outbox[i].Lead = leadscore.LeadView{}
	}
	return &c, nil
}

// copyEvent round-trips ev through JSON, as a stored record does.
func copyEvent(ev scoring.Event) scoring.Event {
	b, err := json.Marshal(ev)
	if err != nil {
		panic(fmt.Sprintf("mock: event %s does not encode: %v", ev.EventID, err))
	}
	var out scoring.Event
	if err := json.Unmarshal(b, &out); err != nil {
		panic(fmt.Sprintf("mock: event %s does not decode: %v", ev.EventID, err))
	}
	return out
}

// newState is the state of a lead never written: a lead keyed by email
// starts as a lead, a visitor keyed by cookie as a visitor.
func newState(id string) *scoring.State {
	if strings.HasPrefix(id, leadscore.LeadIDPrefix) {
		return scoring.NewLeadState()
	}
	return scoring.NewState()
}
