package api

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/leadscore/leadscore/shared/httpapi"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// Page sizes of GET /v1/leads?stage=.
const (
	DefaultLeadsLimit = 50
	MaxLeadsLimit     = 100
	maxCursorLen      = 2048
	// PageBudget bounds the leads of one page, counted as Lambda returns
	// them (each lead's JSON escaped into the response envelope). Lambda
	// refuses a response over 6 MB, which API Gateway answers with a 500;
	// a large rules document makes every breakdown long, so a page stops
	// at this budget, leaving room for the envelope, and its cursor goes on
	// from the first lead left out (docs/api.md "HTTP API").
	PageBudget = 5 << 20
)

// leadIDPattern is what leadscore.LeadID and VisitorID produce; anything else
// cannot exist, so it is answered without a table read.
var leadIDPattern = regexp.MustCompile(`^(ld|vi)_[0-9a-f]{24}$`)

var stages = []string{string(scoring.StageVisitor), string(scoring.StageLead), string(scoring.StageMQL), string(scoring.StageSQL),
	string(scoring.StageCustomer), string(scoring.StageNurture), string(scoring.StageDisqualified), string(scoring.StageExpired)}

// LeadsPage is the answer to GET /v1/leads?stage=.
type LeadsPage struct {
	Leads []leadscore.LeadView `json:"leads"`
	// Cursor fetches the next page; null on the last one.
	Cursor *string `json:"cursor"`
}

func (h *Handler) getLead(ctx context.Context, c *httpapi.Call) httpapi.Response {
	id := c.Params["lead_id"]
	if !leadIDPattern.MatchString(id) {
		return malformedLeadID()
	}
	all, e := breakdownAll(c)
	if e != nil {
		return httpapi.ErrorResponse(e)
	}
	return h.leadResponse(ctx, id, all, c)
}

// breakdownAll reads ?breakdown=: "all" lists every rule of the lead's
// breakdown; absent, only the rules that contributed.
func breakdownAll(c *httpapi.Call) (bool, *httpapi.Error) {
	v, ok := httpapi.Query(c.Req)["breakdown"]
	switch {
	case !ok:
		return false, nil
	case v[0] == "all":
		return true, nil
	}
	return false, httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest, "malformed breakdown",
		httpapi.Detail{Field: "breakdown", Message: `must be "all" (every rule), or left out (the rules that counted)`})
}

// leadResponse reads one lead. A visitor stitched into a lead answers with
// that lead, where its activity now lives.
func (h *Handler) leadResponse(ctx context.Context, id string, all bool, c *httpapi.Call) httpapi.Response {
	c.Annotate("lead_id", id)
	lead, err := h.leads.Lead(ctx, id)
	if err == nil && lead.MergedInto != "" && lead.MergedInto != id {
		lead, err = h.leads.Lead(ctx, lead.MergedInto)
	}
	if err != nil {
		return leadReadFailed(c, err)
	}
	v, err := h.view(ctx, lead, all)
	if err != nil {
		c.Log.Error("computing the lead's view failed", "error", err.Error())
		return httpapi.ErrorResponse(httpapi.StoreUnavailable())
	}
	return httpapi.JSON(http.StatusOK, v)
}

// malformedLeadID answers a lead_id no lead can have (leadIDPattern) with
// a 400, without a table read.
func malformedLeadID() httpapi.Response {
	return httpapi.ErrorResponse(httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest, "malformed lead_id",
		httpapi.Detail{Field: "lead_id", Message: "must be ld_ or vi_ followed by 24 hex digits"}))
}

// leadReadFailed answers a failed lead read: 404 when there is no such
// lead, else 503 (logged).
func leadReadFailed(c *httpapi.Call, err error) httpapi.Response {
	if errors.Is(err, leadscore.ErrNotFound) {
		return httpapi.ErrorResponse(httpapi.Errorf(http.StatusNotFound, httpapi.CodeNotFound, "no such lead"))
	}
	c.Log.Error("reading lead failed", "error", err.Error())
	return httpapi.ErrorResponse(httpapi.StoreUnavailable())
}

