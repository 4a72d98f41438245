package score

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	lsapi "github.com/leadscore/leadscore/shared/api"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/logging"
	"github.com/leadscore/leadscore/shared/metrics"
	"github.com/leadscore/leadscore/shared/scoring"
)

const apiKey = "rescore-test-key"

// api is the api function's handler over the same table and queue, wired
// as functions/api wires it.
func api(e *env) *lsapi.Handler {
	// The DynamoDB store keeps versions, previews and events; the mocks
	// have no previews, and those routes then answer 503.
	history, _ := e.store.(leadscore.RulesHistory)
	previews, _ := e.store.(leadscore.PreviewStore)
	events, _ := e.store.(leadscore.EventReader)
	h, err := lsapi.New(lsapi.Options{
		Leads: e.store, Eraser: e.store, Rules: e.store, Rescores: e.store, Reports: e.store, Accounts: e.accounts, Members: e.accounts, Queue: e.queue,
		History: history, Previews: previews, Events: events, APIKey: apiKey,
		Logger: logging.New(io.Discard, "api-test", "info"), Metrics: metrics.New(io.Discard, "api-test"),
		Now: func() time.Time { return t0 },
		// The tests drain the rescore at once.
		RescoreSettle: -1,
	})
	if err != nil {
		panic(err)
	}
	return h
}

func request(method, path, body, contentType string) events.APIGatewayV2HTTPRequest {
	req := events.APIGatewayV2HTTPRequest{RawPath: path, Body: body,
		Headers: map[string]string{"x-api-key": apiKey, "content-type": contentType}}
	req.RequestContext.HTTP.Method = method
	return req
}

// publish PUTs doc through the API and returns the new version; the
// answer must say the rescore started.
func publish(t testing.TB, h *lsapi.Handler, doc string) int {
	t.Helper()
	resp, err := h.Handle(context.Background(), request("PUT", "/v1/rules", doc, "application/json"))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT /v1/rules: %d %s %v", resp.StatusCode, resp.Body, err)
	}
	var body lsapi.PublishedBody
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatal(err)
	}
	if body.Rescore == nil || !body.Rescore.Started || body.Rescore.Progress != "/v1/rules/"+strconv.Itoa(body.Version)+"/rescore" {
		t.Fatalf("PUT /v1/rules answered %s; want the rescore started", resp.Body)
	}
	return body.Version
}

// progress reads GET /v1/rules/{version}/rescore.
func progress(t testing.TB, h *lsapi.Handler, v int) (leadscore.RescoreJob, int) {
	t.Helper()
	req := request("GET", "/v1/rules/"+strconv.Itoa(v)+"/rescore", "", "")
	resp, err := h.Handle(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var job leadscore.RescoreJob
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal([]byte(resp.Body), &job); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{`"version"`, `"started_at"`, `"finished_at"`, `"leads_enqueued"`, `"leads_done"`, `"leads_left"`, `"scan_complete"`} {
			if !strings.Contains(resp.Body, k) {
				t.Fatalf("progress %s lacks %s", resp.Body, k)
			}
		}
	}
	return job, resp.StatusCode
}

