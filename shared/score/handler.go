package score

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"golang.org/x/sync/errgroup"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/logging"
	"github.com/leadscore/leadscore/shared/metrics"
	"github.com/leadscore/leadscore/shared/scoring"
)

// Options are a Handler's dependencies and settings. Store, Rules,
// Handoff, Rescore, Queue, Logger and Metrics are required.
type Options struct {
	Store   leadscore.ScoreStore
	Rules   leadscore.RulesStore
	Handoff leadscore.HandoffQueue
	// Rescore and Queue serve the bulk rescore (rescore.go): the job items
	// and the score queue its page messages and per-lead messages go to.
	Rescore leadscore.RescoreStore
	Queue   leadscore.ScoreQueue
	// Reports runs the background builds of the signals report (report.go);
	// without it their messages fail.
	Reports leadscore.ReportStore
	Logger  *slog.Logger
	Metrics *metrics.Recorder
	// Eraser, when set, is called again for a lead found erased, to remove
	// event records this or a dead earlier invocation wrote after the
	// erasure (a record is written before the lead is written).
	Eraser leadscore.LeadEraser
	// Now is the clock for event messages (the time the batch is
	// processed); evaluate messages carry their own. time.Now when nil.
	Now func() time.Time
	// RulesTTL is how long the current rules are cached
	// (leadscore.DefaultRulesTTL when zero).
	RulesTTL time.Duration
	// MaxAttempts bounds the read-modify-write attempts of one lead when
	// concurrent writers keep winning (8 when zero).
	MaxAttempts int
	// Concurrency bounds the leads processed in parallel (8 when zero).
	Concurrency int
	// Usage, when set, meters what the store consumed in one invocation: it
	// returns the context to call the store with and a function giving the
	// capacity units consumed so far (dynamodb.MeterInvocation), emitted
	// as the DynamoDBCapacityUnits metric.
	Usage func(ctx context.Context) (context.Context, func() float64)
	// Accounts, when set, turns on account scoring (docs/scoring.md
	// section 7): each lead change is passed on to its account through an
	// account message, and account messages are evaluated. Without it the
	// handler scores leads only.
	Accounts leadscore.AccountStore
	// Previews keeps rules previews (preview.go); when nil, Store is used
	// if it implements it (the DynamoDB store does), else preview messages
	// fail and their redrive parks them.
	Previews leadscore.PreviewStore
	// AfterWrite, when set, runs between a lead's write and the send of its
	// transitions; an error stops that lead there, as a crash would. Tests
	// use it to prove the outbox loses nothing.
	AfterWrite func(ctx context.Context, leadID string) error
}

// Handler scores batches of score-queue messages. Build it with New.
type Handler struct {
	store       leadscore.ScoreStore
	accounts    leadscore.AccountStore
	handoff     leadscore.HandoffQueue
	rescore     leadscore.RescoreStore
	queue       leadscore.ScoreQueue
	reports     leadscore.ReportStore
	eraser      leadscore.LeadEraser
	rules       *leadscore.RulesCache
	log         *slog.Logger
	metrics     *metrics.Recorder
	now         func() time.Time
	maxAttempts int
	concurrency int
	afterWrite  func(ctx context.Context, leadID string) error
	usage       func(ctx context.Context) (context.Context, func() float64)
	previews    leadscore.PreviewStore
}

