package api

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/leadscore/leadscore/shared/httpapi"
	"github.com/leadscore/leadscore/shared/scoring"
)

// Page size of GET /v1/leads/{lead_id}/events.
const (
	DefaultEventsLimit = 20
	MaxEventsLimit     = 100
)

// EventsBody is the answer to GET /v1/leads/{lead_id}/events: the lead's
// latest recorded events, newest first (occurred_at, then event_id), and
// how many it has in all.
type EventsBody struct {
	LeadID string          `json:"lead_id"`
	Events []scoring.Event `json:"events"`
	Total  int             `json:"total"`
}

// listEvents answers a lead's latest events. A visitor stitched into a lead
// answers with that lead's, as GET /v1/leads/{lead_id} does.
func (h *Handler) listEvents(ctx context.Context, c *httpapi.Call) httpapi.Response {
	id := c.Params["lead_id"]
	if !leadIDPattern.MatchString(id) {
		return malformedLeadID()
	}
	limit := DefaultEventsLimit
	if s := httpapi.Query(c.Req).Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxEventsLimit {
			return httpapi.ErrorResponse(httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest, "malformed limit",
				httpapi.Detail{Field: "limit", Message: fmt.Sprintf("must be a whole number from 1 to %d", MaxEventsLimit)}))
		}
		limit = n
	}
	c.Annotate("lead_id", id)
	lead, err := h.leads.Lead(ctx, id)
	if err == nil && lead.MergedInto != "" && lead.MergedInto != id {
		id = lead.MergedInto
	}
	if err != nil {
		return leadReadFailed(c, err)
	}
	if h.events == nil {
		return httpapi.ErrorResponse(httpapi.StoreUnavailable())
	}
	evs, err := h.events.EventHistory(ctx, id)
	if err != nil {
		c.Log.Error("reading the lead's events failed", "error", err.Error())
		return httpapi.ErrorResponse(httpapi.StoreUnavailable())
	}
	slices.SortFunc(evs, func(a, b scoring.Event) int {
		return cmp.Or(b.OccurredAt.Compare(a.OccurredAt), strings.Compare(b.EventID, a.EventID))
	})
	body := EventsBody{LeadID: id, Total: len(evs), Events: evs[:min(limit, len(evs))]}
	if body.Events == nil {
		body.Events = []scoring.Event{}
	}
	return httpapi.JSON(http.StatusOK, body)
}
