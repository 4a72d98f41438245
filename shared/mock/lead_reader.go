package mock

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// Lead returns a copy of the stored lead, or leadscore.ErrNotFound
// (leadscore.LeadReader).
func (s *Store) Lead(_ context.Context, id string) (*leadscore.Lead, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.call("Lead")
	stored, ok := s.leads[id]
	if !ok {
		return nil, fmt.Errorf("lead %s: %w", id, leadscore.ErrNotFound)
	}
	c, err := copyRecord(stored)
	if err != nil {
		return nil, err
	}
	return &c.Lead, nil
}

// LeadsByStage lists the identified leads in stage, highest engagement
// first; the cursor is the offset of the next page (leadscore.LeadReader).
func (s *Store) LeadsByStage(_ context.Context, stage scoring.Stage, limit int, cursor string) ([]*leadscore.Lead, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.call("LeadsByStage")
	var in []*leadscore.LeadRecord
	for _, rec := range s.leads {
		if rec.View.Stage == stage && stage != scoring.StageVisitor {
			in = append(in, rec)
		}
	}
	slices.SortFunc(in, func(a, b *leadscore.LeadRecord) int {
		return cmp.Or(cmp.Compare(b.View.Score.Engagement, a.View.Score.Engagement), cmp.Compare(a.ID, b.ID))
	})
	in, next, err := page(in, cursor, min(max(limit, 1), 100))
	if err != nil {
		return nil, "", err
	}
	var out []*leadscore.Lead
	for _, rec := range in {
		c, err := copyRecord(rec)
		if err != nil {
			return nil, "", err
		}
		out = append(out, &c.Lead)
	}
	return out, next, nil
}
