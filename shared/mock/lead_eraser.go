package mock

import (
	"context"
)

// EraseLead removes the lead, its event records, its visitors' records and
// links, and leaves a tombstone: later reads for update report
// leadscore.ErrErased and writes conflict (leadscore.LeadEraser).
func (s *Store) EraseLead(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.call("EraseLead")
	for vid, owner := range s.visitors {
		if owner == id {
			delete(s.visitors, vid)
			delete(s.events, vid)
		}
	}
	delete(s.leads, id)
	delete(s.events, id)
	if s.erased == nil {
		s.erased = map[string]bool{}
	}
	s.erased[id] = true
	return nil
}
