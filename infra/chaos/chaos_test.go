package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/leadscore/leadscore/infra/emulators"
	"github.com/leadscore/leadscore/infra/faults"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// genLead is one person of the workload.
type genLead struct {
	email, phone, cookie string
	id                   string // leadscore.LeadID
	attrs                map[string]any
	events               []map[string]any
}

type workload struct {
	leads  []*genLead
	events []map[string]any // every event, each once
}

var (
	titles     = []string{"VP Engineering", "Director of IT", "Software Engineer", "Head of Data", "Product Manager", "CTO"}
	industries = []string{"software", "retail", "healthcare", "fintech", "media"}
	countries  = []string{"US", "GB", "DE", "BR", "FR", "JP"}
)

// newWorkload builds nEvents events for nLeads leads. Some leads browse
// with a cookie first: those events name only the cookie, and one of the
// lead's identified events carries it, so the score function stitches them.
// Event types and pages stay among rules with positive points, so a lead's
// score only rises and its stage must not depend on the order.
func newWorkload(seed uint64, nLeads, nEvents int, now time.Time) *workload {
	rnd := rand.New(rand.NewPCG(seed, 99))
	w := &workload{}
	// The company's attributes, the same from each of its people: an
	// account's fit then only rises too (docs/scoring.md section 7 takes
	// the latest value across its leads, so people disagreeing about their
	// company would make it move both ways, and the stage depend on the
	// order).
	type company struct {
		size              float64
		industry, country string
	}
	companies := make([]company, 37)
	for c := range companies {
		companies[c] = company{float64(10 + rnd.IntN(8000)), industries[rnd.IntN(len(industries))], countries[rnd.IntN(len(countries))]}
	}
	for i := range nLeads {
		l := &genLead{email: fmt.Sprintf("person%04d.chaos@example-%d.com", i, i%37), phone: fmt.Sprintf("+44 20 7946 %04d", i)}
		l.id = leadscore.LeadID(l.email)
		// Fixed per lead: fit then only rises (attributes appear, never
		// change), so the stage must not depend on the order either.
		co := companies[i%37]
		l.attrs = map[string]any{"first_name": "Chaos", "last_name": fmt.Sprintf("Person%d", i), "phone": l.phone,
			"job_title": titles[rnd.IntN(len(titles))], "company_size": co.size, "industry": co.industry, "country": co.country}
		if rnd.Float64() < 0.6 {
			l.cookie = fmt.Sprintf("ck-%d-%x", i, rnd.Uint32())
		}
		w.leads = append(w.leads, l)
	}
	for n := range nEvents {
		l := w.leads[rnd.IntN(nLeads)]
		if n < nLeads {
			l = w.leads[n] // every lead has at least one event
		}
		e := map[string]any{
			"event_id":    fmt.Sprintf("ev-%06d-%x", n, rnd.Uint32()),
			"occurred_at": now.Add(-time.Duration(rnd.Int64N(int64(30 * 24 * time.Hour)))).Truncate(time.Second).Format(time.RFC3339),
		}
		switch r := rnd.Float64(); {
		case r < 0.55:
			e["type"] = "page_view"
			e["properties"] = map[string]any{"url": []string{"/pricing", "/blog/scoring", "/features", "/pricing/enterprise", "/docs"}[rnd.IntN(5)],
				"duration_s": float64(rnd.IntN(120))}
		case r < 0.7:
			e["type"] = "content_download"
			e["properties"] = map[string]any{"funnel_stage": []string{"top", "middle", "bottom"}[rnd.IntN(3)], "asset_id": "guide-" + strconv.Itoa(rnd.IntN(4))}
		case r < 0.8:
			e["type"] = "form_submit"
		case r < 0.87:
			e["type"] = "webinar_register"
		case r < 0.93:
			e["type"] = "email_click"
		case r < 0.97:
			e["type"] = "trial_signup"
		default:
			e["type"] = "demo_request"
		}
		first := len(l.events) == 0
		switch {
		case l.cookie != "" && first:
			e["email"], e["anonymous_id"] = l.email, l.cookie
		case l.cookie != "" && rnd.Float64() < 0.3:
			e["anonymous_id"] = l.cookie
		case l.cookie != "" && rnd.Float64() < 0.5:
			e["email"], e["anonymous_id"] = l.email, l.cookie
		default:
			e["email"] = l.email
		}
		if e["email"] != nil && (first || rnd.Float64() < 0.3) {
			e["lead"] = l.attrs
		}
		l.events = append(l.events, e)
		w.events = append(w.events, e)
	}
	return w
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestChaos pushes the workload through the four real handlers with ~20% of
// DynamoDB and SQS attempts failing, functions dying between AWS calls,
// messages redelivered and reordered, a flaky webhook receiver, and client
// resends of the same event_ids; then checks docs/architecture.md invariants
// 1, 2 and 5, and 8 on every log line. CHAOS_EVENTS and CHAOS_LEADS set the
// size (default 2,000 and 100; the full run before a release is 10,000 and 500).
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos test: starts the emulators and runs for a minute")
	}
	nEvents, nLeads := envInt("CHAOS_EVENTS", 2000), envInt("CHAOS_LEADS", 100)
	seed := uint64(envInt("CHAOS_SEED", 1))
	start := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	began := time.Now()
	w := newWorld(t, faults.Config{FailRate: 0.2, LostShare: 0.25, MaxDelay: 20 * time.Millisecond, Seed: seed}, 0.2, start)
	wl := newWorkload(seed, nLeads, nEvents, start)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Minute)
	defer cancel()

	// Deliberate poison: it must end in the DLQs, and block nothing.
	scorePoison := []string{`not json`, `{"kind":"event","event":{"event_id":"x"}}`, `{"kind":"explode"}`}
	handoffPoison := []string{`{"transition_id":""}`, `[]`}
	for _, p := range []struct {
		url    string
		bodies []string
	}{{stack.ScoreQueueURL, scorePoison}, {stack.HandoffQueueURL, handoffPoison}} {
		for _, b := range p.bodies {
			if _, err := w.raw.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(p.url), MessageBody: aws.String(b)}); err != nil {
				t.Fatal(err)
			}
		}
	}

	// Event sources and the schedule run until the test says stop.
	pumpCtx, stopPumps := context.WithCancel(ctx)
	var pumps sync.WaitGroup
	var scorePumps, handoffPumps []*pump
	// Every queue the template feeds to the score function (the score
	// queue, and any other such as an urgent lane) gets its pollers.
	scoreQueues := scoreQueueIDs(t)
	for i := range 3 {
		for _, q := range scoreQueues {
			p := &pump{w: w, queueURL: stack.QueueURLs[q], arn: stack.QueueARNs[q], invoke: w.score.Handle,
				killRate: 0.05, rnd: rand.New(rand.NewPCG(seed, uint64(10+i)))}
			scorePumps = append(scorePumps, p)
			pumps.Add(1)
			go p.run(pumpCtx, &pumps)
		}
	}
	for i := range 2 {
		p := &pump{w: w, queueURL: stack.HandoffQueueURL, arn: stack.QueueARNs[emulators.HandoffQueueID], invoke: w.handoff.Handle,
			killRate: 0.05, mischiefBelow: 2, rnd: rand.New(rand.NewPCG(seed, uint64(20+i)))}
		handoffPumps = append(handoffPumps, p)
		pumps.Add(1)
		go p.run(pumpCtx, &pumps)
	}
	var sweeps, sweepsKilled, sweepDue atomic.Int64
	sweepOnce := func(ctx context.Context, killRate float64, rnd *rand.Rand) int {
		now := w.clock.Advance(2 * time.Minute)
		budget := -1
		if rnd.Float64() < killRate {
			budget = rnd.IntN(20)
		}
		kctx, kill := faults.WithKill(ctx, budget)
		sum, _ := w.sweep.Handle(kctx, events.EventBridgeEvent{ID: "sweep-" + strconv.FormatInt(sweeps.Add(1), 10),
			DetailType: "Scheduled Event", Source: "aws.scheduler", Time: now})
		if kill.Fired() {
			sweepsKilled.Add(1)
		}
		sweepDue.Add(int64(sum.Due))
		return sum.Due
	}
	pumps.Add(1)
	go func() {
		defer pumps.Done()
		rnd := rand.New(rand.NewPCG(seed, 30))
		for pumpCtx.Err() == nil {
			sweepOnce(pumpCtx, 0.05, rnd)
			select {
			case <-pumpCtx.Done():
			case <-time.After(2 * time.Second):
			}
		}
	}()

	// Clients: requests of 1 to 25 events in random order (reordering), a
	// request resent with the same event_ids until it is answered 202, and
	// 5% of accepted requests sent again anyway (duplicates).
	rnd := rand.New(rand.NewPCG(seed, 40))
	order := slices.Clone(wl.events)
	rnd.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	var requests [][]map[string]any
	for len(order) > 0 {
		n := min(1+rnd.IntN(25), len(order))
		requests = append(requests, order[:n])
		order = order[n:]
	}
	var posts, resends, clientDupes, status202 atomic.Int64
	statuses := sync.Map{}
	accepted := sync.Map{} // event_id -> lead_id the API answered
	reqCh := make(chan []map[string]any)
	var clients sync.WaitGroup
	for c := range 4 {
		clients.Add(1)
		go func() {
			defer clients.Done()
			crnd := rand.New(rand.NewPCG(seed, uint64(50+c)))
			for evs := range reqCh {
				body := jsonBody(map[string]any{"events": evs})
				sends := 1
				if crnd.Float64() < 0.05 {
					sends = 2
					clientDupes.Add(1)
				}
				for s := 0; s < sends; {
					budget := -1
					if crnd.Float64() < 0.05 {
						budget = crnd.IntN(3)
					}
					posts.Add(1)
					status := w.post(ctx, body, budget)
					v, _ := statuses.LoadOrStore(status, new(atomic.Int64))
					v.(*atomic.Int64).Add(1)
					if status != http.StatusAccepted {
						resends.Add(1)
						if ctx.Err() != nil {
							return
						}
						continue
					}
					status202.Add(1)
					for _, e := range evs {
						accepted.Store(e["event_id"], true)
					}
					s++
				}
			}
		}()
	}
	for _, r := range requests {
		reqCh <- r
	}
	close(reqCh)
	clients.Wait()
	t.Logf("ingest done after %s: %d requests, %d posts, %d resends, %d resent on purpose", time.Since(began).Round(time.Second),
		len(requests), posts.Load(), resends.Load(), clientDupes.Load())

	// Let the pipeline run dry under faults, then without attempt faults
	// (kills and redeliveries go on) until the queues are empty and a sweep
	// finds nothing due: every outbox flushed.
	waitDry := func(label string) {
		for quiet := 0; quiet < 2; {
			if ctx.Err() != nil {
				t.Fatalf("%s: still not dry when the test's time ran out", label)
			}
			time.Sleep(2 * time.Second)
			depth := w.queueDepth(ctx, stack.HandoffQueueURL)
			for _, q := range scoreQueues {
				depth += w.queueDepth(ctx, stack.QueueURLs[q])
			}
			if depth == 0 {
				quiet++
			} else {
				quiet = 0
			}
		}
	}
	waitDry("under faults")
	w.inj.SetEnabled(false)
	for round := 0; ; round++ {
		if round > 30 {
			t.Fatal("outboxes never flushed: the sweep keeps finding due leads")
		}
		waitDry("flushing")
		if sweepOnce(ctx, 0, rnd) == 0 {
			break
		}
	}
	stopPumps()
	pumps.Wait()
	elapsed := time.Since(began)

	// Dead-letter queues: the deliberate poison, nothing else.
	gotScoreDLQ, gotHandoffDLQ := w.drainBodies(ctx, stack.ScoreDLQURL), w.drainBodies(ctx, stack.HandoffDLQURL)
	sort.Strings(gotScoreDLQ)
	sort.Strings(gotHandoffDLQ)
	sort.Strings(scorePoison)
	sort.Strings(handoffPoison)
	if !slices.Equal(gotScoreDLQ, scorePoison) {
		t.Errorf("score DLQ holds %q, want exactly the poison %q", gotScoreDLQ, scorePoison)
	}
	if !slices.Equal(gotHandoffDLQ, handoffPoison) {
		t.Errorf("handoff DLQ holds %q, want exactly the poison %q", gotHandoffDLQ, handoffPoison)
	}

	// Every lead against a from-scratch scoring of its accepted events.
	rules := scoring.DefaultRules()
	nAccepted, transitions, mismatches := 0, 0, 0
	want := map[string]bool{}                       // routed transition ids
	members := map[string][]scoring.AccountMember{} // account id -> its leads' from-scratch summaries
	for _, l := range wl.leads {
		var ids []string
		for _, e := range l.events {
			if _, ok := accepted.Load(e["event_id"]); ok {
				ids = append(ids, e["event_id"].(string))
			}
		}
		nAccepted += len(ids)
		sort.Strings(ids)
		stored, err := w.rawDDB.EventHistory(ctx, l.id)
		if err != nil {
			t.Fatal(err)
		}
		var storedIDs []string
		for _, e := range stored {
			storedIDs = append(storedIDs, e.EventID)
		}
		sort.Strings(storedIDs)
		if !slices.Equal(ids, storedIDs) {
			mismatches++
			t.Errorf("lead %s: %d accepted events, %d recorded under it (missing or extra: %v)", l.id, len(ids), len(storedIDs), symDiff(ids, storedIDs))
			continue
		}
		lead, err := w.rawDDB.Lead(ctx, l.id)
		if err != nil {
			t.Errorf("lead %s with %d accepted events: %v", l.id, len(ids), err)
			mismatches++
			continue
		}
		if len(lead.Outbox) != 0 {
			t.Errorf("lead %s: %d transitions still in the outbox", l.id, len(lead.Outbox))
		}
		ref := scoring.NewState()
		ref.Apply(stored, rules)
		res := ref.Evaluate(rules, lead.EvaluatedAt)
		if msg := compareScores(viewOf(t, w.rawDDB, lead), res, ref); msg != "" {
			mismatches++
			t.Errorf("lead %s (%d events): stored lead differs from a from-scratch scoring: %s", l.id, len(ids), msg)
		}
		if m := ref.AccountMember(l.id, rules, lead.EvaluatedAt); m.AccountID != "" {
			members[m.AccountID] = append(members[m.AccountID], m)
		}
		for _, tr := range viewOf(t, w.rawDDB, lead).StageHistory {
			transitions++
			if tr.To == scoring.StageMQL || tr.To == scoring.StageSQL || tr.To == scoring.StageNurture {
				want[leadscore.TransitionID(l.id, tr)] = true
			}
		}
	}
	if nAccepted != nEvents {
		t.Errorf("%d of %d events accepted; the clients resend until 202", nAccepted, nEvents)
	}
	accountMismatches := checkAccounts(t, w, rules, members, want)
	mismatches += accountMismatches

	// Webhooks: every routed transition delivered, none unknown; the
	// receiver's dedupe means "never twice" is "one entry per id".
	w.recv.mu.Lock()
	var missing, unknown []string
	for id := range want {
		if w.recv.seen[id] != 1 {
			missing = append(missing, id)
		}
	}
	for id, n := range w.recv.seen {
		if !want[id] {
			unknown = append(unknown, id)
		}
		if n != 1 {
			t.Errorf("transition %s processed %d times after dedupe", id, n)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d routed transitions never delivered: %v", len(missing), len(want), first(missing, 5))
	}
	if len(unknown) > 0 {
		t.Errorf("%d delivered transitions are in no lead's stage history: %v", len(unknown), first(unknown, 5))
	}
	if w.recv.badSig > 0 || w.recv.badKey > 0 {
		t.Errorf("%d webhooks failed signature verification, %d had an Idempotency-Key other than the transition_id", w.recv.badSig, w.recv.badKey)
	}
	recvPosts, recvFailed, recvDupes, distinct := w.recv.posts, w.recv.failed, w.recv.dupes, len(w.recv.seen)
	w.recv.mu.Unlock()

	checkLogs(t, w)
	checkCallsAgainstPolicies(t, w.inj.Calls())

	sum := func(ps []*pump, f func(*pump) int64) (n int64) {
		for _, p := range ps {
			n += f(p)
		}
		return n
	}
	t.Logf("size: %d events, %d leads, seed %d; ran %s", nEvents, nLeads, seed, elapsed.Round(time.Second))
	var st []string
	statuses.Range(func(k, v any) bool { st = append(st, fmt.Sprintf("%v:%d", k, v.(*atomic.Int64).Load())); return true })
	sort.Strings(st)
	t.Logf("ingest: %d posts (%s), %d resends, %d duplicate sends on purpose; %d events accepted", posts.Load(), strings.Join(st, " "),
		resends.Load(), clientDupes.Load(), nAccepted)
	t.Logf("faults injected into AWS attempts: %s", w.inj.Summary())
	t.Logf("score: %d invocations, %d died, %d messages held back, %d redelivered after success, %d batch item failures",
		sum(scorePumps, func(p *pump) int64 { return p.invocations.Load() }), sum(scorePumps, func(p *pump) int64 { return p.killed.Load() }),
		sum(scorePumps, func(p *pump) int64 { return p.heldBack.Load() }), sum(scorePumps, func(p *pump) int64 { return p.redelivered.Load() }),
		sum(scorePumps, func(p *pump) int64 { return p.itemFailures.Load() }))
	t.Logf("handoff: %d invocations, %d died, %d held back, %d redelivered, %d item failures; receiver: %d posts, %d answered 503, %d deduped, %d distinct",
		sum(handoffPumps, func(p *pump) int64 { return p.invocations.Load() }), sum(handoffPumps, func(p *pump) int64 { return p.killed.Load() }),
		sum(handoffPumps, func(p *pump) int64 { return p.heldBack.Load() }), sum(handoffPumps, func(p *pump) int64 { return p.redelivered.Load() }),
		sum(handoffPumps, func(p *pump) int64 { return p.itemFailures.Load() }), recvPosts, recvFailed, recvDupes, distinct)
	t.Logf("sweep: %d runs, %d died, %d due leads enqueued in all", sweeps.Load(), sweepsKilled.Load(), sweepDue.Load())
	t.Logf("result: %d leads and %d accounts checked, %d mismatches (%d of accounts); %d transitions in stage histories, %d routed, all delivered once after dedupe; DLQs: %d + %d poison",
		len(wl.leads), len(members), mismatches, accountMismatches, transitions, len(want), len(gotScoreDLQ), len(gotHandoffDLQ))
}