// drive feeds the handler from the real score queue, as Lambda's event
// source does, with workers pollers, until the queue stays empty while no
// worker holds a batch. With twice, every batch is handled a second time
// before it is deleted: every message is delivered twice.
func drive(t testing.TB, e *env, workers int, twice bool) (handled int64) {
	t.Helper()
	var inFlight, total atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			empty := 0
			for empty < 3 {
				n, err := driveOnce(e, twice, &inFlight)
				if err != nil {
					errs <- err
					return
				}
				total.Add(int64(n))
				if n == 0 && inFlight.Load() == 0 {
					empty++
				} else if n > 0 {
					empty = 0
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return total.Load()
}

// driveOnce handles one received batch; inFlight counts the workers
// holding messages, so an empty receive while another worker may still
// enqueue more does not end the drive.
func driveOnce(e *env, twice bool, inFlight *atomic.Int64) (int, error) {
	ctx := context.Background()
	res, err := e.sqs.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(stack.ScoreQueueURL),
		MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{"All"}})
	if err != nil {
		return 0, err
	}
	if len(res.Messages) == 0 {
		return 0, nil
	}
	inFlight.Add(1)
	defer inFlight.Add(-1)
	var ev events.SQSEvent
	for _, m := range res.Messages {
		if e.received != nil {
			e.received(aws.ToString(m.Body))
		}
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: aws.ToString(m.MessageId), Body: aws.ToString(m.Body),
			ReceiptHandle: aws.ToString(m.ReceiptHandle)})
	}
	rounds := 1
	if twice {
		rounds = 2
	}
	failed := map[string]bool{}
	for range rounds {
		resp, err := e.h.Handle(ctx, ev)
		if err != nil {
			return 0, err
		}
		for _, f := range resp.BatchItemFailures {
			failed[f.ItemIdentifier] = true
		}
	}
	var del []sqstypes.DeleteMessageBatchRequestEntry
	for i, m := range res.Messages {
		id := aws.ToString(m.MessageId)
		if failed[id] {
			// Make it visible again now rather than after the 180 s timeout.
			if _, err := e.sqs.ChangeMessageVisibility(ctx, &awssqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(stack.ScoreQueueURL),
				ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
				return 0, err
			}
			continue
		}
		del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
	}
	if len(del) > 0 {
		if _, err := e.sqs.DeleteMessageBatch(ctx, &awssqs.DeleteMessageBatchInput{QueueUrl: aws.String(stack.ScoreQueueURL), Entries: del}); err != nil {
			return 0, err
		}
	}
	if len(failed) > 0 {
		return len(res.Messages), fmt.Errorf("%d of %d messages failed", len(failed), len(res.Messages))
	}
	return len(res.Messages), nil
}

