package mock

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/leadscore/leadscore/shared/leadscore"
)

// DueShards is 1: the mock's due index is one partition
// (leadscore.DueFinder).
func (s *Store) DueShards() int { return 1 }

// DueShard is 0 for every lead (leadscore.DueFinder).
func (s *Store) DueShard(string) int { return 0 }

// DueLeads returns the ids of leads of shard whose stored due time is at or
// before now, earliest first; the cursor is the offset of the next page and
// no capacity is consumed (leadscore.DueFinder).
func (s *Store) DueLeads(_ context.Context, shard int, now time.Time, limit int, cursor string) ([]string, string, float64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.call("DueLeads")
	var due []*leadscore.LeadRecord
	for _, rec := range s.leads {
		if !rec.IndexDueAt.IsZero() && !rec.IndexDueAt.After(now) && shard == 0 {
			due = append(due, rec)
		}
	}
	slices.SortFunc(due, func(a, b *leadscore.LeadRecord) int {
		return cmp.Or(a.IndexDueAt.Compare(b.IndexDueAt), cmp.Compare(a.ID, b.ID))
	})
	due, next, err := page(due, cursor, max(limit, 1))
	if err != nil {
		return nil, "", 0, err
	}
	var ids []string
	for _, rec := range due {
		ids = append(ids, rec.ID)
	}
	return ids, next, 0, nil
}