// checkAccounts compares every stored account with the oracle:
// scoring.EvaluateAccount over its leads' summaries computed from scratch
// from their recorded events (docs/architecture.md invariant 9), at the
// account's last evaluation. Chaos events only raise scores, so the stage
// must not depend on the path either. It adds the account transitions sales
// receives to want and returns the mismatches.
func checkAccounts(t *testing.T, w *world, rules *scoring.Rules, members map[string][]scoring.AccountMember, want map[string]bool) int {
	t.Helper()
	mismatches := 0
	for _, id := range slices.Sorted(maps.Keys(members)) {
		a, err := w.rawDDB.Account(t.Context(), id)
		if err != nil {
			mismatches++
			t.Errorf("account %s of %d leads: %v", id, len(members[id]), err)
			continue
		}
		res := scoring.EvaluateAccount(rules, nil, members[id], a.View.EvaluatedAt)
		v := a.View
		if v.Score != res.Score || v.EngagedContacts != res.EngagedContacts || v.LeadCount != len(res.Breakdown.Leads) || v.Stage != res.Stage {
			mismatches++
			t.Errorf("account %s: stored score %+v, %d engaged of %d leads, stage %s; the oracle: %+v, %d of %d, %s",
				id, v.Score, v.EngagedContacts, v.LeadCount, v.Stage, res.Score, res.EngagedContacts, len(res.Breakdown.Leads), res.Stage)
		}
		if len(a.Outbox) != 0 {
			t.Errorf("account %s: %d transitions still in the outbox", id, len(a.Outbox))
		}
		for _, tr := range a.State.History() {
			if tr.To == scoring.AccountStageMQA || tr.To == scoring.AccountStageOpportunity {
				want[leadscore.AccountTransitionID(id, tr)] = true
			}
		}
	}
	return mismatches
}

