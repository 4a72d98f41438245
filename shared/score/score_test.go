package score

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/leadscore/leadscore/shared/dynamodb"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

var fitAttrs = map[string]any{"job_title": "Director of IT", "company_size": 500.0, "industry": "software", "country": "US"}

func event(id, typ, email, anon string, at time.Time, props map[string]any) *scoring.Event {
	return &scoring.Event{EventID: id, Type: typ, OccurredAt: at.UTC(), Email: email, AnonymousID: anon, Properties: props}
}

func evMsg(e *scoring.Event) leadscore.ScoreMessage {
	return leadscore.ScoreMessage{Kind: leadscore.KindEvent, LeadID: leadscore.SubjectID(e), Event: e}
}

// randomEvents is one lead's event set: a form with fit attributes and a
// mix of positive engagement, so scores only rise while events arrive (the
// condition under which docs/scoring.md promises the same stage in any order).
func randomEvents(rng *rand.Rand, lead int, email, anon string, now time.Time) (identified, anonymous []*scoring.Event) {
	kinds := []struct {
		typ   string
		props map[string]any
	}{
		{"page_view", map[string]any{"url": "/pricing"}},
		{"page_view", map[string]any{"url": "/docs/start"}},
		{"page_view", map[string]any{"url": "/pricing", "duration_s": 90.0}},
		{"content_download", map[string]any{"funnel_stage": "bottom"}},
		{"content_download", map[string]any{"funnel_stage": "top"}},
		{"webinar_register", nil},
		{"email_open", nil},
		{"demo_request", nil},
	}
	at := func() time.Time { return now.Add(-time.Duration(rng.IntN(20*24*60)) * time.Minute) }
	form := event(fmt.Sprintf("L%d-form", lead), "form_submit", email, "", at(), nil)
	form.Lead = fitAttrs
	identified = append(identified, form)
	for i := range 2 + rng.IntN(12) {
		k := kinds[rng.IntN(len(kinds))]
		identified = append(identified, event(fmt.Sprintf("L%d-e%d", lead, i), k.typ, email, "", at(), k.props))
	}
	if anon != "" {
		for i := range 1 + rng.IntN(5) {
			k := kinds[rng.IntN(3)]
			anonymous = append(anonymous, event(fmt.Sprintf("L%d-v%d", lead, i), k.typ, "", anon, at(), k.props))
		}
		// The stitch: an event that names both.
		identified = append(identified, event(fmt.Sprintf("L%d-stitch", lead), "page_view", email, anon, at(), map[string]any{"url": "/pricing"}))
	}
	return identified, anonymous
}

func fromScratch(evs []*scoring.Event, now time.Time) scoring.Result {
	st := scoring.NewState()
	flat := make([]scoring.Event, len(evs))
	for i, e := range evs {
		flat[i] = *e
	}
	st.Apply(flat, scoring.DefaultRules())
	return st.Evaluate(scoring.DefaultRules(), now)
}

// TestPropertyConcurrentBatchesEqualScoringFromScratch sends random event
// sets for many leads in random orders, split into batches handled by
// concurrent invocations, with duplicate events, client resends and SQS
// redeliveries: every lead must equal scoring its event set from scratch,
// and every transition in its history must have reached the handoff queue.
func TestPropertyConcurrentBatchesEqualScoringFromScratch(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := getenvSeed(); s != 0 {
		seed = s
	}
	t.Logf("seed %d (set SCORE_SEED to replay)", seed)
	now := t0
	eachBackend(t, now, func(t *testing.T, e *env) {
		rng := rand.New(rand.NewPCG(seed, 7))
		const leads = 24
		want, msgs := propertyWorkload(rng, leads, now)
		redelivered, failedTotal := deliverConcurrently(t, e, rng, seed, msgs)
		t.Logf("%d leads, %d redeliveries, %d failed messages retried", leads, redelivered, failedTotal)
		checkAgainstScratch(t, e, want, now)
	})
}

