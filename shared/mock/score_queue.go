package mock

import (
	"context"
	"slices"
	"sync"

	"github.com/leadscore/leadscore/shared/leadscore"
)

// ScoreQueue records the score messages it is sent (leadscore.ScoreQueue).
type ScoreQueue struct {
	// Refuse, when set, decides which messages the queue refuses: their
	// indexes are reported failed and they are not recorded.
	Refuse func(leadscore.ScoreMessage) bool

	mu   sync.Mutex
	sent []leadscore.ScoreMessage
}

// EnqueueScore records msgs (leadscore.ScoreQueue).
func (q *ScoreQueue) EnqueueScore(_ context.Context, msgs []leadscore.ScoreMessage) ([]int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var failed []int
	for i, m := range msgs {
		if q.Refuse != nil && q.Refuse(m) {
			failed = append(failed, i)
			continue
		}
		q.sent = append(q.sent, m)
	}
	return failed, nil
}

// Drain returns the messages sent since the last Drain.
func (q *ScoreQueue) Drain() []leadscore.ScoreMessage {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := slices.Clone(q.sent)
	q.sent = nil
	return out
}
