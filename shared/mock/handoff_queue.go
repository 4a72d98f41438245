package mock

import (
	"context"
	"sync"

	"github.com/leadscore/leadscore/shared/leadscore"
)

// HandoffQueue is a leadscore.HandoffQueue keeping what was sent in memory.
type HandoffQueue struct {
	// Refuse, when set, picks the transitions the queue will not take:
	// they are reported as failed, with ErrRefused.
	Refuse func(leadscore.Handoff) bool

	mu   sync.Mutex
	sent []leadscore.Handoff
}

// EnqueueHandoff keeps hs, but for those Refuse picks.
func (q *HandoffQueue) EnqueueHandoff(_ context.Context, hs []leadscore.Handoff) (failed []int, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, h := range hs {
		if q.Refuse != nil && q.Refuse(h) {
			failed = append(failed, i)
			continue
		}
		q.sent = append(q.sent, h)
	}
	if len(failed) > 0 {
		err = ErrRefused
	}
	return failed, err
}

// Take returns every transition sent since the last Take, in order, and
// forgets them.
func (q *HandoffQueue) Take() []leadscore.Handoff {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.sent
	q.sent = nil
	return out
}
