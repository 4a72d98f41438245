package mock

import (
	"context"
	"hash/fnv"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/signals"
)

// ReportStore is a leadscore.ReportStore over the leads of Leads (none
// when nil): the
// leads with an outcome (signals.HasOutcome) spread over Shards parts by a
// hash of their id, and the background build's job and result in memory.
type ReportStore struct {
	Leads *Store
	// Shards is the number of outcome parts (4 when zero).
	Shards int
	// PageLimit, when set, caps the leads of one OutcomeLeads page below
	// what the caller asks, as DynamoDB's 1 MB page limit does, so callers
	// are tested over shards of several pages.
	PageLimit int
	// Err, when set, is returned by every method: a store that is down.
	Err error

	mu     sync.Mutex
	job    *leadscore.ReportJob
	stored *leadscore.StoredReport
}

var _ leadscore.ReportStore = (*ReportStore)(nil)

// OutcomeShards is Shards, or 4.
func (r *ReportStore) OutcomeShards() int {
	if r.Shards <= 0 {
		return 4
	}
	return r.Shards
}

// OutcomeLeads returns the leads of shard with an outcome, by id, limit at
// a time; the cursor is the offset of the next page.
func (r *ReportStore) OutcomeLeads(_ context.Context, shard int, cursor string, limit int) ([]*leadscore.Lead, string, error) {
	if r.Err != nil {
		return nil, "", r.Err
	}
	s := r.Leads
	if s == nil {
		return nil, "", nil // no table: no leads
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.call("OutcomeLeads")
	var ids []string
	for _, id := range slices.Sorted(maps.Keys(s.leads)) {
		h := fnv.New32a()
		h.Write([]byte(id))
		rec := s.leads[id]
		if int(h.Sum32()%uint32(r.OutcomeShards())) == shard && rec.State != nil && signals.HasOutcome(rec.State.History()) {
			ids = append(ids, id)
		}
	}
	limit = max(limit, 1)
	if r.PageLimit > 0 {
		limit = min(limit, r.PageLimit)
	}
	ids, next, err := page(ids, cursor, limit)
	if err != nil {
		return nil, "", err
	}
	var out []*leadscore.Lead
	for _, id := range ids {
		c, err := copyRecord(s.leads[id])
		if err != nil {
			return nil, "", err
		}
		out = append(out, &c.Lead)
	}
	return out, next, nil
}

// SignalsReport returns copies of the job and the stored report.
func (r *ReportStore) SignalsReport(context.Context) (*leadscore.ReportJob, *leadscore.StoredReport, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Err != nil {
		return nil, nil, r.Err
	}
	var job *leadscore.ReportJob
	var stored *leadscore.StoredReport
	if r.job != nil {
		j := *r.job
		job = &j
	}
	if r.stored != nil {
		s := *r.stored
		stored = &s
	}
	return job, stored, nil
}

// StartSignalsReport starts a job unless one younger than stale runs.
func (r *ReportStore) StartSignalsReport(_ context.Context, now time.Time, total int, stale time.Duration) (*leadscore.ReportJob, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Err != nil {
		return nil, false, r.Err
	}
	if j := r.job; j != nil && j.FinishedAt == nil && !j.StartedAt.Before(now.Add(-stale)) {
		c := *j
		return &c, false, nil
	}
	r.job = &leadscore.ReportJob{StartedAt: now.UTC(), Total: total}
	c := *r.job
	return &c, true, nil
}

// AdvanceSignalsReport records progress of the current job.
func (r *ReportStore) AdvanceSignalsReport(_ context.Context, startedAt time.Time, done int, leadsRead int64) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Err != nil {
		return false, r.Err
	}
	if r.job == nil || !r.job.StartedAt.Equal(startedAt) {
		return false, nil
	}
	r.job.Done, r.job.LeadsRead = done, leadsRead
	return true, nil
}

// SaveSignalsReport keeps the report (the TTL is not simulated) and
// finishes the job started at startedAt.
func (r *ReportStore) SaveSignalsReport(_ context.Context, startedAt time.Time, rep leadscore.StoredReport, now time.Time, _ time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Err != nil {
		return r.Err
	}
	rep.Body = slices.Clone(rep.Body)
	r.stored = &rep
	if r.job != nil && r.job.StartedAt.Equal(startedAt) {
		t := now.UTC()
		r.job.FinishedAt = &t
	}
	return nil
}
