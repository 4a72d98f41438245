package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/leadscore/leadscore/shared/httpapi"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// accountIDPattern is what ingestion accepts as an account_id (and what
// scoring.AccountIDForDomain produces): anything else cannot exist.
var accountIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)

// domainPattern is a loose host name: letters, digits, dots and dashes.
var domainPattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$`)

var accountStages = []string{string(scoring.AccountStageAccount), string(scoring.AccountStageMQA),
	string(scoring.AccountStageOpportunity), string(scoring.AccountStageCustomer)}

// AccountsPage is the answer to GET /v1/accounts?stage=.
type AccountsPage struct {
	Accounts []leadscore.AccountView `json:"accounts"`
	// Cursor fetches the next page; null on the last one.
	Cursor *string `json:"cursor"`
}

func (h *Handler) getAccount(ctx context.Context, c *httpapi.Call) httpapi.Response {
	id := c.Params["account_id"]
	if !accountIDPattern.MatchString(id) {
		return httpapi.ErrorResponse(httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest, "malformed account_id",
			httpapi.Detail{Field: "account_id", Message: "must match [A-Za-z0-9_.:-]{1,128}"}))
	}
	return h.accountResponse(ctx, id, c)
}

func (h *Handler) accountResponse(ctx context.Context, id string, c *httpapi.Call) httpapi.Response {
	c.Annotate("account_id", id)
	a, err := h.accounts.Account(ctx, id)
	switch {
	case errors.Is(err, leadscore.ErrNotFound):
		return httpapi.ErrorResponse(httpapi.Errorf(http.StatusNotFound, httpapi.CodeNotFound, "no such account"))
	case err != nil:
		c.Log.Error("reading account failed", "error", err.Error())
		return httpapi.ErrorResponse(httpapi.StoreUnavailable())
	}
	members, err := h.accounts.AccountMembers(ctx, id)
	if err != nil {
		c.Log.Error("reading the account's members failed", "error", err.Error())
		return httpapi.ErrorResponse(httpapi.StoreUnavailable())
	}
	rules, err := h.views.Version(ctx, a.View.RulesVersion)
	if err != nil {
		c.Log.Error("reading the account's rules version failed", "rules_version", a.View.RulesVersion, "error", err.Error())
		return httpapi.ErrorResponse(httpapi.StoreUnavailable())
	}
	return httpapi.JSON(http.StatusOK, leadscore.AccountViewOf(a, members, rules))
}

// accountView is the stored view (without per-lead lists: a listing
// shows accounts, GET one for its leads) with the stage history of the
// state.
func accountView(a *leadscore.Account) leadscore.AccountView {
	v := a.View
	if v.AccountID == "" {
		v.AccountID = a.ID
	}
	if a.State != nil {
		v.StageHistory = a.State.History()
	}
	if v.StageHistory == nil {
		v.StageHistory = []scoring.AccountTransition{}
	}
	if v.Attributes == nil {
		v.Attributes = map[string]any{}
	}
	if v.Leads == nil {
		v.Leads = []leadscore.AccountLead{}
	}
	if v.Breakdown.Leads == nil {
		v.Breakdown.Leads = []scoring.AccountContribution{}
	}
	if v.Breakdown.Fit == nil {
		v.Breakdown.Fit = []scoring.Contribution{}
	}
	return v
}

func (h *Handler) listAccounts(ctx context.Context, c *httpapi.Call) httpapi.Response {
	q := httpapi.Query(c.Req)
	domain, hasDomain := q["domain"]
	stage, hasStage := q["stage"]
	switch {
	case hasDomain && hasStage:
		return httpapi.ErrorResponse(httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest, "use either domain or stage, not both",
			httpapi.Detail{Field: "domain", Message: "cannot be combined with stage"}))
	case hasDomain:
		d := strings.ToLower(strings.TrimSpace(domain[0]))
		if !domainPattern.MatchString(d) || !strings.Contains(d, ".") {
			return httpapi.ErrorResponse(httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest, "malformed domain",
				httpapi.Detail{Field: "domain", Message: "is not a domain name like example.com"}))
		}
		return h.accountResponse(ctx, scoring.AccountIDForDomain(d), c)
	case hasStage:
		return h.accountsByStage(ctx, stage[0], q.Get("limit"), q.Get("cursor"), c)
	default:
		return httpapi.ErrorResponse(httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest, "give domain= or stage=",
			httpapi.Detail{Field: "stage", Message: "domain or stage is required"}))
	}
}

func (h *Handler) accountsByStage(ctx context.Context, stage, limitText, cursor string, c *httpapi.Call) httpapi.Response {
	var details []httpapi.Detail
	if !slices.Contains(accountStages, stage) {
		details = append(details, httpapi.Detail{Field: "stage", Message: "must be one of " + strings.Join(accountStages, ", ")})
	}
	limit := DefaultLeadsLimit
	if limitText != "" {
		n, err := strconv.Atoi(limitText)
		if err != nil || n < 1 || n > MaxLeadsLimit {
			details = append(details, httpapi.Detail{Field: "limit", Message: fmt.Sprintf("must be a whole number from 1 to %d", MaxLeadsLimit)})
		}
		limit = n
	}
	if len(cursor) > maxCursorLen {
		details = append(details, httpapi.Detail{Field: "cursor", Message: "is not a cursor this API returned"})
	}
	if len(details) > 0 {
		return httpapi.ErrorResponse(httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest, "the query has problems; see details", details...))
	}
	accounts, next, err := h.accounts.AccountsByStage(ctx, scoring.AccountStage(stage), limit, cursor)
	if err != nil {
		if cursor != "" && !errors.Is(err, context.DeadlineExceeded) {
			c.Log.Warn("listing accounts with a cursor failed", "error", err.Error())
			return httpapi.ErrorResponse(httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest, "the cursor is not valid",
				httpapi.Detail{Field: "cursor", Message: "is not a cursor this API returned"}))
		}
		c.Log.Error("listing accounts failed", "error", err.Error())
		return httpapi.ErrorResponse(httpapi.StoreUnavailable())
	}
	page := AccountsPage{Accounts: make([]leadscore.AccountView, 0, len(accounts))}
	for _, a := range accounts {
		page.Accounts = append(page.Accounts, accountView(a))
	}
	// The index orders accounts by engagement band; the page is exact.
	slices.SortStableFunc(page.Accounts, func(a, b leadscore.AccountView) int {
		return cmp.Compare(b.Score.Engagement, a.Score.Engagement)
	})
	if next != "" {
		page.Cursor = &next
	}
	return httpapi.JSON(http.StatusOK, page)
}

// leaveAccount removes an erased lead from its account for good (a member
// tombstone) and asks the score function to re-evaluate the account. It
// runs before the erasure, so a failure leaves the lead in place and the
// client's retry does both.
func (h *Handler) leaveAccount(ctx context.Context, id string) error {
	l, err := h.leads.Lead(ctx, id)
	if errors.Is(err, leadscore.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	v, err := h.view(ctx, l, false)
	if err != nil || v.AccountID == "" {
		return err
	}
	// The tombstone is written here, not only by the account's evaluation:
	// if that message ended in the dead-letter queue, the person's summary
	// (email, attributes) would outlive the erasure.
	gone := []leadscore.Member{leadscore.ErasedMember(id)}
	if err := h.members.PutMembers(ctx, v.AccountID, gone); err != nil {
		return fmt.Errorf("remove lead %s from account %s: %w", id, v.AccountID, err)
	}
	msg := leadscore.ScoreMessage{Kind: leadscore.KindAccount, AccountID: v.AccountID, Now: h.now().UTC(), Members: gone}
	if _, err := h.queue.EnqueueScore(ctx, []leadscore.ScoreMessage{msg}); err != nil {
		return fmt.Errorf("ask account %s to drop lead %s: %w", v.AccountID, id, err)
	}
	return nil
}