// rulesWithEngagementMin is the default document with another MQL
// engagement threshold.
func rulesWithEngagementMin(t testing.TB, min float64) string {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(scoring.DefaultRules().Document(), &doc); err != nil {
		t.Fatal(err)
	}
	mql, ok := doc["mql"].(map[string]any)
	if !ok || mql["engagement_min"] != 50.0 {
		t.Fatalf("default rules mql %v; want engagement_min 50", doc["mql"])
	}
	mql["engagement_min"] = min
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRulesChangeMovesALeadToMQLWithOneHandoff(t *testing.T) {
	for _, twice := range []bool{false, true} {
		t.Run(fmt.Sprintf("every message delivered twice=%v", twice), func(t *testing.T) {
			e := newEnv(t, t0)
			ih := api(e)
			email := "ada@example.com"
			form := event("form-1", "form_submit", email, "", t0.Add(-time.Hour), nil)
			form.Lead = fitAttrs // fit 50
			pricing := event("pv-1", "page_view", email, "", t0.Add(-time.Hour), map[string]any{"url": "/pricing"})
			// A second lead far from any threshold: a rescore must not move it.
			other := event("pv-2", "page_view", "bob@example.com", "", t0.Add(-time.Hour), map[string]any{"url": "/blog"})
			if resp, _ := e.h.Handle(t.Context(), batch(t, evMsg(form), evMsg(pricing), evMsg(other))); len(resp.BatchItemFailures) > 0 {
				t.Fatalf("scoring the events: %+v", resp)
			}
			lead, err := e.store.Lead(t.Context(), leadscore.LeadID(email))
			if err != nil || viewOf(t, e.store, lead).Stage != scoring.StageLead || viewOf(t, e.store, lead).Score.Engagement >= 50 || viewOf(t, e.store, lead).Score.Fit < 40 {
				t.Fatalf("before the change: %+v %v; want a lead with fit >= 40 and engagement under 50", viewOf(t, e.store, lead).Score, err)
			}
			drainHandoffs(t, e) // the visitor→lead moves

			v := publish(t, ih, rulesWithEngagementMin(t, 20))
			if job, status := progress(t, ih, v); status != 200 || job.StartedAt.IsZero() || job.FinishedAt != nil {
				t.Fatalf("progress right after the publish: %d %+v", status, job)
			}
			drive(t, e, 1, twice)

			lead, err = e.store.Lead(t.Context(), leadscore.LeadID(email))
			if err != nil || viewOf(t, e.store, lead).Stage != scoring.StageMQL || lead.RulesVersion != v {
				t.Fatalf("after the rescore: stage %s rules %d (%v); want mql under version %d", viewOf(t, e.store, lead).Stage, lead.RulesVersion, err, v)
			}
			hs := drainHandoffs(t, e)
			var mqls []leadscore.Handoff
			for _, h := range hs {
				if h.Type == "lead.mql" {
					mqls = append(mqls, h)
				}
			}
			if len(mqls) != 1 || len(hs) != 1 || mqls[0].Lead.LeadID != leadscore.LeadID(email) || mqls[0].RulesVersion != v {
				t.Fatalf("handoffs after the rescore: %+v; want exactly one lead.mql for the lead, under version %d", hs, v)
			}
			job, _ := progress(t, ih, v)
			if job.LeadsEnqueued != 2 || job.LeadsDone != 2 || job.LeadsLeft != 0 || !job.ScanComplete || job.FinishedAt == nil {
				t.Fatalf("progress at the end: %+v; want 2 of 2 done and finished", job)
			}

			// Rescoring again with the same version moves nothing.
			if err := leadscore.StartRescore(t.Context(), e.store, e.queue, v, t0, 0); err != nil {
				t.Fatal(err)
			}
			if failed, err := e.queue.EnqueueScore(t.Context(), []leadscore.ScoreMessage{{Kind: leadscore.KindRescore, LeadID: leadscore.LeadID(email), RulesVersion: v}}); err != nil || len(failed) > 0 {
				t.Fatal(failed, err)
			}
			drive(t, e, 1, twice)
			if hs := drainHandoffs(t, e); len(hs) != 0 {
				t.Fatalf("a second rescore with version %d handed off %+v; want nothing", v, hs)
			}
			if again, _ := progress(t, ih, v); again.LeadsDone != 2 || again.LeadsEnqueued != 2 {
				t.Fatalf("a late duplicate moved the counts: %+v", again)
			}
		})
	}
}

func TestRescoreProgressOfUnknownVersionIs404(t *testing.T) {
	e := newEnv(t, t0)
	ih := api(e)
	if _, status := progress(t, ih, 42); status != http.StatusNotFound {
		t.Fatalf("progress of an unpublished version: %d, want 404", status)
	}
	resp, _ := ih.Handle(t.Context(), request("GET", "/v1/rules/abc/rescore", "", ""))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, `"field":"version"`) {
		t.Fatalf("progress of version abc: %d %s, want 400 naming version", resp.StatusCode, resp.Body)
	}
}