// propertyWorkload is random event sets for leads, as score messages in a
// random order with client resends, and each lead's events.
func propertyWorkload(rng *rand.Rand, leads int, now time.Time) (map[string][]*scoring.Event, []leadscore.ScoreMessage) {
	want := map[string][]*scoring.Event{}
	var msgs []leadscore.ScoreMessage
	for l := range leads {
		email := fmt.Sprintf("prop-%d@acme.io", l)
		anon := ""
		if l%3 == 0 {
			anon = fmt.Sprintf("cookie-%d", l)
		}
		id, an := randomEvents(rng, l, email, anon, now)
		lid := leadscore.LeadID(email)
		want[lid] = append(append(want[lid], id...), an...)
		for _, ev := range append(id, an...) {
			msgs = append(msgs, evMsg(ev))
			if rng.IntN(5) == 0 { // a client resending the same event_id
				msgs = append(msgs, evMsg(ev))
			}
		}
	}
	rng.Shuffle(len(msgs), func(i, j int) { msgs[i], msgs[j] = msgs[j], msgs[i] })
	return want, msgs
}

// deliverConcurrently hands msgs to the handler in random batches from four
// concurrent invocations, redelivering what failed and, now and then, what
// succeeded (SQS is at-least-once), until everything succeeded.
func deliverConcurrently(t *testing.T, e *env, rng *rand.Rand, seed uint64, msgs []leadscore.ScoreMessage) (redelivered, failedTotal int) {
	work := make(chan []events.SQSMessage, len(msgs))
	var pending sync.WaitGroup
	var mu sync.Mutex
	submit := func(recs []events.SQSMessage) {
		pending.Add(1)
		work <- recs
	}
	for len(msgs) > 0 {
		n := min(1+rng.IntN(10), len(msgs))
		var recs []events.SQSMessage
		for _, m := range msgs[:n] {
			recs = append(recs, record(t, m))
		}
		msgs = msgs[n:]
		submit(recs)
	}
	var workers sync.WaitGroup
	for w := range 4 {
		workers.Add(1)
		go func() {
			defer workers.Done()
			wrng := rand.New(rand.NewPCG(seed, uint64(w)))
			for recs := range work {
				resp, err := e.h.Handle(context.Background(), events.SQSEvent{Records: recs})
				if err != nil {
					t.Errorf("Handle: %v", err)
				}
				failed := map[string]bool{}
				for _, f := range resp.BatchItemFailures {
					failed[f.ItemIdentifier] = true
				}
				var again []events.SQSMessage
				for _, r := range recs {
					if failed[r.MessageId] || wrng.IntN(10) == 0 {
						again = append(again, r)
					}
				}
				mu.Lock()
				failedTotal += len(failed)
				redelivered += len(again)
				mu.Unlock()
				if len(again) > 0 {
					submit(again)
				}
				pending.Done()
			}
		}()
	}
	pending.Wait()
	close(work)
	workers.Wait()
	return redelivered, failedTotal
}

// checkAgainstScratch: every lead equals scoring its event set from
// scratch, its outbox is empty, and every transition in its history reached
// the handoff queue.
func checkAgainstScratch(t *testing.T, e *env, want map[string][]*scoring.Event, now time.Time) {
	handed := map[string]bool{}
	for _, h := range drainHandoffs(t, e) {
		handed[h.TransitionID] = true
	}
	for lid, evs := range want {
		got, err := e.store.Lead(context.Background(), lid)
		if err != nil {
			t.Fatalf("lead %s: %v", lid, err)
		}
		gv := viewOf(t, e.store, got)
		exp := fromScratch(evs, now)
		if gv.Score != exp.Score {
			t.Errorf("lead %s: score %+v, from scratch %+v", lid, gv.Score, exp.Score)
		}
		if !reflect.DeepEqual(gv.Breakdown, exp.Breakdown) {
			t.Errorf("lead %s: breakdown differs from scratch:\n got %+v\nwant %+v", lid, gv.Breakdown, exp.Breakdown)
		}
		if gv.Stage != exp.Stage {
			t.Errorf("lead %s: stage %s, from scratch %s", lid, gv.Stage, exp.Stage)
		}
		if len(got.Outbox) != 0 {
			t.Errorf("lead %s: %d transitions left unsent", lid, len(got.Outbox))
		}
		for _, tr := range gv.StageHistory {
			if !handed[leadscore.TransitionID(lid, tr)] {
				t.Errorf("lead %s: transition %s->%s never reached the handoff queue", lid, tr.From, tr.To)
			}
		}
	}
}

