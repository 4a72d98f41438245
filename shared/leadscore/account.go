package leadscore

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/leadscore/leadscore/shared/scoring"
)

// MaxAccountLeads bounds the leads an account view lists (and its
// breakdown's per-lead lines): the most engaged first. An account of
// 10,000 leads still shows its total engagement exactly; the leads beyond
// the list are summed in AccountBreakdownView.Others.
const MaxAccountLeads = 50

// Member is one lead's summary as its account keeps it: what
// scoring.EvaluateAccount needs, plus the email the account view lists.
type Member struct {
	scoring.AccountMember
	Email string `json:"email,omitempty"`
	// Erased marks a lead erased for a privacy request: the store keeps a
	// tombstone in its place (no email, no attributes) that no later
	// summary of the lead can overwrite.
	Erased bool `json:"erased,omitempty"`
}

// ErasedMember is the summary that removes an erased lead from account
// accountID for good.
func ErasedMember(leadID string) Member {
	return Member{AccountMember: scoring.AccountMember{LeadID: leadID}, Erased: true}
}

// AccountLead is one lead as an account view lists it.
type AccountLead struct {
	LeadID     string        `json:"lead_id"`
	Email      string        `json:"email,omitempty"`
	Stage      scoring.Stage `json:"stage"`
	Engagement float64       `json:"engagement"`
}

// AccountBreakdownView is an account's engagement broken down: the
// per-lead lines of the MaxAccountLeads most counted leads, what the
// others count together, the breadth points and the fit lines. Leads'
// Counted, Others.Counted and Breadth sum to the account's engagement.
type AccountBreakdownView struct {
	Leads   []scoring.AccountContribution `json:"leads"`
	Others  OtherLeads                    `json:"others"`
	Breadth float64                       `json:"breadth"`
	Fit     []scoring.Contribution        `json:"fit"`
	// FitOmitted counts the fit lines a webhook body left out (see
	// AccountView.ForWebhook); the API's views never omit any.
	FitOmitted int `json:"fit_omitted,omitempty"`
}

// OtherLeads sums the leads an account view does not list one by one.
type OtherLeads struct {
	Leads   int     `json:"leads"`
	Counted float64 `json:"counted"`
}

// AccountView is an account as the API shows it and as its webhooks carry
// it (docs/api.md "Accounts, preview, console"). Its size is bounded
// whatever the number of leads, so the store keeps it in the account item.
type AccountView struct {
	AccountID       string                      `json:"account_id"`
	Domain          string                      `json:"domain,omitempty"`
	Attributes      map[string]any              `json:"attributes"`
	Score           scoring.Score               `json:"score"`
	EngagedContacts int                         `json:"engaged_contacts"`
	Stage           scoring.AccountStage        `json:"stage"`
	StageHistory    []scoring.AccountTransition `json:"stage_history"`
	Breakdown       AccountBreakdownView        `json:"breakdown"`
	// Leads are the most engaged leads (at most MaxAccountLeads); LeadCount
	// is how many the account has.
	Leads        []AccountLead `json:"leads"`
	LeadCount    int           `json:"lead_count"`
	RulesVersion int           `json:"rules_version"`
	EvaluatedAt  time.Time     `json:"evaluated_at"`
	MQAAt        *time.Time    `json:"mqa_at,omitempty"`
}

// Summary is v without its per-lead lists (leads, breakdown.leads and
// breakdown.others): what the account item stores. The lists are computed
// from the member items when an account is read (AccountViewOf), so an
// account write costs 1-2 WRU however many leads it has.
//
// Its fit lines are bounded like a webhook's (ForWebhook): a rules document
// may hold 1,000 account fit rules with long descriptions, and the item
// must stay far under DynamoDB's 400 KB.
func (v AccountView) Summary() AccountView {
	v = v.ForWebhook()
	v.Leads = nil
	v.Breakdown.Leads = nil
	v.Breakdown.Others = OtherLeads{}
	return v
}

// AccountViewOf is account a as the API shows it: its scores, breakdown
// and leads computed from members (as they stand now) with rules (the
// version a was last evaluated with) at its last evaluation time, and its
// stage and history as that evaluation left them.
func AccountViewOf(a *Account, members []Member, rules *scoring.Rules) AccountView {
	summaries := make([]scoring.AccountMember, len(members))
	for i, m := range members {
		summaries[i] = m.AccountMember
	}
	stored := a.View
	res := scoring.EvaluateAccount(rules, a.State, summaries, stored.EvaluatedAt)
	v := BuildAccountView(res, members, stored.RulesVersion, stored.EvaluatedAt)
	v.AccountID = a.ID
	v.Stage = stored.Stage
	v.StageHistory = a.State.History()
	if v.StageHistory == nil {
		v.StageHistory = []scoring.AccountTransition{}
	}
	v.MQAAt = timePtr(a.State.Milestones().MQAAt)
	return v
}

