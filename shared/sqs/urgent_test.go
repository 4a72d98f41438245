package sqs

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadscore/leadscore/infra/faults"
	"github.com/leadscore/leadscore/shared/leadscore"
)

// TestUrgentMessagesTakeTheUrgentQueue: hand-raises go to the urgent queue
// (no batching window), everything else to the score queue, and a refused
// entry is reported by its index in the caller's slice whichever queue it
// was meant for.
func TestUrgentMessagesTakeTheUrgentQueue(t *testing.T) {
	c := fresh(t)
	urgentURL := stack.QueueURLs["UrgentScoreQueue"]
	if urgentURL == "" {
		t.Fatalf("template.yaml has no UrgentScoreQueue (queues: %v)", stack.QueueURLs)
	}
	msgs := scoreMessages(12, 0)
	for _, i := range []int{1, 5, 11} {
		msgs[i].Urgent = true
	}
	// Call 1 is the urgent batch (msgs 1, 5, 11 as entries 0, 1, 2): its
	// entry 1 (msgs[5]) is refused once and sent on the retry, call 2.
	// Calls 3 on are the score batch (msgs 0, 2, 3, 4, ... as entries 0, 1,
	// 2, 3, ...) and its retries: entry 2 (msgs[3]) is always refused.
	f := &faults.RefusingSQS{BatchSender: c, Refuse: byID(func(call int, id string) bool {
		return (call == 1 && id == "1") || (call >= 3 && id == "2")
	})}
	q := NewQueuesFrom(f, stack.ScoreQueueURL, stack.HandoffQueueURL).WithUrgentQueue(urgentURL)
	failed, err := q.EnqueueScore(t.Context(), msgs)
	if !slices.Equal(failed, []int{3}) || err == nil {
		t.Fatalf("failed %v (err %v), want [3] with an error", failed, err)
	}

	ids := func(rs []received) []string {
		var out []string
		for _, r := range rs {
			var m leadscore.ScoreMessage
			if err := json.Unmarshal([]byte(r.body), &m); err != nil {
				t.Fatal(err)
			}
			out = append(out, m.Event.EventID)
		}
		slices.Sort(out)
		return out
	}
	if got, want := ids(drain(t, c, urgentURL, 3)), []string{"ev-1", "ev-11", "ev-5"}; !slices.Equal(got, want) {
		t.Errorf("urgent queue holds %v, want %v", got, want)
	}
	got := ids(drain(t, c, stack.ScoreQueueURL, 8))
	if len(got) != 8 || slices.Contains(got, "ev-3") || slices.Contains(got, "ev-5") {
		t.Errorf("score queue holds %v, want the 8 other non-urgent events", got)
	}
}

func TestWithoutAnUrgentQueueEverythingGoesToTheScoreQueue(t *testing.T) {
	c := fresh(t)
	msgs := scoreMessages(3, 0)
	msgs[0].Urgent = true
	if failed, err := NewQueues(c, stack.ScoreQueueURL, "").EnqueueScore(t.Context(), msgs); len(failed) > 0 || err != nil {
		t.Fatalf("failed %v: %v", failed, err)
	}
	if got := drain(t, c, stack.ScoreQueueURL, 3); len(got) != 3 {
		t.Fatalf("score queue holds %d messages, want 3", len(got))
	}
}

// TestAccountMessagesTakeTheAccountQueue: account evaluations go to the
// account queue (whose batching window coalesces them), hand-raises to the
// urgent queue, the rest to the score queue, from one call.
func TestAccountMessagesTakeTheAccountQueue(t *testing.T) {
	c := fresh(t)
	accountURL, urgentURL := stack.QueueURLs["AccountQueue"], stack.QueueURLs["UrgentScoreQueue"]
	if accountURL == "" || urgentURL == "" {
		t.Fatalf("template.yaml lacks AccountQueue or UrgentScoreQueue (queues: %v)", stack.QueueURLs)
	}
	msgs := scoreMessages(4, 0)
	msgs[1].Urgent = true
	msgs = append(msgs, leadscore.ScoreMessage{Kind: leadscore.KindAccount, AccountID: "acme", Now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)})
	q := NewQueues(c, stack.ScoreQueueURL, "").WithUrgentQueue(urgentURL).WithAccountQueue(accountURL)
	if failed, err := q.EnqueueScore(t.Context(), msgs); len(failed) > 0 || err != nil {
		t.Fatalf("failed %v: %v", failed, err)
	}
	got := drain(t, c, accountURL, 1)
	if len(got) != 1 || !strings.Contains(got[0].body, `"kind":"account"`) {
		t.Errorf("account queue holds %v, want the account message", got)
	}
	if n := len(drain(t, c, urgentURL, 1)); n != 1 {
		t.Errorf("urgent queue holds %d messages, want 1", n)
	}
	if n := len(drain(t, c, stack.ScoreQueueURL, 3)); n != 3 {
		t.Errorf("score queue holds %d messages, want the 3 others", n)
	}
}