// scoreQueueIDs are the queues the template's event sources feed to the
// score function.
func scoreQueueIDs(t *testing.T) []string {
	t.Helper()
	srcs, err := stack.Template.SQSSources()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range srcs {
		if s.Function == fnScore {
			ids = append(ids, s.Queue)
		}
	}
	if len(ids) == 0 {
		t.Fatal("the template feeds no queue to the score function")
	}
	return ids
}

// compareScores compares a stored view with a from-scratch result.
func compareScores(v leadscore.LeadView, res scoring.Result, ref *scoring.State) string {
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(a)) }
	if !near(v.Score.Fit, res.Score.Fit) || !near(v.Score.Engagement, res.Score.Engagement) || v.Score.Grade != res.Score.Grade {
		return fmt.Sprintf("score %+v, from scratch %+v", v.Score, res.Score)
	}
	if len(v.Breakdown) != len(res.Breakdown) {
		return fmt.Sprintf("breakdown has %d rules, from scratch %d", len(v.Breakdown), len(res.Breakdown))
	}
	for i, c := range v.Breakdown {
		r := res.Breakdown[i]
		if c.Rule != r.Rule || !near(c.Points, r.Points) || c.Events != r.Events {
			return fmt.Sprintf("breakdown[%d] %s %.4f (%d events), from scratch %s %.4f (%d events)", i, c.Rule, c.Points, c.Events, r.Rule, r.Points, r.Events)
		}
	}
	if v.Stage != ref.Stage() {
		return fmt.Sprintf("stage %s, from scratch %s", v.Stage, ref.Stage())
	}
	attrs, _ := json.Marshal(v.Attributes)
	refAttrs, _ := json.Marshal(ref.Attributes())
	if string(attrs) != string(refAttrs) {
		return fmt.Sprintf("attributes %s, from scratch %s", attrs, refAttrs)
	}
	return ""
}

