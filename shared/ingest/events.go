package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/leadscore/leadscore/shared/httpapi"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// Accepted is one accepted event in a 202 answer.
type Accepted struct {
	EventID string `json:"event_id"`
	LeadID  string `json:"lead_id"`
}

// AcceptedBody is the 202 answer to an event or form post.
type AcceptedBody struct {
	Accepted   []Accepted `json:"accepted"`
	Duplicates int        `json:"duplicates"`
}

// batch is a validated request, ready to enqueue.
type batch struct {
	msgs []leadscore.ScoreMessage
	// paths[i] is where msgs[i] was in the request ("", "events[3]"), for
	// naming it in a 503.
	paths      []string
	duplicates int
}

// prepareEvents decodes, validates and normalizes an event post. It reads
// nothing but (at most every RulesTTL, and only for an unknown type) the
// current rules.
// On a 400, rejected is the number of events the request held.
func (h *Handler) prepareEvents(ctx context.Context, req *httpapi.Request, log *slog.Logger) (_ *batch, rejected int, _ *httpapi.Error) {
	b, e := httpapi.Body(req, MaxEventsBodyBytes)
	if e != nil {
		return nil, 0, e
	}
	if mt, _ := httpapi.MediaType(req); !httpapi.IsJSONMediaType(mt) {
		return nil, 0, httpapi.UnsupportedMedia("application/json")
	}
	doc, e := decodeJSON(b)
	if e != nil {
		return nil, 0, e
	}
	raws, prefixes, e := rawEvents(doc)
	if e != nil {
		return nil, 0, e
	}
	now := h.now().UTC()
	n := normalizer{now: now, rules: h.currentRules(ctx, false, log)}
	evs := n.all(raws, prefixes)
	if n.unknownType {
		// The cached rules may predate a version that declares this type.
		if fresh := h.currentRules(ctx, true, log); fresh != n.rules {
			n = normalizer{now: now, rules: fresh}
			evs = n.all(raws, prefixes)
		}
	}
	if len(n.details) > 0 {
		return nil, len(raws), httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest,
			fmt.Sprintf("the request has %d problem(s); nothing was accepted", len(n.details)), n.details...)
	}
	return dedupe(evs, prefixes, n.rules), 0, nil
}

// all validates every raw event, so one answer reports every problem.
func (n *normalizer) all(raws []any, prefixes []string) []scoring.Event {
	evs := make([]scoring.Event, len(raws))
	for i, raw := range raws {
		evs[i], _ = n.event(prefixes[i], raw)
	}
	return evs
}

// dedupe keeps the first event of each (lead, event_id): an event_id names
// one event of one lead (docs/api.md "Event"), as the score function keys
// its event records, so the same id repeated for the same lead within a
// request is one event and the same id for another lead is another event.
// Hand-raises (the rules' instant_on types) are marked urgent.
func dedupe(evs []scoring.Event, prefixes []string, rules *scoring.Rules) *batch {
	b := &batch{msgs: make([]leadscore.ScoreMessage, 0, len(evs))}
	type key struct{ subject, eventID string }
	var seen map[key]bool
	if len(evs) > 1 {
		seen = make(map[key]bool, len(evs))
	}
	for i := range evs {
		ev := evs[i]
		subject := leadscore.SubjectID(&ev)
		if seen != nil {
			k := key{subject, ev.EventID}
			if seen[k] {
				b.duplicates++
				continue
			}
			seen[k] = true
		}
		b.msgs = append(b.msgs, leadscore.ScoreMessage{Kind: leadscore.KindEvent, LeadID: subject, Event: &ev,
			Urgent: rules.InstantOn(ev.Type)})
		b.paths = append(b.paths, prefixes[i])
	}
	return b
}

func (h *Handler) postEvents(ctx context.Context, c *httpapi.Call) httpapi.Response {
	b, rejected, e := h.prepareEvents(ctx, c.Req, c.Log)
	if e != nil {
		if e.Status == http.StatusBadRequest {
			c.Annotate("events_accepted", 0, "events_rejected", rejected)
			h.metrics.Count(MetricEventsRejected, float64(max(rejected, 1)))
		}
		return httpapi.ErrorResponse(e)
	}
	body, e := h.enqueue(ctx, b, c)
	if e != nil {
		return httpapi.ErrorResponse(e)
	}
	return httpapi.JSON(http.StatusAccepted, body)
}

// enqueue sends a batch to the score queue. Events SQS still refuses after
// the queue's retries are named in a 503, so the client can resend exactly
// those with the same event_ids (the score function dedupes by event_id, so
// a resend never counts twice).
func (h *Handler) enqueue(ctx context.Context, b *batch, c *httpapi.Call) (*AcceptedBody, *httpapi.Error) {
	if len(b.msgs) == 1 {
		c.Annotate("lead_id", b.msgs[0].LeadID)
	}
	failed, err := h.queue.EnqueueScore(ctx, b.msgs)
	if err != nil && len(failed) == 0 {
		// A queue that reports an error without naming entries has sent
		// nothing we can be sure of.
		failed = make([]int, len(b.msgs))
		for i := range failed {
			failed[i] = i
		}
	}
	isFailed := make(map[int]bool, len(failed))
	for _, i := range failed {
		isFailed[i] = true
	}
	out := &AcceptedBody{Accepted: make([]Accepted, 0, len(b.msgs)), Duplicates: b.duplicates}
	var notAccepted []Accepted
	var details []httpapi.Detail
	for i, m := range b.msgs {
		a := Accepted{EventID: m.Event.EventID, LeadID: m.LeadID}
		if isFailed[i] {
			notAccepted = append(notAccepted, a)
			details = append(details, httpapi.Detail{Field: join(b.paths[i], "event_id"), Message: "not accepted; resend with event_id " + a.EventID})
			continue
		}
		out.Accepted = append(out.Accepted, a)
	}
	if len(out.Accepted) > 0 {
		c.Annotate("events_accepted", len(out.Accepted), "events_rejected", 0)
	}
	h.metrics.Count(MetricEventsAccepted, float64(len(out.Accepted)))
	if b.duplicates > 0 {
		h.metrics.Count(MetricEventsDuplicate, float64(b.duplicates))
	}
	if len(notAccepted) == 0 {
		return out, nil
	}
	h.metrics.Count(MetricEventsNotEnqueued, float64(len(notAccepted)))
	c.Log.Error("score queue refused events", "not_accepted", len(notAccepted), "error", errString(err))
	e := httpapi.Errorf(http.StatusServiceUnavailable, httpapi.CodeQueueUnavailable,
		fmt.Sprintf("%d of %d events were not accepted; resend them with the same event_id (nothing is counted twice)", len(notAccepted), len(b.msgs)),
		details...)
	e.Extra = map[string]any{"not_accepted": notAccepted, "accepted": out.Accepted, "duplicates": b.duplicates}
	return nil, e
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