// New checks o's dependencies and returns a Handler. Call it once per
// process: a missing dependency (a score queue for the bulk rescore, say)
// fails the cold start, not the first message that needs it.
func New(o Options) (*Handler, error) {
	for _, dep := range []struct {
		name string
		nil  bool
	}{
		{"Store (the lead store)", o.Store == nil},
		{"Rules (the rules store)", o.Rules == nil},
		{"Handoff (the handoff queue)", o.Handoff == nil},
		{"Rescore (the rescore job store)", o.Rescore == nil},
		{"Queue (the score queue)", o.Queue == nil},
		{"Logger", o.Logger == nil},
		{"Metrics", o.Metrics == nil},
	} {
		if dep.nil {
			return nil, fmt.Errorf("score: Options.%s is nil", dep.name)
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Previews == nil {
		o.Previews, _ = o.Store.(leadscore.PreviewStore)
	}
	return &Handler{
		store: o.Store, accounts: o.Accounts, handoff: o.Handoff, rescore: o.Rescore, queue: o.Queue, reports: o.Reports, eraser: o.Eraser,
		rules:       &leadscore.RulesCache{Store: o.Rules, Versions: o.Rules, TTL: cmp.Or(o.RulesTTL, leadscore.DefaultRulesTTL)},
		log:         o.Logger,
		metrics:     o.Metrics,
		now:         o.Now,
		maxAttempts: cmp.Or(o.MaxAttempts, 8),
		concurrency: cmp.Or(o.Concurrency, 8),
		afterWrite:  o.AfterWrite,
		usage:       o.Usage,
		previews:    o.Previews,
	}, nil
}

// group is the work of one batch for one lead.
type group struct {
	leadID   string
	msgs     []int           // indexes into the batch
	events   []scoring.Event // deduped by event_id
	eventMsg map[string][]int
	evalAt   []time.Time
	rescore  int // highest rules version asked for, 0 when none
	resend   bool
	// member is the lead's account summary before and after this batch,
	// set by apply (accounts.go).
	member memberChange
}

func (g *group) addEvent(e scoring.Event, msg int) {
	if g.eventMsg == nil {
		g.eventMsg = map[string][]int{}
	}
	if _, seen := g.eventMsg[e.EventID]; !seen {
		g.events = append(g.events, e)
	}
	g.eventMsg[e.EventID] = append(g.eventMsg[e.EventID], msg)
	g.msgs = append(g.msgs, msg)
}

// stats are one batch's counts, for metrics and the log.
type stats struct {
	mu          sync.Mutex
	scored      int
	duplicates  int
	transitions int
	conflicts   int
	sendFailed  int
}

func (s *stats) add(f func(*stats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// work is one invocation's messages, parsed and grouped by lead.
type work struct {
	mu       sync.Mutex // guards failed and groups while leads run in parallel
	msgs     []leadscore.ScoreMessage
	failed   []bool
	groups   map[string]*group
	visitors map[string][]int // visitor id -> messages of events naming only it
	pages    []pageMessage
	accounts map[string]*accountGroup // account messages by account id
	// toAccounts are the member changes this batch's leads make, by
	// account (accounts.go).
	toAccounts map[string]*accountOut
	reports    []reportMessage
	previews   []previewMessage
	st         stats
}

func (b *work) groupOf(id string) *group {
	g := b.groups[id]
	if g == nil {
		g = &group{leadID: id}
		b.groups[id] = g
	}
	return g
}

func (b *work) fail(idx []int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, i := range idx {
		b.failed[i] = true
	}
}

// Handle processes one SQS batch and reports the messages that failed, so
// only they are retried (the event source has ReportBatchItemFailures).
// Its steps: parse and group the messages by lead, route visitor events,
// score each lead (stitch, record, apply, write, send), then advance the
// bulk rescores the batch asks for.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	start := time.Now()
	now := h.now().UTC()
	log := logging.ForInvocation(ctx, h.log)
	units := func() float64 { return 0 }
	if h.usage != nil {
		ctx, units = h.usage(ctx)
	}

	b := parseBatch(log, ev.Records)
	h.routeVisitorEvents(ctx, log, b, now)
	h.scoreLeads(ctx, log, b, now)
	h.enqueueAccounts(ctx, log, b)
	h.scoreAccounts(ctx, log, b)
	b.fail(h.countRescored(ctx, log, b.msgs, b.failed, now))
	b.fail(h.advancePages(ctx, log, b.pages, now))
	b.fail(h.buildReports(ctx, log, b.reports, now))
	b.fail(h.previewer().handle(ctx, log, b.previews, now))

	var resp events.SQSEventResponse
	for i, f := range b.failed {
		if f {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: ev.Records[i].MessageId})
		}
	}
	h.report(log, b, len(resp.BatchItemFailures), units(), time.Since(start))
	return resp, nil
}

// parseBatch parses every message and groups the work by lead. Messages
// that do not parse are failed alone: the redrive policy parks them.
func parseBatch(log *slog.Logger, records []events.SQSMessage) *work {
	b := &work{msgs: make([]leadscore.ScoreMessage, len(records)), failed: make([]bool, len(records)),
		groups: map[string]*group{}, visitors: map[string][]int{}, accounts: map[string]*accountGroup{}, toAccounts: map[string]*accountOut{}}
	for i, r := range records {
		if pm, isPreview, err := parsePreviewMessage([]byte(r.Body)); isPreview {
			if err != nil {
				b.failed[i] = true
				log.Error("unparseable preview message", "message_id", r.MessageId, "error", err.Error())
			} else {
				pm.idx = i
				b.previews = append(b.previews, pm)
			}
			continue
		}
		if v, isPage, err := parsePageMessage([]byte(r.Body)); isPage {
			if err != nil {
				b.failed[i] = true
				log.Error("unparseable rescore_page message", "message_id", r.MessageId, "error", err.Error())
			} else {
				b.pages = append(b.pages, pageMessage{idx: i, version: v})
			}
			continue
		}
		if at, isReport, err := parseReportMessage([]byte(r.Body)); isReport {
			if err != nil {
				b.failed[i] = true
				log.Error("unparseable signals_report message", "message_id", r.MessageId, "error", err.Error())
			} else {
				b.reports = append(b.reports, reportMessage{idx: i, startedAt: at})
			}
			continue
		}
		m, err := ParseMessage([]byte(r.Body))
		if err != nil {
			b.failed[i] = true
			log.Error("unparseable score message", "message_id", r.MessageId, "error", err.Error())
			continue
		}
		b.msgs[i] = m
		switch {
		case m.Kind == leadscore.KindAccount:
			b.accountGroupOf(m.AccountID).add(m, i)
		case m.Kind == leadscore.KindEvent && m.Event.Email == "":
			b.visitors[m.LeadID] = append(b.visitors[m.LeadID], i)
		case m.Kind == leadscore.KindEvent:
			b.groupOf(m.LeadID).addEvent(*m.Event, i)
		case strings.HasPrefix(m.LeadID, "vi_"):
			// Visitors are never evaluated or rescored on their own: they
			// have no stage to move until stitched into a lead.
			log.Info("ignoring a non-event message for a visitor", "visitor_id", m.LeadID, "kind", m.Kind)
		default:
			g := b.groupOf(m.LeadID)
			g.msgs = append(g.msgs, i)
			if m.Kind == leadscore.KindEvaluate {
				g.evalAt = append(g.evalAt, m.Now)
				g.resend = true
			} else {
				g.rescore = max(g.rescore, m.RulesVersion)
				if !m.Now.IsZero() {
					g.evalAt = append(g.evalAt, m.Now)
				}
			}
		}
	}
	return b
}

// routeVisitorEvents keeps each visitor event's record under the visitor,
// then looks whether the visitor now belongs to a lead: its events join
// that lead's group. The record goes first, so a stitch that marks the
// visitor after this read finds the record in the visitor's history.
func (h *Handler) routeVisitorEvents(ctx context.Context, log *slog.Logger, b *work, now time.Time) {
	h.parallel(slices.Sorted(maps.Keys(b.visitors)), func(vid string) {
		idx := b.visitors[vid]
		evs := make([]scoring.Event, 0, len(idx))
		seen := map[string]bool{}
		for _, i := range idx {
			if e := *b.msgs[i].Event; !seen[e.EventID] {
				seen[e.EventID] = true
				evs = append(evs, e)
			}
		}
		bad := map[string]bool{}
		for _, r := range h.store.RecordEvents(ctx, vid, evs, now) {
			if r.Err != nil {
				bad[r.Event.EventID] = true
				log.Error("recording a visitor event failed", "visitor_id", vid, "error", r.Err.Error())
			}
		}
		owner, err := h.store.VisitorLead(ctx, vid)
		b.mu.Lock()
		defer b.mu.Unlock()
		if err != nil {
			log.Error("reading a visitor failed", "visitor_id", vid, "error", err.Error())
			for _, i := range idx {
				b.failed[i] = true
			}
			return
		}
		for _, i := range idx {
			e := *b.msgs[i].Event
			if bad[e.EventID] {
				b.failed[i] = true
				continue
			}
			if owner != "" {
				b.groupOf(owner).addEvent(e, i)
			}
		}
	})
}

// scoreLeads processes every lead's group, in parallel.
func (h *Handler) scoreLeads(ctx context.Context, log *slog.Logger, b *work, now time.Time) {
	h.parallel(slices.Sorted(maps.Keys(b.groups)), func(id string) {
		g := b.groups[id]
		llog := log.With("lead_id", id)
		failedMsgs, err := h.processLead(ctx, llog, g, now, &b.st)
		if err != nil {
			llog.Error("scoring the lead failed", "messages", len(g.msgs), "error", err.Error())
			failedMsgs = g.msgs
		} else {
			b.passOn(g)
		}
		b.fail(failedMsgs)
	})
}

// report emits the batch's metrics and its log line.
func (h *Handler) report(log *slog.Logger, b *work, failed int, units float64, took time.Duration) {
	st := &b.st
	h.metrics.Count("EventsScored", float64(st.scored))
	h.metrics.Count("DuplicateEvents", float64(st.duplicates))
	h.metrics.Count("Transitions", float64(st.transitions))
	h.metrics.Count("LeadWriteConflicts", float64(st.conflicts))
	h.metrics.Count("HandoffSendFailures", float64(st.sendFailed))
	h.metrics.Count("MessagesFailed", float64(failed))
	h.metrics.Add("DynamoDBCapacityUnits", metrics.UnitCount, units)
	h.metrics.Milliseconds("BatchLatency", took)
	h.metrics.Flush()
	log.Info("batch scored", "messages", len(b.msgs), "leads", len(b.groups), "events_scored", st.scored,
		"duplicates", st.duplicates, "transitions", st.transitions, "failed", failed,
		"capacity_units", units)
}

// processLead applies one lead's share of the batch in one conditional
// write: read, stitch, record, apply and write (retried on conflicts),
// then send. It returns the messages that failed on their own (their event
// record could not be written); an error fails all the lead's messages.
func (h *Handler) processLead(ctx context.Context, log *slog.Logger, g *group, now time.Time, st *stats) ([]int, error) {
	rec, err := h.readForUpdate(ctx, g)
	if errors.Is(err, leadscore.ErrErased) {
		return nil, h.dropErased(ctx, log, g)
	}
	if err != nil {
		return nil, err
	}
	if !rec.Exists && len(g.events) == 0 {
		// An evaluation or rescore of a lead that is gone (erased): nothing
		// to do, and nothing to create.
		return nil, nil
	}
	stitched, toRecord, err := h.stitch(ctx, rec, g)
	if err != nil {
		return nil, err
	}
	recs, failedMsgs, err := h.record(ctx, log, g, rec, toRecord, now)
	if err != nil {
		return nil, err
	}
	rec, sent, err := h.write(ctx, rec, g, recs, stitched, now, st)
	if errors.Is(err, leadscore.ErrErased) {
		return nil, h.dropErased(ctx, log, g)
	}
	if err != nil {
		return failedMsgs, err
	}
	if len(sent) == 0 {
		return failedMsgs, nil
	}
	if h.afterWrite != nil {
		if err := h.afterWrite(ctx, g.leadID); err != nil {
			return failedMsgs, fmt.Errorf("after the write of lead %s: %w", g.leadID, err)
		}
	}
	h.send(ctx, log, rec, sent, now, st)
	return failedMsgs, nil
}

// readForUpdate reads the lead eventually consistent first, at half the
// price: a stale copy loses the versioned write and the retry reads
// consistently.
func (h *Handler) readForUpdate(ctx context.Context, g *group) (*leadscore.LeadRecord, error) {
	rec, err := h.store.PeekLead(ctx, g.leadID)
	if err == nil && !rec.Exists && len(g.events) == 0 {
		// Before skipping an evaluation or rescore of a lead that seems not
		// to exist, make sure it is not just too new for this read.
		return h.store.ReadLead(ctx, g.leadID)
	}
	return rec, err
}

// stitch is identity stitching: the visitors the group's events tie to the
// lead (a cookie or a user id seen with the email, an alias's previous id)
// bring their history into the lead, once. A visitor's history may tie
// more visitors (an alias it received before it was stitched), so the work
// list grows as it goes. It returns the visitors stitched by this call and
// the events to record under the lead (the group's and the stitched
// visitors').
func (h *Handler) stitch(ctx context.Context, rec *leadscore.LeadRecord, g *group) (stitched []string, toRecord []scoring.Event, err error) {
	toRecord = slices.Clone(g.events)
	queue := g.visitorsToStitch(rec)
	for len(queue) > 0 {
		vid := queue[0]
		queue = queue[1:]
		owner, err := h.store.MergeVisitor(ctx, vid, g.leadID)
		if err != nil {
			return nil, nil, err
		}
		if owner != g.leadID {
			continue // the cookie was stitched into another lead first
		}
		hist, err := h.store.EventHistory(ctx, vid)
		if err != nil {
			return nil, nil, err
		}
		stitched = append(stitched, vid)
		for i, e := range hist {
			if _, in := g.eventMsg[e.EventID]; !in {
				toRecord = append(toRecord, e)
				if g.eventMsg == nil {
					g.eventMsg = map[string][]int{}
				}
				g.eventMsg[e.EventID] = nil
			}
			for _, more := range tiedVisitors(&hist[i]) {
				if !slices.Contains(rec.Visitors, more) && !slices.Contains(stitched, more) && !slices.Contains(queue, more) {
					queue = append(queue, more)
				}
			}
		}
	}
	return stitched, toRecord, nil
}

// record writes the events' records under the lead. It returns the ones
// recorded and the messages whose record failed; a stitched visitor event
// that failed is an error, as the stitch is then incomplete.
//
// An event the lead's ring already holds was recorded and applied before (a
// resend): it is passed on as a duplicate without a put, whose condition
// would only fail, and AWS bills a failed conditional write.
func (h *Handler) record(ctx context.Context, log *slog.Logger, g *group, rec *leadscore.LeadRecord, toRecord []scoring.Event, now time.Time) ([]leadscore.RecordedEvent, []int, error) {
	var ok []leadscore.RecordedEvent
	toRecord = slices.DeleteFunc(slices.Clone(toRecord), func(e scoring.Event) bool {
		if !rec.Applied.Contains(e.EventID) {
			return false
		}
		ok = append(ok, leadscore.RecordedEvent{Event: e})
		return true
	})
	if len(toRecord) == 0 {
		return ok, nil, nil
	}
	var failedMsgs []int
	for _, r := range h.store.RecordEvents(ctx, g.leadID, toRecord, now) {
		if r.Err == nil {
			ok = append(ok, r)
			continue
		}
		msgsOf := g.eventMsg[r.Event.EventID]
		if msgsOf == nil {
			// Retry the whole lead rather than mark the visitor done.
			return nil, nil, r.Err
		}
		failedMsgs = append(failedMsgs, msgsOf...)
		log.Error("recording an event failed", "error", r.Err.Error())
	}
	return ok, failedMsgs, nil
}

// write applies the group to rec and writes it, re-reading and applying
// again when a concurrent writer won, up to maxAttempts. It returns the
// lead as written and the transitions to send (the outbox, for an
// evaluation, which is how the sweep resends what a crash left).
func (h *Handler) write(ctx context.Context, rec *leadscore.LeadRecord, g *group, recs []leadscore.RecordedEvent,
	stitched []string, now time.Time, st *stats) (*leadscore.LeadRecord, []leadscore.Handoff, error) {
	for attempt := 1; ; attempt++ {
		newHandoffs, wrote, n, err := h.apply(ctx, rec, g, recs, stitched, now)
		if err != nil {
			return rec, nil, err
		}
		if !wrote {
			st.add(func(s *stats) { s.duplicates += n.duplicates })
			if g.resend {
				return rec, rec.Outbox, nil
			}
			return rec, nil, nil
		}
		err = h.store.WriteLead(ctx, rec, now)
		if err == nil {
			st.add(func(s *stats) {
				s.scored += n.applied
				s.duplicates += n.duplicates
				s.transitions += len(newHandoffs)
			})
			if g.resend {
				return rec, rec.Outbox, nil
			}
			return rec, newHandoffs, nil
		}
		if !errors.Is(err, leadscore.ErrConflict) || attempt >= h.maxAttempts {
			// The records stay: a redelivery finds them and, as they are
			// not in the lead's ring, applies them then.
			return rec, nil, err
		}
		st.add(func(s *stats) { s.conflicts++ })
		if err := sleep(ctx, time.Duration(rand.IntN(10<<attempt))*time.Millisecond); err != nil {
			return rec, nil, err
		}
		if rec, err = h.store.ReadLead(ctx, g.leadID); err != nil {
			return rec, nil, err
		}
	}
}

// dropErased acknowledges a group of an erased lead without scoring it:
// its events must not recreate the lead. Its records are erased again, so
// a record written after the erasure (this invocation's, or a dead one's)
// does not outlive it; if that fails the messages are retried.
func (h *Handler) dropErased(ctx context.Context, log *slog.Logger, g *group) error {
	log.Info("dropping messages of an erased lead", "messages", len(g.msgs))
	if h.eraser == nil {
		return nil
	}
	if err := h.eraser.EraseLead(ctx, g.leadID); err != nil && !errors.Is(err, leadscore.ErrNotFound) {
		return fmt.Errorf("erase the records of erased lead %s again: %w", g.leadID, err)
	}
	return nil
}

// counts of one apply.
type counts struct{ applied, duplicates int }

// apply brings rec up to date with the group: the recorded events not yet
// applied, a rebuild when the rules changed or a rescore asks, and an
// evaluation at each of the group's clocks. It reports whether anything
// needs writing, and the transitions decided.
func (h *Handler) apply(ctx context.Context, rec *leadscore.LeadRecord, g *group, recs []leadscore.RecordedEvent,
	stitched []string, now time.Time) ([]leadscore.Handoff, bool, counts, error) {
	pending, n := notApplied(rec, recs)
	rules, err := h.rulesFor(ctx, rec, g)
	if err != nil {
		return nil, false, n, err
	}
	rebuild := rec.Exists && rec.State.RulesVersion() < rules.Version
	newVisitors := addVisitors(rec, stitched)
	prev, err := h.previousMember(ctx, rec, g.leadID, rules, rebuild)
	if err != nil {
		return nil, false, n, err
	}
	g.member = memberChange{prev: prev, rulesVersion: rules.Version}
	if len(pending) == 0 && !rebuild && len(g.evalAt) == 0 && newVisitors == 0 {
		// Nothing new: a redelivery, perhaps of a batch whose account
		// message was lost. Pass the summary on again (it is idempotent).
		g.member.next, g.member.resend = g.member.prev, n.duplicates > 0
		return nil, false, n, nil
	}
	if err := h.applyEvents(ctx, rec, g.leadID, pending, rules, rebuild); err != nil {
		return nil, false, n, err
	}
	n.applied = len(pending)
	changed := len(pending) > 0 || rebuild || newVisitors > 0
	fresh := evaluate(rec, g, rules, now, changed)
	g.member.next = memberOf(rec, g.leadID, rules, rec.View.EvaluatedAt)
	g.member.resend = rebuild // new rules: the account is scored again with them
	return fresh, true, n, nil
}

// previousMember is the lead's account summary as it stands, under the
// rules it was scored with: new rules may move it to another account (an
// excluded domain), and the account it leaves must hear of it.
func (h *Handler) previousMember(ctx context.Context, rec *leadscore.LeadRecord, leadID string, rules *scoring.Rules, rebuild bool) (leadscore.Member, error) {
	if rebuild {
		old, err := h.rules.Version(ctx, rec.State.RulesVersion())
		if err != nil {
			return leadscore.Member{}, fmt.Errorf("read rules version %d of lead %s: %w", rec.State.RulesVersion(), leadID, err)
		}
		rules = old
	}
	return memberOf(rec, leadID, rules, rec.EvaluatedAt), nil
}

// notApplied are the recorded events the lead's ring does not know.
func notApplied(rec *leadscore.LeadRecord, recs []leadscore.RecordedEvent) ([]leadscore.RecordedEvent, counts) {
	var n counts
	var pending []leadscore.RecordedEvent
	for _, r := range recs {
		if rec.Applied.Applied(r) {
			n.duplicates++
			continue
		}
		pending = append(pending, r)
	}
	return pending, n
}

// rulesFor picks the rules to score the lead with: the current ones, or a
// newer version the lead or a rescore message already names.
func (h *Handler) rulesFor(ctx context.Context, rec *leadscore.LeadRecord, g *group) (*scoring.Rules, error) {
	rules, err := h.rules.Current(ctx)
	if err != nil {
		return nil, fmt.Errorf("read current rules: %w", err)
	}
	if stateVersion := rec.State.RulesVersion(); rec.Exists && stateVersion > rules.Version {
		// Another container saw a newer publish: never score backwards.
		if rules, err = h.rules.Version(ctx, stateVersion); err != nil {
			return nil, fmt.Errorf("read rules version %d: %w", stateVersion, err)
		}
	}
	if g.rescore > rules.Version {
		if rules, err = h.rules.Version(ctx, g.rescore); err != nil {
			return nil, fmt.Errorf("read rules version %d: %w", g.rescore, err)
		}
	}
	return rules, nil
}

// addVisitors adds the stitched visitors to the lead and counts the new ones.
func addVisitors(rec *leadscore.LeadRecord, stitched []string) int {
	added := 0
	for _, v := range stitched {
		if !slices.Contains(rec.Visitors, v) {
			rec.Visitors = append(rec.Visitors, v)
			added++
		}
	}
	return added
}

// applyEvents adds the pending events to the lead's state, or rebuilds the
// state from the lead's whole history under rules.
func (h *Handler) applyEvents(ctx context.Context, rec *leadscore.LeadRecord, leadID string, pending []leadscore.RecordedEvent,
	rules *scoring.Rules, rebuild bool) error {
	for _, r := range pending {
		if rec.Email == "" && r.Event.Email != "" {
			rec.Email = r.Event.Email
		}
	}
	if rebuild {
		// The history holds every recorded event, the pending ones included
		// (recorded before this read).
		hist, err := h.store.EventHistory(ctx, leadID)
		if err != nil {
			return err
		}
		rec.State.Rebuild(hist, rules)
	} else if len(pending) > 0 {
		evs := make([]scoring.Event, len(pending))
		for i, r := range pending {
			evs[i] = r.Event
		}
		rec.State.Apply(evs, rules)
	}
	for _, r := range pending {
		rec.Applied.Add(r.Event.EventID, r.ReceivedAt)
	}
	return nil
}

// evaluate runs the lead's evaluations, at each of the group's clocks and
// at now when the lead changed (or nothing else asked), sets its view and
// due time, and puts the transitions decided into its outbox. It returns
// the transitions new to the outbox.
func evaluate(rec *leadscore.LeadRecord, g *group, rules *scoring.Rules, now time.Time, changed bool) []leadscore.Handoff {
	times := slices.Clone(g.evalAt)
	if changed || len(times) == 0 {
		times = append(times, now)
	}
	slices.SortFunc(times, time.Time.Compare)
	times = slices.CompactFunc(times, time.Time.Equal)
	var res scoring.Result
	var decided []scoring.Transition
	for _, t := range times {
		res = rec.State.Evaluate(rules, t)
		decided = append(decided, res.Transitions...)
	}
	evalNow := times[len(times)-1]
	rec.View = leadscore.BuildView(g.leadID, rec.Email, rec.State, res, rules.Version, evalNow)
	rec.View.AccountID = rec.State.AccountID(rules)
	rec.DueAt = res.DueAt
	var fresh []leadscore.Handoff
	for _, t := range decided {
		ho := leadscore.NewHandoff(g.leadID, t, rec.View)
		if !slices.ContainsFunc(rec.Outbox, func(o leadscore.Handoff) bool { return o.TransitionID == ho.TransitionID }) {
			rec.Outbox = append(rec.Outbox, ho)
			fresh = append(fresh, ho)
		}
	}
	for i := range rec.Outbox {
		// Unsent entries go out with the lead as it is now.
		rec.Outbox[i].Lead = rec.View.ForWebhook()
	}
	return fresh
}

// send hands transitions to the handoff queue and marks the sent ones in
// the outbox. A failure here loses nothing: the entries stay in the outbox
// and the lead stays in the due index, so the sweep sends them again.
func (h *Handler) send(ctx context.Context, log *slog.Logger, rec *leadscore.LeadRecord, hs []leadscore.Handoff, now time.Time, st *stats) {
	ids := h.handOff(ctx, log, hs, st)
	if err := h.store.MarkSent(ctx, rec, ids, now); err != nil {
		// Sent but still in the outbox: the sweep sends it again, and
		// receivers dedupe by transition_id.
		log.Error("marking transitions sent failed", "error", err.Error())
	}
}

// handOff sends hs to the handoff queue and returns the transition ids it
// took; what it refused stays in the caller's outbox for the sweep.
func (h *Handler) handOff(ctx context.Context, log *slog.Logger, hs []leadscore.Handoff, st *stats) (sent []string) {
	failedIdx, err := h.handoff.EnqueueHandoff(ctx, hs)
	if err != nil {
		st.add(func(s *stats) { s.sendFailed += len(failedIdx) })
		log.Error("sending transitions to the handoff queue failed; the sweep will resend them", "failed", len(failedIdx), "error", err.Error())
	}
	for i, ho := range hs {
		if !slices.Contains(failedIdx, i) {
			sent = append(sent, ho.TransitionID)
			log.Info("transition handed off", "transition_id", ho.TransitionID, "type", ho.Type)
		}
	}
	return sent
}

// visitorsToStitch are the visitors the group's events tie to the lead and
// that are not yet stitched into rec.
func (g *group) visitorsToStitch(rec *leadscore.LeadRecord) []string {
	var out []string
	for i := range g.events {
		for _, vid := range tiedVisitors(&g.events[i]) {
			if !slices.Contains(rec.Visitors, vid) && !slices.Contains(out, vid) {
				out = append(out, vid)
			}
		}
	}
	return out
}

// tiedVisitors are the visitors an event of a lead says are the same person
// (docs/api.md "Sources"): with an email, its cookie and its user id; an
// alias (which reaches a lead through its user id), its previous id, which
// may have been a cookie or a user id.
func tiedVisitors(e *scoring.Event) []string {
	if e.Type == scoring.TypeAlias {
		if prev, _ := e.Properties["previous_id"].(string); prev != "" {
			return []string{leadscore.VisitorID(prev), leadscore.UserVisitorID(prev)}
		}
		return nil
	}
	if e.Email == "" {
		return nil
	}
	var out []string
	if e.AnonymousID != "" {
		out = append(out, leadscore.VisitorID(e.AnonymousID))
	}
	if e.UserID != "" {
		out = append(out, leadscore.UserVisitorID(e.UserID))
	}
	return out
}

func (h *Handler) parallel(keys []string, f func(string)) {
	var g errgroup.Group
	g.SetLimit(h.concurrency)
	for _, k := range keys {
		g.Go(func() error { f(k); return nil })
	}
	_ = g.Wait()
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