func getenvSeed() uint64 {
	s, _ := strconv.ParseUint(lookupEnv("SCORE_SEED"), 10, 64)
	return s
}

// TestCrashBetweenWriteAndSendLosesNoTransition kills the lead's processing
// right after its write: the transitions stay in the outbox, the lead is due
// for the sweep, and the evaluate message the sweep sends delivers them with
// the transition ids they were written with.
func TestCrashBetweenWriteAndSendLosesNoTransition(t *testing.T) {
	eachBackend(t, t0, func(t *testing.T, e *env) {
		crashed := false
		e.h.afterWrite = func(context.Context, string) error {
			if !crashed {
				crashed = true
				return errors.New("injected crash")
			}
			return nil
		}
		form := event("c-form", "form_submit", "crash@acme.io", "", t0.Add(-time.Hour), nil)
		form.Lead = fitAttrs
		demo := event("c-demo", "demo_request", "crash@acme.io", "", t0.Add(-time.Minute), nil)
		in := batch(t, evMsg(form), evMsg(demo))
		resp, err := e.h.Handle(t.Context(), in)
		if err != nil || len(resp.BatchItemFailures) != 2 {
			t.Fatalf("crashed batch: %v, failures %d, want both messages failed", err, len(resp.BatchItemFailures))
		}
		if hs := drainHandoffs(t, e); len(hs) != 0 {
			t.Fatalf("%d handoffs sent before the crash point", len(hs))
		}
		lid := leadscore.LeadID("crash@acme.io")
		rec, err := e.store.ReadLead(t.Context(), lid)
		if err != nil {
			t.Fatal(err)
		}
		rv := viewOf(t, e.store, &rec.Lead)
		// A new lead starts as a lead, so the one transition is lead -> mql.
		if len(rec.Outbox) != 1 || rv.Stage != scoring.StageMQL || rec.Outbox[0].Type != "lead.mql" {
			t.Fatalf("after the crash: stage %s, outbox %+v; want mql with the lead.mql transition unsent", rv.Stage, rec.Outbox)
		}
		written := []string{rec.Outbox[0].TransitionID}
		ids, _, _, err := e.store.DueLeads(t.Context(), e.store.DueShard(lid), t0.Add(leadscore.OutboxResend), 100, "")
		if err != nil || !slices.Contains(ids, lid) {
			t.Fatalf("lead with an unsent outbox is not due for the sweep: %v %v", ids, err)
		}
		// SQS redelivers the crashed batch: the events are not counted again.
		if resp, err := e.h.Handle(t.Context(), batch(t, evMsg(form), evMsg(demo))); err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("redelivery: %v %v", resp, err)
		}
		// The sweep's evaluate message resends the outbox.
		sweepNow := t0.Add(2 * time.Minute)
		if resp, err := e.h.Handle(t.Context(), batch(t, leadscore.ScoreMessage{Kind: leadscore.KindEvaluate, LeadID: lid, Now: sweepNow})); err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("evaluate: %v %v", resp, err)
		}
		var got []string
		for _, h := range drainHandoffs(t, e) {
			got = append(got, h.TransitionID)
			if h.Lead.LeadID != lid || h.Lead.Stage != scoring.StageMQL {
				t.Errorf("handoff %s carries lead %s stage %s", h.TransitionID, h.Lead.LeadID, h.Lead.Stage)
			}
		}
		slices.Sort(got)
		slices.Sort(written)
		if !slices.Equal(got, written) {
			t.Fatalf("delivered %v, want the written transitions %v", got, written)
		}
		after, _ := e.store.ReadLead(t.Context(), lid)
		av := viewOf(t, e.store, &after.Lead)
		exp := fromScratch([]*scoring.Event{form, demo}, t0)
		if len(after.Outbox) != 0 || av.Score != exp.Score {
			t.Fatalf("after the resend: outbox %d, score %+v; want empty and %+v", len(after.Outbox), av.Score, exp.Score)
		}
	})
}