func TestNewerVersionSupersedesARunningRescore(t *testing.T) {
	e := newEnv(t, t0)
	ih := api(e)
	seedLeads(t, e, 30)
	v1 := publish(t, ih, rulesWithEngagementMin(t, 45))
	// The handler must see v2 as current at once (its cache would take
	// up to its TTL, which the supersede check tolerates).
	e.h.rules.TTL = time.Nanosecond
	v2 := publish(t, ih, rulesWithEngagementMin(t, 40))
	drive(t, e, 2, false)
	j1, _ := progress(t, ih, v1)
	j2, _ := progress(t, ih, v2)
	if j1.SupersededBy != v2 || j1.FinishedAt == nil || j1.LeadsLeft != 0 {
		t.Fatalf("version %d job: %+v; want superseded by %d and finished", v1, j1, v2)
	}
	if j2.FinishedAt == nil || j2.LeadsDone != 30 || j2.LeadsEnqueued != 30 {
		t.Fatalf("version %d job: %+v; want 30 of 30 done", v2, j2)
	}
	leads, _, err := e.store.ScanLeads(t.Context(), "", 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leads {
		if l.RulesVersion != v2 {
			t.Fatalf("lead %s at rules version %d after both rescores; want %d", l.ID, l.RulesVersion, v2)
		}
	}
}

// seedLeads writes n leads with two events each straight through the store
// (as the score function would have), in parallel.
func seedLeads(t testing.TB, e *env, n int) {
	t.Helper()
	r := scoring.DefaultRules()
	var wg sync.WaitGroup
	work := make(chan int)
	var failed atomic.Value
	for range 16 {
		wg.Go(func() {
			for i := range work {
				email := fmt.Sprintf("lead%05d@example.com", i)
				id := leadscore.LeadID(email)
				form := event(fmt.Sprintf("s%d-form", i), "form_submit", email, "", t0.Add(-time.Hour), nil)
				form.Lead = fitAttrs
				pv := event(fmt.Sprintf("s%d-pv", i), "page_view", email, "", t0.Add(-time.Hour), map[string]any{"url": "/pricing"})
				evs := []scoring.Event{*form, *pv}
				for _, rec := range e.store.RecordEvents(context.Background(), id, evs, t0) {
					if rec.Err != nil {
						failed.Store(rec.Err)
						return
					}
				}
				rec := &leadscore.LeadRecord{}
				rec.ID, rec.Email, rec.State = id, email, scoring.NewLeadState()
				rec.State.Apply(evs, r)
				res := rec.State.Evaluate(r, t0)
				rec.View = leadscore.BuildView(id, email, rec.State, res, 0, t0)
				if err := e.store.WriteLead(context.Background(), rec, t0); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		t.Fatal(err)
	}
}

// TestRescoreOfManyLeadsReportsProgressToTheEnd publishes a rules change
// over LEADSCORE_RESCORE_LEADS leads (1,000 by default; 10,000 is the
// figure in README.md) and drives the real queue with 4 pollers while it
// polls the progress route: leads_done only rises, and ends at every lead
// with finished_at set.
func TestRescoreOfManyLeadsReportsProgressToTheEnd(t *testing.T) {
	n := 1000
	if s := os.Getenv("LEADSCORE_RESCORE_LEADS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatalf("LEADSCORE_RESCORE_LEADS=%q: %v", s, err)
		}
	}
	e := newEnv(t, t0)
	ih := api(e)
	start := time.Now()
	seedLeads(t, e, n)
	seeded := time.Since(start)
	// engagement_min 20 moves every seeded lead (fit 50, engagement 21) to
	// MQL: the rescore writes every lead and hands each one off.
	v := publish(t, ih, rulesWithEngagementMin(t, 20))
	start = time.Now()

	var samples []leadscore.RescoreJob
	stop := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				job, _ := progress(t, ih, v)
				samples = append(samples, job)
			}
		}
	}()
	handled := drive(t, e, 4, false)
	close(stop)
	<-polled
	took := time.Since(start)
	final, _ := progress(t, ih, v)
	samples = append(samples, final)

	for i := 1; i < len(samples); i++ {
		a, b := samples[i-1], samples[i]
		if b.LeadsDone < a.LeadsDone || b.LeadsEnqueued < a.LeadsEnqueued || b.Pages < a.Pages {
			t.Fatalf("progress went backwards between samples %d and %d: %+v then %+v", i-1, i, a, b)
		}
		if b.LeadsDone > b.LeadsEnqueued {
			t.Fatalf("sample %d: done %d over enqueued %d", i, b.LeadsDone, b.LeadsEnqueued)
		}
	}
	if final.LeadsDone != int64(n) || final.LeadsEnqueued != int64(n) || final.LeadsLeft != 0 || !final.ScanComplete || final.FinishedAt == nil {
		t.Fatalf("final progress %+v; want %d of %d done, finished", final, n, n)
	}
	distinct := slices.CompactFunc(slices.Clone(samples), func(a, b leadscore.RescoreJob) bool { return a.LeadsDone == b.LeadsDone })
	t.Logf("rescore of %d leads: seeded in %s; %d messages handled in %s (%.0f leads/s), %d pages, %d progress samples (%d distinct leads_done values)",
		n, seeded.Round(time.Millisecond), handled, took.Round(time.Millisecond), float64(n)/took.Seconds(), final.Pages, len(samples), len(distinct))
	checkAllMQLOnce(t, e, n, v)
}