// view is the lead as the API shows it: computed from its stored state with
// the rules version it was last evaluated with (the store scores nothing).
// Unless all is set, breakdown rows of rules that gave nothing (no points,
// no counted events) are left out: with a large rules document they would
// be most of the answer.
func (h *Handler) view(ctx context.Context, l *leadscore.Lead, all bool) (leadscore.LeadView, error) {
	v, err := h.views.View(ctx, l)
	if err != nil {
		return leadscore.LeadView{}, err
	}
	if !all {
		v = v.Counted()
	}
	if v.LeadID == "" {
		v.LeadID = l.ID
	}
	if v.Attributes == nil {
		v.Attributes = map[string]any{}
	}
	if v.StageHistory == nil {
		v.StageHistory = []scoring.Transition{}
	}
	if v.Breakdown == nil {
		v.Breakdown = []scoring.Contribution{}
	}
	return v, nil
}

func (h *Handler) listLeads(ctx context.Context, c *httpapi.Call) httpapi.Response {
	q := httpapi.Query(c.Req)
	email, hasEmail := q["email"]
	stage, hasStage := q["stage"]
	all, e := breakdownAll(c)
	switch {
	case e != nil:
		return httpapi.ErrorResponse(e)
	case hasEmail && hasStage:
		return httpapi.ErrorResponse(httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest, "use either email or stage, not both",
			httpapi.Detail{Field: "email", Message: "cannot be combined with stage"}))
	case hasEmail:
		// A "+" left unescaped in a query string arrives as a space, and an
		// address never holds one: ada+news@example.com is what was meant.
		e := leadscore.NormalizeEmail(strings.ReplaceAll(strings.TrimSpace(email[0]), " ", "+"))
		if !leadscore.ValidEmail(e) || len(e) > leadscore.MaxEmailLen {
			return httpapi.ErrorResponse(httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest, "malformed email",
				httpapi.Detail{Field: "email", Message: "is not a valid email address"}))
		}
		return h.leadResponse(ctx, leadscore.LeadID(e), all, c)
	case hasStage:
		return h.leadsByStage(ctx, stage[0], q, all, c)
	default:
		return httpapi.ErrorResponse(httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest, "give email= or stage=",
			httpapi.Detail{Field: "stage", Message: "email or stage is required"}))
	}
}

func (h *Handler) leadsByStage(ctx context.Context, stage string, q url.Values, all bool, c *httpapi.Call) httpapi.Response {
	var details []httpapi.Detail
	if !slices.Contains(stages, stage) {
		details = append(details, httpapi.Detail{Field: "stage", Message: "must be one of " + strings.Join(stages, ", ")})
	}
	limit := DefaultLeadsLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLeadsLimit {
			details = append(details, httpapi.Detail{Field: "limit", Message: fmt.Sprintf("must be a whole number from 1 to %d", MaxLeadsLimit)})
		}
		limit = n
	}
	cursor := q.Get("cursor")
	if len(cursor) > maxCursorLen {
		details = append(details, httpapi.Detail{Field: "cursor", Message: "is not a cursor this API returned"})
	}
	if len(details) > 0 {
		return httpapi.ErrorResponse(httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest, "the query has problems; see details", details...))
	}
	page, err := h.stagePage(ctx, scoring.Stage(stage), limit, cursor, all)
	var ve viewError
	switch {
	case errors.As(err, &ve):
		c.Log.Error("computing a lead's view failed", "error", err.Error())
		return httpapi.ErrorResponse(httpapi.StoreUnavailable())
	case err != nil:
		if cursor != "" && !errors.Is(err, context.DeadlineExceeded) {
			// The likeliest cause with a cursor is a cursor the store could
			// not decode; the store's text is not passed on.
			c.Log.Warn("listing leads with a cursor failed", "error", err.Error())
			return httpapi.ErrorResponse(httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest, "the cursor is not valid",
				httpapi.Detail{Field: "cursor", Message: "is not a cursor this API returned"}))
		}
		c.Log.Error("listing leads failed", "error", err.Error())
		return httpapi.ErrorResponse(httpapi.StoreUnavailable())
	}
	return httpapi.JSON(http.StatusOK, page)
}

