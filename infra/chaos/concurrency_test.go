package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/leadscore/leadscore/infra/faults"
	"github.com/leadscore/leadscore/shared/dynamodb"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// TestHotLeadsUnderConcurrentWorkers runs 8 score workers at once on
// batches that all touch the same 10 leads, so nearly every lead write
// races another (docs/architecture.md invariant 2: concurrent writers are
// serialized by the conditional write on version, with retry). No update
// may be lost: every event is counted, every lead equals a from-scratch
// scoring, and each lead's version is exactly the number of writes that
// succeeded on it.
func TestHotLeadsUnderConcurrentWorkers(t *testing.T) {
	const workers, leads, perLead = 8, 10, 60
	start := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	w := newWorld(t, faults.Config{}, 0, start)
	rnd := rand.New(rand.NewPCG(3, 4))
	var msgs []leadscore.ScoreMessage
	ids := make([]string, leads)
	for l := range leads {
		email := fmt.Sprintf("hot%d@example.com", l)
		ids[l] = leadscore.LeadID(email)
		for i := range perLead {
			e := &scoring.Event{EventID: fmt.Sprintf("hot-%d-%d", l, i), Type: "page_view", Email: email,
				OccurredAt: start.Add(-time.Duration(rnd.IntN(20*24)) * time.Hour),
				Properties: map[string]any{"url": []string{"/pricing", "/features", "/blog"}[rnd.IntN(3)]}}
			if i == 0 {
				e.Lead = map[string]any{"job_title": "VP Sales", "company_size": float64(900)}
			}
			msgs = append(msgs, leadscore.ScoreMessage{Kind: leadscore.KindEvent, LeadID: ids[l], Event: e})
		}
	}
	rnd.Shuffle(len(msgs), func(i, j int) { msgs[i], msgs[j] = msgs[j], msgs[i] })
	// Batches of 10 spread over all leads: every batch writes ~every lead.
	batches := make(chan []leadscore.ScoreMessage, len(msgs))
	for len(msgs) > 0 {
		n := min(10, len(msgs))
		batches <- msgs[:n]
		msgs = msgs[n:]
	}
	close(batches)

	meter := &dynamodb.CapacityMeter{}
	ctx := dynamodb.WithMeter(context.Background(), meter)
	var wg sync.WaitGroup
	var mu sync.Mutex
	retries := 0
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				for attempt := 0; len(b) > 0; attempt++ {
					if attempt > 20 {
						t.Errorf("batch still failing after %d attempts", attempt)
						return
					}
					ev := events.SQSEvent{}
					for i, m := range b {
						ev.Records = append(ev.Records, events.SQSMessage{MessageId: strconv.Itoa(i), Body: string(jsonBody(m)),
							Attributes: map[string]string{"ApproximateReceiveCount": strconv.Itoa(attempt + 1)}})
					}
					resp, err := w.score.Handle(ctx, ev)
					if err != nil {
						t.Error(err)
						return
					}
					var again []leadscore.ScoreMessage
					for _, f := range resp.BatchItemFailures {
						i, _ := strconv.Atoi(f.ItemIdentifier)
						again = append(again, b[i])
					}
					if len(again) > 0 {
						mu.Lock()
						retries++
						mu.Unlock()
					}
					b = again
				}
			}
		}()
	}
	wg.Wait()

	rules := scoring.DefaultRules()
	var versions int64
	for l, id := range ids {
		rec, err := w.rawDDB.ReadLead(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		versions += rec.Version
		hist, err := w.rawDDB.EventHistory(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range hist {
			got = append(got, e.EventID)
		}
		sort.Strings(got)
		var want []string
		for i := range perLead {
			want = append(want, fmt.Sprintf("hot-%d-%d", l, i))
		}
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("lead %d: recorded %d events, want %d", l, len(got), len(want))
		}
		ref := scoring.NewState()
		ref.Apply(hist, rules)
		if msg := compareScores(viewOf(t, w.rawDDB, &rec.Lead), ref.Evaluate(rules, rec.EvaluatedAt), ref); msg != "" {
			t.Errorf("lead %d: lost update? %s", l, msg)
		}
	}
	u := meter.Usage()
	writes := int64(u["WriteLead"].Calls + u["MarkSent"].Calls)
	if versions != writes {
		t.Errorf("leads' versions add up to %d, but %d lead writes succeeded (WriteLead %d + MarkSent %d): a write was lost or doubled",
			versions, writes, u["WriteLead"].Calls, u["MarkSent"].Calls)
	}
	t.Logf("%d workers, %d hot leads, %d events: %d successful lead writes, %d conditional-write conflicts retried, %d batches with failed items re-sent",
		workers, leads, leads*perLead, writes, u["WriteLeadConflict"].Calls, retries)
}
