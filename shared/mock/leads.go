package mock

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// Leads is a leadscore.LeadReader, LeadEraser and LeadScanner over leads
// kept in memory by id. Put adds them.
type Leads struct {
	// Err, when set, is returned by every method: a store that is down.
	Err error

	mu    sync.Mutex
	leads map[string]*leadscore.Lead
}

// Put stores l under l.ID, replacing what was there.
func (s *Leads) Put(l *leadscore.Lead) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.leads == nil {
		s.leads = map[string]*leadscore.Lead{}
	}
	s.leads[l.ID] = l
}

// Lead returns the lead with id, or leadscore.ErrNotFound.
func (s *Leads) Lead(_ context.Context, id string) (*leadscore.Lead, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return nil, s.Err
	}
	l, ok := s.leads[id]
	if !ok {
		return nil, leadscore.ErrNotFound
	}
	return l, nil
}

// LeadsByStage lists the leads whose view is in stage, highest engagement
// first (then by id), limit at a time; the cursor is the offset.
func (s *Leads) LeadsByStage(_ context.Context, stage scoring.Stage, limit int, cursor string) ([]*leadscore.Lead, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return nil, "", s.Err
	}
	from := 0
	if cursor != "" {
		n, err := strconv.Atoi(cursor)
		if err != nil || n < 0 {
			return nil, "", fmt.Errorf("mock: cursor %q is not one LeadsByStage returned", cursor)
		}
		from = n
	}
	var in []*leadscore.Lead
	for _, l := range s.leads {
		if l.View.Stage == stage {
			in = append(in, l)
		}
	}
	slices.SortFunc(in, func(a, b *leadscore.Lead) int {
		return cmp.Or(cmp.Compare(b.View.Score.Engagement, a.View.Score.Engagement), cmp.Compare(a.ID, b.ID))
	})
	if from >= len(in) {
		return []*leadscore.Lead{}, "", nil
	}
	to := min(from+limit, len(in))
	next := ""
	if to < len(in) {
		next = strconv.Itoa(to)
	}
	return in[from:to], next, nil
}

// EraseLead forgets the lead with id; erasing an absent lead is no error.
func (s *Leads) EraseLead(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return s.Err
	}
	delete(s.leads, id)
	return nil
}

// ScanLeads returns up to limit identified leads after cursor, in id order;
// the cursor is the last id returned.
func (s *Leads) ScanLeads(_ context.Context, cursor string, limit int) ([]*leadscore.Lead, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return nil, "", s.Err
	}
	ids := make([]string, 0, len(s.leads))
	for id, l := range s.leads {
		if id > cursor && l.State != nil && l.State.Identified() {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	if len(ids) <= limit {
		out := make([]*leadscore.Lead, len(ids))
		for i, id := range ids {
			out[i] = s.leads[id]
		}
		return out, "", nil
	}
	out := make([]*leadscore.Lead, limit)
	for i, id := range ids[:limit] {
		out[i] = s.leads[id]
	}
	return out, ids[limit-1], nil
}