// TestOneLeadWritePerLeadPerBatch counts the lead writes of a batch of many
// events for one lead: one, plus one record per event.
func TestOneLeadWritePerLeadPerBatch(t *testing.T) {
	e := newEnv(t, t0)
	var msgs []leadscore.ScoreMessage
	for i := range 60 {
		msgs = append(msgs, evMsg(event(fmt.Sprintf("one-%d", i), "page_view", "one@acme.io", "", t0.Add(-time.Duration(i)*time.Hour), map[string]any{"url": "/docs"})))
	}
	m := &dynamodb.CapacityMeter{}
	resp, err := e.h.Handle(dynamodb.WithMeter(t.Context(), m), batch(t, msgs...))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle: %v %v", resp, err)
	}
	u := m.Usage()
	if u["WriteLead"].Calls != 1 || u["RecordEvent"].Calls != 60 || u["ReadLead"].Calls != 1 {
		t.Fatalf("calls %+v: want 1 WriteLead, 1 ReadLead, 60 RecordEvent", u)
	}
	t.Logf("60 events for one lead: %.1f capacity units (%.2f per event), %+v", m.Total(), m.Total()/60, u)
}

// TestStitchingMergesVisitorHistory: a cookie's events before and after the
// event naming both the cookie and an email all belong to the lead.
func TestStitchingMergesVisitorHistory(t *testing.T) {
	eachBackend(t, t0, func(t *testing.T, e *env) {
		email, anon := "stitch@acme.io", "cookie-stitch"
		v1 := event("s-v1", "page_view", "", anon, t0.Add(-3*time.Hour), map[string]any{"url": "/pricing"})
		v2 := event("s-v2", "page_view", "", anon, t0.Add(-2*time.Hour), map[string]any{"url": "/pricing"})
		both := event("s-both", "form_submit", email, anon, t0.Add(-time.Hour), nil)
		both.Lead = fitAttrs
		v3 := event("s-v3", "page_view", "", anon, t0.Add(-time.Minute), map[string]any{"url": "/pricing", "duration_s": 120.0})
		for _, b := range [][]*scoring.Event{{v1, v2}, {both}, {v3}} {
			var msgs []leadscore.ScoreMessage
			for _, ev := range b {
				msgs = append(msgs, evMsg(ev))
			}
			if resp, err := e.h.Handle(t.Context(), batch(t, msgs...)); err != nil || len(resp.BatchItemFailures) != 0 {
				t.Fatalf("Handle: %v %v", resp, err)
			}
		}
		lid, vid := leadscore.LeadID(email), leadscore.VisitorID(anon)
		got, err := e.store.Lead(t.Context(), lid)
		if err != nil {
			t.Fatal(err)
		}
		gv := viewOf(t, e.store, got)
		exp := fromScratch([]*scoring.Event{v1, v2, both, v3}, t0)
		if gv.Score != exp.Score || gv.Stage != exp.Stage {
			t.Fatalf("stitched lead: %+v %s, want %+v %s", gv.Score, gv.Stage, exp.Score, exp.Stage)
		}
		if owner, _ := e.store.VisitorLead(t.Context(), vid); owner != lid {
			t.Fatalf("visitor merged_into %q, want %s", owner, lid)
		}
		hist, _ := e.store.EventHistory(t.Context(), lid)
		if len(hist) != 4 {
			t.Fatalf("lead history has %d events, want 4", len(hist))
		}
		// Erasure takes the visitor along.
		if err := e.store.EraseLead(t.Context(), lid); err != nil {
			t.Fatal(err)
		}
		if h, _ := e.store.EventHistory(t.Context(), vid); len(h) != 0 {
			t.Fatalf("visitor history survived erasure: %d events", len(h))
		}
		if owner, _ := e.store.VisitorLead(t.Context(), vid); owner != "" {
			t.Fatalf("visitor link survived erasure")
		}
	})
}

