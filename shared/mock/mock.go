// Package mock holds small in-memory implementations of the leadscore
// domain interfaces, for handler unit tests that must run in seconds
// without the emulators (make unit). They keep the interfaces' promises
// (conditional writes on the version, events recorded once ever, the
// outbox and the due time) but nothing of DynamoDB or SQS: how the real
// table and queues behave is tested against DynamoDB Local and the SQS
// emulator only.
//
// Store implements ScoreStore (score_store.go), LeadReader (lead_reader.go),
// LeadEraser (lead_eraser.go), LeadScanner (lead_scanner.go), DueFinder
// (due_finder.go) and RulesStore (rules_store.go); ScoreQueue and
// HandoffQueue record what they are sent; RescoreStore is a stub with a
// function per method. Every type's zero value is ready to use and safe
// for concurrent use.
package mock

import (
	"sync"
	"time"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// Store is an in-memory table: leads, event records, visitor links and
// rules versions.
type Store struct {
	mu       sync.Mutex
	leads    map[string]*leadscore.LeadRecord // stored copies
	erased   map[string]bool
	events   map[string]map[string]record // subject id -> event id -> record
	visitors map[string]string            // visitor id -> lead id
	rules    []*scoring.Rules             // rules[i] is version i+1

	// Calls counts the calls of each method, so a test can check how
	// often a handler wrote a lead.
	Calls map[string]int
}

type record struct {
	event      scoring.Event
	receivedAt time.Time
}

// call counts one call of method; s.mu is held.
func (s *Store) call(method string) {
	if s.Calls == nil {
		s.Calls = map[string]int{}
	}
	s.Calls[method]++
}

// CallCount returns how many times method was called.
func (s *Store) CallCount(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Calls[method]
}

var (
	_ leadscore.ScoreStore   = (*Store)(nil)
	_ leadscore.LeadReader   = (*Store)(nil)
	_ leadscore.LeadEraser   = (*Store)(nil)
	_ leadscore.DueFinder    = (*Store)(nil)
	_ leadscore.RulesStore   = (*Store)(nil)
	_ leadscore.LeadScanner  = (*Store)(nil)
	_ leadscore.RescoreStore = (*RescoreStore)(nil)
	_ leadscore.ScoreQueue   = (*ScoreQueue)(nil)
	_ leadscore.HandoffQueue = (*HandoffQueue)(nil)
)
