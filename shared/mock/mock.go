package mock

import (
	"sync"
	"time"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// Store is an in-memory table: leads (as the score function writes them),
// event records, visitor links, and the rules versions of its embedded
// RulesStore.
type Store struct {
	RulesStore

	mu       sync.Mutex
	leads    map[string]*leadscore.LeadRecord // stored copies
	erased   map[string]bool
	events   map[string]map[string]record // subject id -> event id -> record
	visitors map[string]string            // visitor id -> lead id
	calls    map[string]int
}

type record struct {
	event      scoring.Event
	receivedAt time.Time
}

// call counts one call of method; s.mu is held.
func (s *Store) call(method string) {
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	s.calls[method]++
}

// Calls returns how many times method was called (WriteLead, say).
func (s *Store) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

var (
	_ leadscore.ScoreStore   = (*Store)(nil)
	_ leadscore.LeadReader   = (*Store)(nil)
	_ leadscore.LeadEraser   = (*Store)(nil)
	_ leadscore.DueFinder    = (*Store)(nil)
	_ leadscore.RulesStore   = (*Store)(nil)
	_ leadscore.LeadScanner  = (*Store)(nil)
	_ leadscore.RulesStore   = (*RulesStore)(nil)
	_ leadscore.RescoreStore = (*RescoreStore)(nil)
	_ leadscore.ScoreQueue   = (*ScoreQueue)(nil)
	_ leadscore.HandoffQueue = (*HandoffQueue)(nil)
)