// TestRescoreTwiceMovesOnce: a new rules version with a lower MQL bar moves
// a lead once, however many times its rescore message arrives.
func TestRescoreTwiceMovesOnce(t *testing.T) {
	eachBackend(t, t0, func(t *testing.T, e *env) {
		form := event("r-form", "form_submit", "rescore@acme.io", "", t0.Add(-time.Hour), nil)
		form.Lead = fitAttrs
		if resp, err := e.h.Handle(t.Context(), batch(t, evMsg(form))); err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("Handle: %v %v", resp, err)
		}
		lid := leadscore.LeadID("rescore@acme.io")
		before, _ := e.store.Lead(t.Context(), lid)
		bv := viewOf(t, e.store, before)
		if bv.Stage != scoring.StageLead {
			t.Fatalf("before the rescore the lead is %s, want lead", bv.Stage)
		}
		doc := string(scoring.DefaultRulesYAML())
		doc = replaceOnce(t, doc, "engagement_min: 50", "engagement_min: 5")
		r, err := scoring.ParseRules([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		v, err := e.store.PublishRules(t.Context(), r)
		if err != nil {
			t.Fatal(err)
		}
		msg := leadscore.ScoreMessage{Kind: leadscore.KindRescore, LeadID: lid, RulesVersion: v, Now: t0.Add(time.Minute)}
		for i := range 2 {
			if resp, err := e.h.Handle(t.Context(), batch(t, msg)); err != nil || len(resp.BatchItemFailures) != 0 {
				t.Fatalf("rescore %d: %v %v", i, resp, err)
			}
		}
		after, _ := e.store.Lead(t.Context(), lid)
		av := viewOf(t, e.store, after)
		moves := 0
		for _, tr := range av.StageHistory {
			if tr.To == scoring.StageMQL {
				moves++
			}
		}
		if av.Stage != scoring.StageMQL || moves != 1 || av.RulesVersion != v {
			t.Fatalf("after two rescores: stage %s, %d moves to mql, rules %d; want mql, 1, %d", av.Stage, moves, av.RulesVersion, v)
		}
		mql := 0
		for _, h := range drainHandoffs(t, e) {
			if h.Type == "lead.mql" {
				mql++
			}
		}
		if mql != 1 {
			t.Fatalf("%d lead.mql handoffs, want 1", mql)
		}
	})
}

// TestPoisonMessageReachesDLQAlone drives the handler the way Lambda's SQS
// event source does, against the real queue: receive a batch, delete what
// did not fail. The poison message is received maxReceiveCount (5) times
// and then moved to the DLQ by SQS's redrive, as AWS documents; the nine
// others succeed on their first receive.
func TestPoisonMessageReachesDLQAlone(t *testing.T) {
	e := newEnv(t, t0)
	ctx := t.Context()
	var entries []sqstypes.SendMessageBatchRequestEntry
	for i := range 9 {
		body, _ := jsonMarshal(evMsg(event(fmt.Sprintf("p-%d", i), "page_view", fmt.Sprintf("poison-%d@acme.io", i), "", t0.Add(-time.Hour), nil)))
		entries = append(entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(body))})
	}
	entries = append(entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String("poison"), MessageBody: aws.String(`{"kind":"event","event":{"event_id":`)})
	if _, err := e.sqs.SendMessageBatch(ctx, &awssqs.SendMessageBatchInput{QueueUrl: aws.String(stack.ScoreQueueURL), Entries: entries}); err != nil {
		t.Fatal(err)
	}
	receives := driveLikeLambda(t, e, stack.ScoreQueueURL)
	dlq, err := e.sqs.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(stack.ScoreDLQURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(dlq.Messages) != 1 || aws.ToString(dlq.Messages[0].Body) != `{"kind":"event","event":{"event_id":` {
		t.Fatalf("DLQ holds %d messages, want exactly the poison one", len(dlq.Messages))
	}
	poisonReceives := receives[`{"kind":"event","event":{"event_id":`]
	if poisonReceives < 4 || poisonReceives > 5 {
		t.Fatalf("poison received %d times before the DLQ, want maxReceiveCount (5; the emulator may move it one early)", poisonReceives)
	}
	for i := range 9 {
		lid := leadscore.LeadID(fmt.Sprintf("poison-%d@acme.io", i))
		if _, err := e.store.Lead(ctx, lid); err != nil {
			t.Errorf("lead %d of the poison's batch: %v", i, err)
		}
	}
	for body, n := range receives {
		if n != 1 && body != `{"kind":"event","event":{"event_id":` {
			t.Errorf("a good message was received %d times", n)
		}
	}
}