// viewError is a lead read whose view could not be computed (its rules
// version could not be read), told apart from a listing error.
type viewError struct{ err error }

func (e viewError) Error() string { return e.err.Error() }
func (e viewError) Unwrap() error { return e.err }

// stagePage reads up to limit leads of stage after cursor, as many as fit
// in PageBudget. When fewer fit than were read, it reads again with the
// smaller limit, so that the store's cursor continues right after the last
// lead answered (cursors are the store's own). Each read shrinks the limit
// and the first lead always fits (a rules document's size limit bounds a
// breakdown far below the budget), so this ends.
func (h *Handler) stagePage(ctx context.Context, stage scoring.Stage, limit int, cursor string, all bool) (LeadsPage, error) {
	for {
		leads, next, err := h.leads.LeadsByStage(ctx, stage, limit, cursor)
		if err != nil {
			return LeadsPage{}, err
		}
		views, err := h.fitBudget(ctx, leads, all)
		if err != nil {
			return LeadsPage{}, viewError{err}
		}
		if len(views) == len(leads) {
			// The stage index orders leads by engagement band, not by
			// exact engagement (a key that changed on every lead write
			// cost more than the event record: docs/performance.md), so
			// the page is put in exact order here; across pages the order
			// is by band.
			slices.SortStableFunc(views, func(a, b leadscore.LeadView) int { return cmp.Compare(b.Score.Engagement, a.Score.Engagement) })
			page := LeadsPage{Leads: views}
			if next != "" {
				page.Cursor = &next
			}
			return page, nil
		}
		limit = len(views)
	}
}

// fitBudget returns the views of the first leads that fit in PageBudget
// (at least one when there are any).
func (h *Handler) fitBudget(ctx context.Context, leads []*leadscore.Lead, all bool) ([]leadscore.LeadView, error) {
	views := make([]leadscore.LeadView, 0, len(leads))
	used := 0
	for _, l := range leads {
		v, err := h.view(ctx, l, all)
		if err != nil {
			return nil, err
		}
		used += envelopeLen(v)
		if used > PageBudget && len(views) > 0 {
			break
		}
		views = append(views, v)
	}
	return views, nil
}

// envelopeLen is how many bytes v takes in Lambda's response: its JSON,
// escaped again as the response's body string, and a comma.
func envelopeLen(v leadscore.LeadView) int {
	b, err := json.Marshal(v)
	if err != nil {
		return 0 // unreachable for a view; httpapi.JSON reports it
	}
	s, _ := json.Marshal(string(b))
	return len(s) + 1
}

// deleteLead erases a lead (privacy request). Erasing is idempotent: a lead
// already gone answers 204 too, since "nothing is stored" is what was asked.
func (h *Handler) deleteLead(ctx context.Context, c *httpapi.Call) httpapi.Response {
	id := c.Params["lead_id"]
	if !leadIDPattern.MatchString(id) {
		return malformedLeadID()
	}
	c.Annotate("lead_id", id)
	if err := h.leaveAccount(ctx, id); err != nil {
		c.Log.Error("removing the lead from its account failed", "error", err.Error())
		return httpapi.ErrorResponse(httpapi.StoreUnavailable())
	}
	if err := h.eraser.EraseLead(ctx, id); err != nil && !errors.Is(err, leadscore.ErrNotFound) {
		c.Log.Error("erasing lead failed", "error", err.Error())
		return httpapi.ErrorResponse(httpapi.StoreUnavailable())
	}
	return httpapi.Response{StatusCode: http.StatusNoContent, Headers: map[string]string{"cache-control": "no-store"}}
}
