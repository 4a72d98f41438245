package score

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/logging"
	"github.com/leadscore/leadscore/shared/metrics"
	"github.com/leadscore/leadscore/shared/scoring"
)

// Handler scores batches of score-queue messages.
type Handler struct {
	Store   leadscore.ScoreStore
	Rules   leadscore.RulesStore
	Handoff leadscore.HandoffQueue
	Log     *slog.Logger
	Metrics *metrics.Recorder
	// Now is the clock for event messages (the time the batch is
	// processed); evaluate messages carry their own. time.Now when nil.
	Now func() time.Time
	// RulesTTL is how long the current rules are cached (30 s when zero).
	RulesTTL time.Duration
	// MaxAttempts bounds the read-modify-write attempts of one lead when
	// concurrent writers keep winning (8 when zero).
	MaxAttempts int
	// Concurrency bounds the leads processed in parallel (8 when zero).
	Concurrency int
	// Eraser, when set, is called again for a lead found erased, to remove
	// event records this or a dead earlier invocation wrote after the
	// erasure (a record is written before the lead is written).
	Eraser leadscore.LeadEraser
	// AfterWrite, when set, runs between a lead's write and the send of its
	// transitions; an error stops that lead there, as a crash would. Tests
	// use it to prove the outbox loses nothing.
	AfterWrite func(ctx context.Context, leadID string) error
	// RescoreStore and ScoreQueue serve the bulk rescore (rescore.go); when
	// nil, Store and Handoff are used if they implement them.
	RescoreStore leadscore.RescoreStore
	ScoreQueue   leadscore.ScoreQueue

	once  sync.Once
	rules *rulesCache
}

func (h *Handler) init() {
	h.once.Do(func() {
		ttl := h.RulesTTL
		if ttl == 0 {
			ttl = 30 * time.Second
		}
		h.rules = &rulesCache{store: h.Rules, ttl: ttl}
		if h.Now == nil {
			h.Now = time.Now
		}
		if h.MaxAttempts == 0 {
			h.MaxAttempts = 8
		}
		if h.Concurrency == 0 {
			h.Concurrency = 8
		}
	})
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
}

