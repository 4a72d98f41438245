package mock

import (
	"context"
	"errors"
	"sync"

	"github.com/leadscore/leadscore/shared/leadscore"
)

// ErrRefused is the error ScoreQueue returns for the messages Refuse picks.
var ErrRefused = errors.New("mock: message refused")

// ScoreQueue is a leadscore.ScoreQueue keeping what was sent in memory.
type ScoreQueue struct {
	// Refuse, when set, picks the messages the queue will not take: they
	// are reported as failed, with ErrRefused.
	Refuse func(m leadscore.ScoreMessage) bool

	mu   sync.Mutex
	sent []leadscore.ScoreMessage
}

// EnqueueScore keeps msgs, but for those Refuse picks.
func (q *ScoreQueue) EnqueueScore(_ context.Context, msgs []leadscore.ScoreMessage) (failed []int, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, m := range msgs {
		if q.Refuse != nil && q.Refuse(m) {
			failed = append(failed, i)
			continue
		}
		q.sent = append(q.sent, m)
	}
	if len(failed) > 0 {
		err = ErrRefused
	}
	return failed, err
}

// Take returns every message sent since the last Take, in order, and
// forgets them.
func (q *ScoreQueue) Take() []leadscore.ScoreMessage {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.sent
	q.sent = nil
	return out
}