var (
	emailRE = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
	phoneRE = regexp.MustCompile(`\+\d[\d ().-]{7,}\d`)
)

// checkLogs fails on any log line, of any of the five functions, holding an
// email address or a phone number (docs/architecture.md invariant 8).
func checkLogs(t *testing.T, w *world) {
	t.Helper()
	w.logs.mu.Lock()
	defer w.logs.mu.Unlock()
	total := 0
	for _, fn := range []string{fnIngest, fnAPI, fnScore, fnSweep, fnHandoff} {
		lines := w.logs.lines[fn]
		// Only some runs call the api function's routes.
		if len(lines) == 0 && fn != fnAPI {
			t.Errorf("%s wrote no log line: the privacy check would prove nothing", fn)
		}
		total += len(lines)
		bad := 0
		for _, line := range lines {
			if emailRE.MatchString(line) || phoneRE.MatchString(line) || strings.Contains(line, "Person") {
				if bad < 3 {
					t.Errorf("%s logged personal data: %s", fn, line)
				}
				bad++
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of %d log lines hold an email, phone or name", fn, bad, len(lines))
		}
	}
	t.Logf("privacy: %d log lines of 4 functions scanned, none with an email, phone or name", total)
}

func symDiff(a, b []string) []string {
	in := map[string]int{}
	for _, x := range a {
		in[x]++
	}
	for _, x := range b {
		in[x]--
	}
	var out []string
	for k, v := range in {
		if v != 0 {
			out = append(out, fmt.Sprintf("%s(%+d)", k, v))
		}
	}
	sort.Strings(out)
	return first(out, 10)
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