// checkAllMQLOnce: all n leads are MQLs under rules version v, and each
// one's lead.mql was handed off exactly once.
func checkAllMQLOnce(t *testing.T, e *env, n, v int) {
	t.Helper()
	mql := 0
	for cursor := ""; ; {
		leads, next, err := e.store.ScanLeads(t.Context(), cursor, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range leads {
			if viewOf(t, e.store, l).Stage == scoring.StageMQL && l.RulesVersion == v {
				mql++
			}
		}
		if cursor = next; next == "" {
			break
		}
	}
	if mql != n {
		t.Fatalf("%d leads in mql under version %d, want all %d", mql, v, n)
	}
	// Every lead's transition was handed off, once (receive until the
	// queue has been empty a while: the emulator answers a receive from a
	// deep queue with nothing now and then).
	seen := map[string]int{}
	for empty := 0; empty < 20; {
		hs := drainHandoffs(t, e)
		if len(hs) == 0 {
			empty++
		}
		for _, h := range hs {
			seen[h.Lead.LeadID+" "+h.Type]++
		}
	}
	for k, c := range seen {
		if c != 1 {
			t.Fatalf("handoff %s sent %d times", k, c)
		}
	}
	if len(seen) != n {
		t.Fatalf("%d distinct handoffs, want one lead.mql per lead (%d)", len(seen), n)
	}
}

// TestHandlerRulesTTLIsUnderAMinute: the handler's rules cache (whose
// refresh leadscore's TestRulesCacheRefreshesWithinItsTTL proves) picks a
// new version up within a minute.
func TestHandlerRulesTTLIsUnderAMinute(t *testing.T) {
	e := newMockEnv(t, t0)
	if e.h.rules.TTL <= 0 || e.h.rules.TTL > time.Minute {
		t.Fatalf("default rules TTL %s; a new version must be picked up within a minute", e.h.rules.TTL)
	}
}

func TestParsePageMessage(t *testing.T) {
	tests := []struct {
		body    string
		version int
		isPage  bool
		wantErr bool
	}{
		{body: `{"kind":"rescore_page","lead_id":"rescore_v3","rules_version":3}`, version: 3, isPage: true},
		{body: `{"kind":"rescore_page"}`, isPage: true, wantErr: true},
		{body: `{"kind":"rescore","lead_id":"ld_x","rules_version":3}`},
		{body: `{"kind":"event","event":{"event_id":"rescore_page"}}`},
		{body: `not json rescore_page`},
	}
	for _, tc := range tests {
		v, isPage, err := parsePageMessage([]byte(tc.body))
		if v != tc.version || isPage != tc.isPage || (err != nil) != tc.wantErr {
			t.Errorf("parsePageMessage(%s) = %d, %v, %v; want %d, %v, error %v", tc.body, v, isPage, err, tc.version, tc.isPage, tc.wantErr)
		}
	}
}

func FuzzParsePageMessage(f *testing.F) {
	f.Add([]byte(`{"kind":"rescore_page","lead_id":"rescore_v3","rules_version":3}`))
	f.Add([]byte(`{"kind":"rescore_page","rules_version":-1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		v, isPage, err := parsePageMessage(body)
		if !isPage && (v != 0 || err != nil) {
			t.Fatalf("not a page message but got version %d, error %v", v, err)
		}
		if isPage && err == nil && v <= 0 {
			t.Fatalf("accepted a page message with version %d", v)
		}
		if !isPage {
			// Everything else goes to ParseMessage, which must not panic either.
			_, _ = ParseMessage(body)
		}
	})
}
