package ingest

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/leadscore/leadscore/shared/httpapi"
	"github.com/leadscore/leadscore/shared/scoring"
	"github.com/leadscore/leadscore/shared/segment"
)

// The Segment-compatible routes (docs/api.md "Sources"): what Segment's and
// RudderStack's SDKs and Segment's webhook destinations send, decoded and
// mapped by shared/segment, then validated and enqueued like POST /v1/events.
// They answer as Segment does, 200 {"success": true}, so the SDKs neither
// retry nor drop; a bad message is a 400 naming it, and the good messages of
// the same request are kept.

// segmentMessageRoutes are the single-message routes, by message type.
var segmentMessageRoutes = []string{segment.TypeTrack, segment.TypeIdentify, segment.TypePage,
	segment.TypeScreen, segment.TypeGroup, segment.TypeAlias}

// segmentSuccess is Segment's answer to an accepted request.
func segmentSuccess() httpapi.Response {
	return httpapi.JSON(http.StatusOK, map[string]bool{"success": true})
}

// postSegmentBatch answers POST /v1/batch.
func (h *Handler) postSegmentBatch(ctx context.Context, c *httpapi.Call) httpapi.Response {
	body, e := segmentBody(c.Req)
	if e != nil {
		return httpapi.ErrorResponse(e)
	}
	p, err := segment.DecodeBatch(body)
	if err != nil {
		return httpapi.ErrorResponse(segmentError(err))
	}
	return h.acceptSegment(ctx, c, p)
}

// postSegmentMessage answers POST /v1/track, /v1/identify, ...: one message
// of the route's type.
func (h *Handler) postSegmentMessage(typ string) httpapi.HandlerFunc {
	return func(ctx context.Context, c *httpapi.Call) httpapi.Response {
		body, e := segmentBody(c.Req)
		if e != nil {
			return httpapi.ErrorResponse(e)
		}
		p, err := segment.DecodeMessage(body, typ)
		if err != nil {
			return httpapi.ErrorResponse(segmentError(err))
		}
		return h.acceptSegment(ctx, c, p)
	}
}

// postSegmentWebhook answers POST /v1/sources/segment: what a Segment
// webhook destination posts (one message or an array), signed with
// X-Signature, or sent with a write key (or the API key) like the SDK routes.
func (h *Handler) postSegmentWebhook(ctx context.Context, c *httpapi.Call) httpapi.Response {
	body, e := segmentBody(c.Req)
	if e != nil {
		return httpapi.ErrorResponse(e)
	}
	switch sig := httpapi.Header(c.Req, segment.HeaderSignature); {
	case sig != "" && !segment.VerifySignature(h.segmentSecret, body, sig):
		return httpapi.ErrorResponse(httpapi.Errorf(http.StatusUnauthorized, httpapi.CodeUnauthorized,
			"X-Signature is not the hex HMAC-SHA1 of the body with SEGMENT_WEBHOOK_SECRET",
			httpapi.Detail{Field: segment.HeaderSignature, Message: "does not match the body"}))
	case sig == "":
		if e := h.router.Authorize(c.Req, httpapi.Route{Ingest: true}); e != nil {
			e.Message = "send X-Signature (HMAC-SHA1 of the body with SEGMENT_WEBHOOK_SECRET), or a write key in Authorization"
			return httpapi.ErrorResponse(e)
		}
	}
	p, err := segment.DecodeWebhook(body)
	if err != nil {
		return httpapi.ErrorResponse(segmentError(err))
	}
	return h.acceptSegment(ctx, c, p)
}

// segmentBody reads a Segment request's body: at most 500 KB as sent, and
// again once un-gzipped (rudder-sdk-node gzips by default). Segment answers
// an oversized body 400, not 413, and the SDKs rely on it: they drop a 400
// and retry anything else.
func segmentBody(req *httpapi.Request) ([]byte, *httpapi.Error) {
	raw, e := httpapi.Body(req, segment.MaxBatchBytes)
	if e != nil {
		if e.Status == http.StatusRequestEntityTooLarge {
			e.Status = http.StatusBadRequest
		}
		return nil, e
	}
	body, err := segment.Decompress(raw, httpapi.Header(req, "content-encoding"), segment.MaxBatchBytes)
	if err != nil {
		return nil, segmentError(err)
	}
	if e := strictJSON(body); e != nil {
		return nil, e
	}
	return body, nil
}