func (g *group) addEvent(e scoring.Event, msg int) {
	if g.eventMsg == nil {
		g.eventMsg = map[string][]int{}
	}
	if _, seen := g.eventMsg[e.EventID]; !seen {
		g.events = append(g.events, e)
	}
	g.eventMsg[e.EventID] = append(g.eventMsg[e.EventID], msg)
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

// Handle processes one SQS batch and reports the messages that failed, so
// only they are retried (the event source has ReportBatchItemFailures).
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	h.init()
	start := time.Now()
	now := h.Now().UTC()
	log := logging.ForInvocation(ctx, h.Log)
	meter := &leadscore.CapacityMeter{Parent: leadscore.MeterFrom(ctx)}
	ctx = leadscore.WithMeter(ctx, meter)

	failed := make([]bool, len(ev.Records))
	var st stats
	groups := map[string]*group{}
	groupOf := func(id string) *group {
		g := groups[id]
		if g == nil {
			g = &group{leadID: id}
			groups[id] = g
		}
		return g
	}
	visitors := map[string][]int{} // visitor id -> messages of events naming only it
	msgs := make([]leadscore.ScoreMessage, len(ev.Records))
	var pages []pageMessage
	for i, r := range ev.Records {
		if v, isPage, err := parsePageMessage([]byte(r.Body)); isPage {
			if err != nil {
				failed[i] = true
				log.Error("unparseable rescore_page message", "message_id", r.MessageId, "error", err.Error())
			} else {
				pages = append(pages, pageMessage{idx: i, version: v})
			}
			continue
		}
		m, err := ParseMessage([]byte(r.Body))
		if err != nil {
			failed[i] = true
			log.Error("unparseable score message", "message_id", r.MessageId, "error", err.Error())
			continue
		}
		msgs[i] = m
		switch {
		case m.Kind == leadscore.KindEvent && m.Event.Email == "":
			visitors[m.LeadID] = append(visitors[m.LeadID], i)
		case m.Kind == leadscore.KindEvent:
			groupOf(m.LeadID).addEvent(*m.Event, i)
			groupOf(m.LeadID).msgs = append(groupOf(m.LeadID).msgs, i)
		case strings.HasPrefix(m.LeadID, "vi_"):
			// Visitors are never evaluated or rescored on their own: they
			// have no stage to move until stitched into a lead.
			log.Info("ignoring a non-event message for a visitor", "visitor_id", m.LeadID, "kind", m.Kind)
		default:
			g := groupOf(m.LeadID)
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

	// Visitor events: keep the record under the visitor, then look whether
	// the visitor now belongs to a lead. The record goes first, so a stitch
	// that marks the visitor after this read finds the record in the
	// visitor's history.
	var mu sync.Mutex
	h.parallel(sortedKeys(visitors), func(vid string) {
		idx := visitors[vid]
		evs := make([]scoring.Event, 0, len(idx))
		seen := map[string]bool{}
		for _, i := range idx {
			if e := *msgs[i].Event; !seen[e.EventID] {
				seen[e.EventID] = true
				evs = append(evs, e)
			}
		}
		recs := h.Store.RecordEvents(ctx, vid, evs, now)
		bad := map[string]bool{}
		for _, r := range recs {
			if r.Err != nil {
				bad[r.Event.EventID] = true
				log.Error("recording a visitor event failed", "visitor_id", vid, "error", r.Err.Error())
			}
		}
		owner, err := h.Store.VisitorLead(ctx, vid)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			log.Error("reading a visitor failed", "visitor_id", vid, "error", err.Error())
			for _, i := range idx {
				failed[i] = true
			}
			return
		}
		for _, i := range idx {
			e := *msgs[i].Event
			if bad[e.EventID] {
				failed[i] = true
				continue
			}
			if owner != "" {
				g := groupOf(owner)
				g.addEvent(e, i)
				g.msgs = append(g.msgs, i)
			}
		}
	})

	h.parallel(sortedKeys(groups), func(id string) {
		g := groups[id]
		llog := log.With("lead_id", id)
		failedMsgs, err := h.processLead(ctx, llog, g, now, &st)
		if err != nil {
			llog.Error("scoring the lead failed", "messages", len(g.msgs), "error", err.Error())
			failedMsgs = g.msgs
		}
		mu.Lock()
		for _, i := range failedMsgs {
			failed[i] = true
		}
		mu.Unlock()
	})

	for _, i := range h.countRescored(ctx, log, msgs, failed, now) {
		failed[i] = true
	}
	for _, i := range h.advancePages(ctx, log, pages, now) {
		failed[i] = true
	}

	var resp events.SQSEventResponse
	for i, f := range failed {
		if f {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: ev.Records[i].MessageId})
		}
	}
	units := meter.Total()
	h.Metrics.Count("EventsScored", float64(st.scored))
	h.Metrics.Count("DuplicateEvents", float64(st.duplicates))
	h.Metrics.Count("Transitions", float64(st.transitions))
	h.Metrics.Count("LeadWriteConflicts", float64(st.conflicts))
	h.Metrics.Count("HandoffSendFailures", float64(st.sendFailed))
	h.Metrics.Count("MessagesFailed", float64(len(resp.BatchItemFailures)))
	h.Metrics.Add("DynamoDBCapacityUnits", metrics.UnitCount, units)
	h.Metrics.Milliseconds("BatchLatency", time.Since(start))
	h.Metrics.Flush()
	log.Info("batch scored", "messages", len(ev.Records), "leads", len(groups), "events_scored", st.scored,
		"duplicates", st.duplicates, "transitions", st.transitions, "failed", len(resp.BatchItemFailures),
		"capacity_units", units)
	return resp, nil
}