// Account is one stored account: its stage state, its last evaluation's
// view and the transitions not yet handed off.
type Account struct {
	ID      string
	State   *scoring.AccountState
	View    AccountView
	Version int64
	Outbox  []Handoff
}

// AccountRecord is an account item as the score function reads and
// writes it.
type AccountRecord struct {
	Account
	// Exists is false for an account read before its first write.
	Exists bool
	// IndexDueAt is when the sweep must look at the account again (only
	// while its outbox holds unsent transitions); zero when not indexed.
	IndexDueAt time.Time
	// Members are the account's member pages, read with the account.
	Members MemberPages
}

// BuildAccountView is the account as the API shows it after res, with the
// emails of members (by lead id).
func BuildAccountView(res scoring.AccountResult, members []Member, rulesVersion int, now time.Time) AccountView {
	v := AccountView{
		AccountID:       res.AccountID,
		Domain:          res.Domain,
		Attributes:      res.Attributes,
		Score:           res.Score,
		EngagedContacts: res.EngagedContacts,
		Stage:           res.Stage,
		StageHistory:    res.State.History(),
		RulesVersion:    rulesVersion,
		EvaluatedAt:     now.UTC(),
		MQAAt:           timePtr(res.State.Milestones().MQAAt),
		LeadCount:       len(res.Breakdown.Leads),
	}
	if v.Attributes == nil {
		v.Attributes = map[string]any{}
	}
	if v.StageHistory == nil {
		v.StageHistory = []scoring.AccountTransition{}
	}
	emails := map[string]string{}
	for _, m := range members {
		emails[m.LeadID] = m.Email
	}
	lines := slices.Clone(res.Breakdown.Leads)
	// Most counted first, then most engaged; lead id breaks ties so the list
	// does not depend on the members' order.
	slices.SortFunc(lines, func(a, b scoring.AccountContribution) int {
		return cmp.Or(cmp.Compare(b.Counted, a.Counted), cmp.Compare(b.Engagement, a.Engagement), cmp.Compare(a.LeadID, b.LeadID))
	})
	shown := lines[:min(len(lines), MaxAccountLeads)]
	v.Breakdown = AccountBreakdownView{Leads: shown, Breadth: res.Breakdown.Breadth, Fit: res.Breakdown.Fit}
	if v.Breakdown.Leads == nil {
		v.Breakdown.Leads = []scoring.AccountContribution{}
	}
	for _, l := range lines[len(shown):] {
		v.Breakdown.Others.Leads++
		v.Breakdown.Others.Counted += l.Counted
	}
	v.Breakdown.Others.Counted = round2(v.Breakdown.Others.Counted)
	v.Leads = make([]AccountLead, len(shown))
	for i, l := range shown {
		v.Leads[i] = AccountLead{LeadID: l.LeadID, Email: emails[l.LeadID], Stage: l.Stage, Engagement: l.Engagement}
	}
	return v
}

// round2 removes the float noise of summing cents.
func round2(x float64) float64 { return math.Round(x*100) / 100 }

// AccountTransitionID is deterministic like TransitionID, and distinct
// from every lead's: the same account change decided twice carries the
// same id.
func AccountTransitionID(accountID string, t scoring.AccountTransition) string {
	return "tr_" + digest("account:"+accountID+"|"+string(t.From)+"|"+string(t.To)+"|"+t.At.UTC().Format(time.RFC3339Nano))
}

// ForWebhook is the view a webhook carries: like a lead's, its fit lines
// are the rules that matched, at most WebhookBreakdownRows, descriptions
// cut, so any accepted rules document fits the handoff queue. The leads
// are already bounded (MaxAccountLeads).
func (v AccountView) ForWebhook() AccountView {
	matched := make([]scoring.Contribution, 0, len(v.Breakdown.Fit))
	for _, c := range v.Breakdown.Fit {
		if c.Points != 0 || c.Events != 0 {
			matched = append(matched, c)
		}
	}
	v.Breakdown.Fit, v.Breakdown.FitOmitted = webhookRows(matched)
	return v
}

// NewAccountHandoff is the webhook body of transition t of an account.
func NewAccountHandoff(accountID string, t scoring.AccountTransition, view AccountView) Handoff {
	v := view.ForWebhook()
	return Handoff{
		TransitionID: AccountTransitionID(accountID, t),
		Type:         "account." + string(t.To),
		OccurredAt:   t.At.UTC(),
		RulesVersion: t.RulesVersion,
		Account:      &v,
	}
}

// dueAccountPrefix marks an account among the ids the due index returns:
// lead and visitor ids start with ld_ or vi_, never with it.
const dueAccountPrefix = "account:"

// DueAccountID is how DueFinder.DueLeads names a due account.
func DueAccountID(accountID string) string { return dueAccountPrefix + accountID }

// DueAccount returns the account a due id names, and whether it names one.
func DueAccount(dueID string) (string, bool) {
	if len(dueID) > len(dueAccountPrefix) && dueID[:len(dueAccountPrefix)] == dueAccountPrefix {
		return dueID[len(dueAccountPrefix):], true
	}
	return "", false
}