// segmentError is the 400 of a body segment refused as a whole.
func segmentError(err error) *httpapi.Error {
	se, ok := err.(*segment.Error)
	if !ok {
		return httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest, "the body is not a Segment message")
	}
	code := httpapi.CodeInvalidRequest
	if se.TooLarge {
		code = httpapi.CodePayloadTooLarge
	}
	return httpapi.Errorf(http.StatusBadRequest, code, se.Field+" "+se.Message, httpapi.Detail{Field: se.Field, Message: se.Message})
}

// acceptSegment maps, validates and enqueues the messages of a request.
// Every good message is enqueued even when others are bad; then a 400
// names the bad ones (a resend of the whole request counts the good ones
// once: their messageId is their event_id).
func (h *Handler) acceptSegment(ctx context.Context, c *httpapi.Call, p *segment.Payload) httpapi.Response {
	now := h.now().UTC()
	rules := h.currentRules(ctx, false, c.Log)
	evs, paths, details := mapSegment(p, rules, now)
	if len(evs) > 0 {
		if _, e := h.enqueue(ctx, dedupe(evs, paths, rules), c); e != nil {
			return httpapi.ErrorResponse(e)
		}
	}
	if len(details) == 0 {
		return segmentSuccess()
	}
	bad := len(p.Items) + len(p.Problems) - len(evs)
	c.Annotate("events_rejected", bad)
	h.metrics.Count(MetricEventsRejected, float64(bad))
	e := httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest,
		fmt.Sprintf("%d message(s) have problems and were not accepted; the other %d were", bad, len(evs)), details...)
	e.Extra = map[string]any{"success": false, "accepted": len(evs)}
	return httpapi.ErrorResponse(e)
}

// mapSegment turns the decoded messages into validated events, and every
// problem into a detail naming the message's field.
func mapSegment(p *segment.Payload, rules *scoring.Rules, now time.Time) ([]scoring.Event, []string, []httpapi.Detail) {
	var details []httpapi.Detail
	for _, pr := range p.Problems {
		details = append(details, httpapi.Detail{Field: pr.Field, Message: pr.Message})
	}
	m := segment.Mapper{EventType: rules.SegmentEventType}
	n := normalizer{now: now, rules: rules}
	evs := make([]scoring.Event, 0, len(p.Items))
	paths := make([]string, 0, len(p.Items))
	for i := range p.Items {
		ev, problems := m.Map(&p.Items[i], now)
		for _, pr := range problems {
			details = append(details, httpapi.Detail{Field: pr.Field, Message: pr.Message})
		}
		if len(problems) > 0 {
			continue
		}
		// The mapped event goes through POST /v1/events' validation: one
		// set of limits and one email check for every way in.
		if out, ok := n.event(p.Items[i].Path, eventObject(&ev)); ok {
			evs = append(evs, out)
			paths = append(paths, p.Items[i].Path)
		}
	}
	return evs, paths, append(details, n.details...)
}

// eventObject is ev in POST /v1/events' JSON shape, for its validation.
func eventObject(ev *scoring.Event) map[string]any {
	obj := map[string]any{"type": ev.Type, "occurred_at": ev.OccurredAt.Format(time.RFC3339Nano)}
	for k, v := range map[string]string{"event_id": ev.EventID, "email": ev.Email, "anonymous_id": ev.AnonymousID,
		"user_id": ev.UserID, "account_id": ev.AccountID} {
		if v != "" {
			obj[k] = v
		}
	}
	for k, v := range map[string]map[string]any{"lead": ev.Lead, "account": ev.Account, "properties": ev.Properties} {
		if v != nil {
			obj[k] = v
		}
	}
	return obj
}