// processLead applies one lead's share of the batch in one conditional
// write. It returns the messages that failed on their own (their event
// record could not be written); an error fails all the lead's messages.
func (h *Handler) processLead(ctx context.Context, log *slog.Logger, g *group, now time.Time, st *stats) ([]int, error) {
	// An eventually consistent read first, at half the price: a stale copy
	// loses the versioned write below and the retry reads consistently.
	rec, err := h.Store.PeekLead(ctx, g.leadID)
	if err == nil && !rec.Exists && len(g.events) == 0 {
		// Before skipping an evaluation or rescore of a lead that seems not
		// to exist, make sure it is not just too new for this read.
		rec, err = h.Store.ReadLead(ctx, g.leadID)
	}
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

	// Identity stitching: an event naming an email and a cookie brings the
	// cookie's history into the lead, once.
	var stitched []string
	toRecord := append([]scoring.Event(nil), g.events...)
	// A visitor's history may tie more visitors to the lead (an alias it
	// received before it was stitched), so the work list grows as it goes.
	queue := g.visitorsToStitch(rec)
	for len(queue) > 0 {
		vid := queue[0]
		queue = queue[1:]
		owner, err := h.Store.MergeVisitor(ctx, vid, g.leadID)
		if err != nil {
			return nil, err
		}
		if owner != g.leadID {
			continue // the cookie was stitched into another lead first
		}
		hist, err := h.Store.EventHistory(ctx, vid)
		if err != nil {
			return nil, err
		}
		stitched = append(stitched, vid)
		for i, e := range hist {
			if _, in := g.eventMsg[e.EventID]; !in {
				toRecord = append(toRecord, e)
				g.eventMsg[e.EventID] = nil
			}
			for _, more := range tiedVisitors(&hist[i]) {
				if !slices.Contains(rec.Visitors, more) && !slices.Contains(stitched, more) && !slices.Contains(queue, more) {
					queue = append(queue, more)
				}
			}
		}
	}

	var recs []leadscore.RecordedEvent
	var failedMsgs []int
	if len(toRecord) > 0 {
		recs = h.Store.RecordEvents(ctx, g.leadID, toRecord, now)
		ok := recs[:0:0]
		for _, r := range recs {
			if r.Err == nil {
				ok = append(ok, r)
				continue
			}
			msgsOf := g.eventMsg[r.Event.EventID]
			if msgsOf == nil {
				// A stitched visitor event: the stitch is incomplete, so
				// retry the whole lead rather than mark the visitor done.
				return nil, r.Err
			}
			failedMsgs = append(failedMsgs, msgsOf...)
			log.Error("recording an event failed", "error", r.Err.Error())
		}
		recs = ok
	}

	var sent []leadscore.Handoff
	for attempt := 1; ; attempt++ {
		newHandoffs, wrote, n, err := h.apply(ctx, rec, g, recs, stitched, now)
		if err != nil {
			return failedMsgs, err
		}
		if !wrote {
			st.add(func(s *stats) { s.duplicates += n.duplicates })
			if g.resend {
				sent = rec.Outbox
			}
			break
		}
		err = h.Store.WriteLead(ctx, rec, now)
		if err == nil {
			st.add(func(s *stats) {
				s.scored += n.applied
				s.duplicates += n.duplicates
				s.transitions += len(newHandoffs)
			})
			sent = newHandoffs
			if g.resend {
				sent = rec.Outbox
			}
			break
		}
		if !errors.Is(err, leadscore.ErrConflict) || attempt >= h.MaxAttempts {
			// The records stay: a redelivery finds them and, as they are
			// not in the lead's ring, applies them then.
			return failedMsgs, err
		}
		st.add(func(s *stats) { s.conflicts++ })
		if err := sleep(ctx, time.Duration(rand.IntN(10<<attempt))*time.Millisecond); err != nil {
			return failedMsgs, err
		}
		if rec, err = h.Store.ReadLead(ctx, g.leadID); err != nil {
			if errors.Is(err, leadscore.ErrErased) {
				return nil, h.dropErased(ctx, log, g)
			}
			return failedMsgs, err
		}
	}

	if len(sent) == 0 {
		return failedMsgs, nil
	}
	if h.AfterWrite != nil {
		if err := h.AfterWrite(ctx, g.leadID); err != nil {
			return failedMsgs, fmt.Errorf("after the write of lead %s: %w", g.leadID, err)
		}
	}
	h.send(ctx, log, rec, sent, now, st)
	return failedMsgs, nil
}