// driveLikeLambda is Lambda's SQS event source against the real queue:
// receive a batch (with a 1 s visibility, so failed messages return soon),
// invoke, delete what did not fail, until the queue is empty. It returns
// how often each body was received.
func driveLikeLambda(t *testing.T, e *env, queueURL string) map[string]int {
	t.Helper()
	ctx := t.Context()
	receives := map[string]int{}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		res, err := e.sqs.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{
			QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			// A short visibility instead of the queue's 180 s, so the
			// failed message comes back quickly.
			VisibilityTimeout: 1,
			// The emulator returns ApproximateReceiveCount only when asked
			// through AttributeNames: All (docs/architecture.md).
			//lint:ignore SA1019 local-aws-sqs returns ApproximateReceiveCount only through AttributeNames (docs/architecture.md)
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Messages) == 0 {
			attrs, err := e.sqs.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: aws.String(queueURL),
				AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
			if err != nil {
				t.Fatal(err)
			}
			if attrs.Attributes["ApproximateNumberOfMessages"] == "0" && attrs.Attributes["ApproximateNumberOfMessagesNotVisible"] == "0" {
				break
			}
			continue
		}
		var ev events.SQSEvent
		for _, m := range res.Messages {
			receives[aws.ToString(m.Body)]++
			ev.Records = append(ev.Records, events.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
				Body: aws.ToString(m.Body), Attributes: m.Attributes})
		}
		resp, err := e.h.Handle(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		failed := map[string]bool{}
		for _, f := range resp.BatchItemFailures {
			failed[f.ItemIdentifier] = true
		}
		for _, r := range ev.Records {
			if !failed[r.MessageId] {
				if _, err := e.sqs.DeleteMessage(ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: aws.String(r.ReceiptHandle)}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return receives
}

func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	i := indexOf(s, old)
	if i < 0 {
		t.Fatalf("default rules have no %q", old)
	}
	return s[:i] + new + s[i+len(old):]
}

// TestResentEventIsNotRecordedAgain: an event the lead's ring holds (a
// client's resend after the first was applied) is a duplicate without a
// record put (whose condition would only fail, billed); a new event in the
// same batch is still recorded and counted.
func TestResentEventIsNotRecordedAgain(t *testing.T) {
	e := newMockEnv(t, t0)
	store := e.store.(mockStore).Store
	first := event("resend-1", "page_view", "ada@acme.io", "", t0, nil)
	handle(t, e, evMsg(first))
	before := store.Calls("RecordEvents")
	handle(t, e, evMsg(event("resend-1", "page_view", "ada@acme.io", "", t0, nil)))
	if n := store.Calls("RecordEvents") - before; n != 0 {
		t.Errorf("the resent event was recorded %d more times; want no put", n)
	}
	handle(t, e, evMsg(event("resend-1", "page_view", "ada@acme.io", "", t0, nil)), evMsg(event("resend-2", "page_view", "ada@acme.io", "", t0.Add(time.Second), nil)))
	id := leadscore.LeadID("ada@acme.io")
	hist, err := store.EventHistory(t.Context(), id)
	if err != nil || len(hist) != 2 {
		t.Errorf("history %d events (%v), want the two distinct ones", len(hist), err)
	}
	rec, err := store.ReadLead(t.Context(), id)
	if err != nil || !rec.Applied.Contains("resend-1") || !rec.Applied.Contains("resend-2") || rec.Applied.Len() != 2 {
		t.Errorf("applied ids: %d (%v); want resend-1 and resend-2, once each", rec.Applied.Len(), err)
	}
}
