package mock

import (
	"context"
	"slices"
	"sync"

	"github.com/leadscore/leadscore/shared/leadscore"
)

// HandoffQueue records the transitions it is sent (leadscore.HandoffQueue).
type HandoffQueue struct {
	// Refuse, when set, decides which transitions the queue refuses.
	Refuse func(leadscore.Handoff) bool

	mu   sync.Mutex
	sent []leadscore.Handoff
}

// EnqueueHandoff records hs (leadscore.HandoffQueue).
func (q *HandoffQueue) EnqueueHandoff(_ context.Context, hs []leadscore.Handoff) ([]int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var failed []int
	for i, h := range hs {
		if q.Refuse != nil && q.Refuse(h) {
			failed = append(failed, i)
			continue
		}
		q.sent = append(q.sent, h)
	}
	return failed, nil
}

// Drain returns the transitions sent since the last Drain.
func (q *HandoffQueue) Drain() []leadscore.Handoff {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := slices.Clone(q.sent)
	q.sent = nil
	return out
}