// dropErased acknowledges a group of an erased lead without scoring it:
// its events must not recreate the lead. Its records are erased again, so
// a record written after the erasure (this invocation's, or a dead one's)
// does not outlive it; if that fails the messages are retried.
func (h *Handler) dropErased(ctx context.Context, log *slog.Logger, g *group) error {
	log.Info("dropping messages of an erased lead", "messages", len(g.msgs))
	if h.Eraser == nil {
		return nil
	}
	if err := h.Eraser.EraseLead(ctx, g.leadID); err != nil && !errors.Is(err, leadscore.ErrNotFound) {
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
	var n counts
	var pending []leadscore.RecordedEvent
	for _, r := range recs {
		if rec.Applied.Applied(r) {
			n.duplicates++
			continue
		}
		pending = append(pending, r)
	}
	rules, err := h.rules.Current(ctx)
	if err != nil {
		return nil, false, n, fmt.Errorf("read current rules: %w", err)
	}
	stateVersion := rec.State.RulesVersion()
	if rec.Exists && stateVersion > rules.Version {
		// Another container saw a newer publish: never score backwards.
		if rules, err = h.rules.Version(ctx, stateVersion); err != nil {
			return nil, false, n, fmt.Errorf("read rules version %d: %w", stateVersion, err)
		}
	}
	if g.rescore > rules.Version {
		if rules, err = h.rules.Version(ctx, g.rescore); err != nil {
			return nil, false, n, fmt.Errorf("read rules version %d: %w", g.rescore, err)
		}
	}
	rebuild := rec.Exists && stateVersion < rules.Version
	newVisitors := 0
	for _, v := range stitched {
		if !slices.Contains(rec.Visitors, v) {
			rec.Visitors = append(rec.Visitors, v)
			newVisitors++
		}
	}
	if len(pending) == 0 && !rebuild && len(g.evalAt) == 0 && newVisitors == 0 {
		return nil, false, n, nil
	}
	for _, r := range pending {
		if rec.Email == "" && r.Event.Email != "" {
			rec.Email = r.Event.Email
		}
	}
	if rebuild {
		// The history holds every recorded event, the pending ones included
		// (recorded before this read).
		hist, err := h.Store.EventHistory(ctx, g.leadID)
		if err != nil {
			return nil, false, n, err
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
	n.applied = len(pending)

	times := append([]time.Time(nil), g.evalAt...)
	if len(pending) > 0 || rebuild || newVisitors > 0 || len(times) == 0 {
		times = append(times, now)
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	var res scoring.Result
	var decided []scoring.Transition
	for i, t := range times {
		if i > 0 && t.Equal(times[i-1]) {
			continue
		}
		res = rec.State.Evaluate(rules, t)
		decided = append(decided, res.Transitions...)
	}
	evalNow := times[len(times)-1]
	rec.View = leadscore.BuildView(g.leadID, rec.Email, rec.State, res, rules.Version, evalNow)
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
		rec.Outbox[i].Lead = rec.View
	}
	return fresh, true, n, nil
}

// send hands transitions to the handoff queue and marks the sent ones in
// the outbox. A failure here loses nothing: the entries stay in the outbox
// and the lead stays in the due index, so the sweep sends them again.
func (h *Handler) send(ctx context.Context, log *slog.Logger, rec *leadscore.LeadRecord, hs []leadscore.Handoff, now time.Time, st *stats) {
	failedIdx, err := h.Handoff.EnqueueHandoff(ctx, hs)
	if err != nil {
		st.add(func(s *stats) { s.sendFailed += len(failedIdx) })
		log.Error("sending transitions to the handoff queue failed; the sweep will resend them", "failed", len(failedIdx), "error", err.Error())
	}
	var ids []string
	for i, ho := range hs {
		if !slices.Contains(failedIdx, i) {
			ids = append(ids, ho.TransitionID)
			log.Info("transition handed off", "transition_id", ho.TransitionID, "type", ho.Type)
		}
	}
	if err := h.Store.MarkSent(ctx, rec, ids, now); err != nil {
		// Sent but still in the outbox: the sweep sends it again, and
		// receivers dedupe by transition_id.
		log.Error("marking transitions sent failed", "error", err.Error())
	}
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
	sem := make(chan struct{}, h.Concurrency)
	var wg sync.WaitGroup
	for _, k := range keys {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			f(k)
		}()
	}
	wg.Wait()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
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
