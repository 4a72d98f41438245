package mock

import (
	"context"
	"time"

	"github.com/leadscore/leadscore/shared/leadscore"
)

// RescoreStore is leadscore.RescoreStore with a function per method, in the
// style of a hand-written stub: a test sets the ones its handler calls, and
// calling one not set panics, naming it.
type RescoreStore struct {
	StartRescoreFn   func(ctx context.Context, version int, now time.Time) (bool, error)
	RescoreJobFn     func(ctx context.Context, version int) (*leadscore.RescoreJob, error)
	ScanLeadIDsFn    func(ctx context.Context, cursor string, wantLeads int) ([]string, string, error)
	AdvanceRescoreFn func(ctx context.Context, version int, page int64, n int, next string, complete bool, supersededBy int, now time.Time) (bool, error)
	MarkRescoredFn   func(ctx context.Context, version int, leadIDs []string, now time.Time) error
}

func unset(method string) { panic("mock.RescoreStore." + method + "Fn is not set") }

// StartRescore calls StartRescoreFn.
func (s *RescoreStore) StartRescore(ctx context.Context, version int, now time.Time) (bool, error) {
	if s.StartRescoreFn == nil {
		unset("StartRescore")
	}
	return s.StartRescoreFn(ctx, version, now)
}

// RescoreJob calls RescoreJobFn.
func (s *RescoreStore) RescoreJob(ctx context.Context, version int) (*leadscore.RescoreJob, error) {
	if s.RescoreJobFn == nil {
		unset("RescoreJob")
	}
	return s.RescoreJobFn(ctx, version)
}

// ScanLeadIDs calls ScanLeadIDsFn.
func (s *RescoreStore) ScanLeadIDs(ctx context.Context, cursor string, wantLeads int) ([]string, string, error) {
	if s.ScanLeadIDsFn == nil {
		unset("ScanLeadIDs")
	}
	return s.ScanLeadIDsFn(ctx, cursor, wantLeads)
}

// AdvanceRescore calls AdvanceRescoreFn.
func (s *RescoreStore) AdvanceRescore(ctx context.Context, version int, page int64, n int, next string, complete bool, supersededBy int, now time.Time) (bool, error) {
	if s.AdvanceRescoreFn == nil {
		unset("AdvanceRescore")
	}
	return s.AdvanceRescoreFn(ctx, version, page, n, next, complete, supersededBy, now)
}

// MarkRescored calls MarkRescoredFn.
func (s *RescoreStore) MarkRescored(ctx context.Context, version int, leadIDs []string, now time.Time) error {
	if s.MarkRescoredFn == nil {
		unset("MarkRescored")
	}
	return s.MarkRescoredFn(ctx, version, leadIDs, now)
}
