package mock

import (
	"context"
	"sync"
	"time"

	"github.com/leadscore/leadscore/shared/leadscore"
)

// RescoreStore is a leadscore.RescoreStore keeping the jobs in memory. It
// has no leads to scan: ScanLeadIDs finds none, so a job's scan completes
// on its first page.
type RescoreStore struct {
	// Err, when set, is returned by every method: a store that is down.
	Err error

	mu   sync.Mutex
	jobs map[int]*leadscore.RescoreJob
	done map[int]map[string]bool
}

// StartRescore writes the job of version once.
func (s *RescoreStore) StartRescore(_ context.Context, version int, now time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return false, s.Err
	}
	if s.jobs == nil {
		s.jobs, s.done = map[int]*leadscore.RescoreJob{}, map[int]map[string]bool{}
	}
	if _, ok := s.jobs[version]; ok {
		return false, nil
	}
	s.jobs[version] = &leadscore.RescoreJob{Version: version, StartedAt: now}
	s.done[version] = map[string]bool{}
	return true, nil
}

// RescoreJob returns a copy of the job's progress, or leadscore.ErrNotFound.
func (s *RescoreStore) RescoreJob(_ context.Context, version int) (*leadscore.RescoreJob, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return nil, s.Err
	}
	j, ok := s.jobs[version]
	if !ok {
		return nil, leadscore.ErrNotFound
	}
	cp := *j
	cp.LeadsLeft = max(cp.LeadsEnqueued-cp.LeadsDone, 0)
	return &cp, nil
}

// ScanLeadIDs finds no leads.
func (s *RescoreStore) ScanLeadIDs(context.Context, string, int) ([]string, string, error) {
	return nil, "", s.Err
}

// AdvanceRescore records page number page of the job if it is still at it.
func (s *RescoreStore) AdvanceRescore(_ context.Context, version int, page int64, n int, next string, complete bool, supersededBy int, _ time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return false, s.Err
	}
	j, ok := s.jobs[version]
	if !ok || j.Pages != page {
		return false, nil
	}
	j.Pages++
	j.LeadsEnqueued += int64(n)
	j.Cursor, j.ScanComplete, j.SupersededBy = next, complete, supersededBy
	return true, nil
}

// MarkRescored counts each of leadIDs as done once; the job finishes when
// its scan is complete and every enqueued lead is done. Counting for a job
// that does not exist is no error, as in the table.
func (s *RescoreStore) MarkRescored(_ context.Context, version int, leadIDs []string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return s.Err
	}
	if s.jobs == nil {
		s.jobs, s.done = map[int]*leadscore.RescoreJob{}, map[int]map[string]bool{}
	}
	j, ok := s.jobs[version]
	if !ok {
		// As the table does: the leads are counted, for a job that may
		// not be there (a rescore message sent by hand).
		j = &leadscore.RescoreJob{Version: version}
		if s.done[version] == nil {
			s.done[version] = map[string]bool{}
		}
	}
	for _, id := range leadIDs {
		if !s.done[version][id] {
			s.done[version][id] = true
			j.LeadsDone++
		}
	}
	if ok && j.ScanComplete && j.LeadsDone >= j.LeadsEnqueued && j.FinishedAt == nil {
		at := now
		j.FinishedAt = &at
	}
	return nil
}
