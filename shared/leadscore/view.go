package leadscore

import (
	"cmp"
	"math"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/leadscore/leadscore/shared/scoring"
)

// LeadView is the lead as the API returns it (docs/api.md GET /v1/leads) and
// as webhook bodies carry it.
type LeadView struct {
	LeadID string `json:"lead_id"`
	Email  string `json:"email,omitempty"`
	// AccountID is the account the lead belongs to (docs/scoring.md
	// section 7), absent for none.
	AccountID      string                 `json:"account_id,omitempty"`
	Attributes     map[string]any         `json:"attributes"`
	Score          scoring.Score          `json:"score"`
	Stage          scoring.Stage          `json:"stage"`
	StageHistory   []scoring.Transition   `json:"stage_history"`
	Breakdown      []scoring.Contribution `json:"breakdown"`
	LastActivityAt time.Time              `json:"last_activity_at"`
	RulesVersion   int                    `json:"rules_version"`
	EvaluatedAt    time.Time              `json:"evaluated_at"`
	MQLAt          *time.Time             `json:"mql_at,omitempty"`
	SQLAt          *time.Time             `json:"sql_at,omitempty"`
	CustomerAt     *time.Time             `json:"customer_at,omitempty"`
	// BreakdownOmitted counts the rows a webhook body left out past
	// WebhookBreakdownRows; the API's views never omit any.
	BreakdownOmitted int `json:"breakdown_omitted,omitempty"`
}

// BuildView is the lead as the API shows it after an evaluation at now.
func BuildView(id, email string, st *scoring.State, res scoring.Result, rulesVersion int, now time.Time) LeadView {
	ms := st.Milestones()
	v := LeadView{
		LeadID:         id,
		Email:          email,
		Attributes:     st.Attributes(),
		Score:          res.Score,
		Stage:          st.Stage(),
		StageHistory:   st.History(),
		Breakdown:      res.Breakdown,
		LastActivityAt: st.LastActivityAt(),
		RulesVersion:   rulesVersion,
		EvaluatedAt:    now.UTC(),
		MQLAt:          timePtr(ms.MQLAt),
		SQLAt:          timePtr(ms.SQLAt),
		CustomerAt:     timePtr(ms.CustomerAt),
	}
	if v.Attributes == nil {
		v.Attributes = map[string]any{}
	}
	if v.StageHistory == nil {
		v.StageHistory = []scoring.Transition{}
	}
	return v
}

// Counted is the view without the breakdown rows of rules that gave nothing
// (no points, no counted events). With a large rules document those idle
// rows are most of a view, so the API leaves them out unless asked.
func (v LeadView) Counted() LeadView {
	kept := make([]scoring.Contribution, 0, len(v.Breakdown))
	for _, c := range v.Breakdown {
		if c.Points != 0 || c.RawPoints != 0 || c.Events != 0 {
			kept = append(kept, c)
		}
	}
	v.Breakdown = kept
	return v
}

// WebhookBreakdownRows bounds a webhook's breakdown. A rules document may
// hold 1,000 rules that all count, and a row with its description is up to
// a few hundred bytes: the full list would not fit the handoff queue's
// 256 KiB message limit, and a lead whose transition cannot be queued would
// keep it in its outbox forever.
const WebhookBreakdownRows = 100

// WebhookDescriptionBytes bounds each row's description in a webhook: the
// rules language does not bound a description, only the whole document.
const WebhookDescriptionBytes = 280

// ForWebhook is the view a webhook carries (docs/api.md "Handoff webhooks"):
// the rows that counted, and of those the WebhookBreakdownRows largest by
// absolute points, in the breakdown's own order, with the number left out;
// descriptions cut to WebhookDescriptionBytes.
func (v LeadView) ForWebhook() LeadView {
	v = v.Counted()
	v.Breakdown, v.BreakdownOmitted = webhookRows(v.Breakdown)
	return v
}

// webhookRows bounds breakdown rows for a webhook: descriptions cut to
// WebhookDescriptionBytes, at most WebhookBreakdownRows rows (the heaviest
// by absolute points, in their order). It returns the rows kept and how
// many were left out.
func webhookRows(rows []scoring.Contribution) ([]scoring.Contribution, int) {
	for i, c := range rows {
		rows[i].Description = cutUTF8(c.Description, WebhookDescriptionBytes)
	}
	if len(rows) <= WebhookBreakdownRows {
		return rows, 0
	}
	byWeight := slices.Clone(rows)
	slices.SortStableFunc(byWeight, func(a, b scoring.Contribution) int {
		return cmp.Compare(math.Abs(b.Points), math.Abs(a.Points))
	})
	// Every row above the bar is kept; rows at the bar fill what is left,
	// earliest first.
	bar := math.Abs(byWeight[WebhookBreakdownRows-1].Points)
	atBar := WebhookBreakdownRows
	for _, c := range byWeight[:WebhookBreakdownRows] {
		if math.Abs(c.Points) > bar {
			atBar--
		}
	}
	kept := make([]scoring.Contribution, 0, WebhookBreakdownRows)
	for _, c := range rows {
		switch p := math.Abs(c.Points); {
		case p > bar:
			kept = append(kept, c)
		case p == bar && atBar > 0:
			kept = append(kept, c)
			atBar--
		}
	}
	return kept, len(rows) - len(kept)
}

// cutUTF8 is s cut to at most n bytes, at a rune boundary, with an ellipsis
// when cut.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	cut := n - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// View is the lead as the API shows it, computed from its stored state with
// rules, which must be the version the lead was last evaluated with
// (l.RulesVersion), at the time of that evaluation. A lead never evaluated
// (a visitor item that only links to its lead) has the zero view.
func View(l *Lead, rules *scoring.Rules) LeadView {
	if l.State == nil || l.EvaluatedAt.IsZero() {
		return LeadView{}
	}
	score, breakdown := l.State.Scores(rules, l.EvaluatedAt)
	v := BuildView(l.ID, l.Email, l.State, scoring.Result{Score: score, Breakdown: breakdown, Stage: l.State.Stage()},
		l.RulesVersion, l.EvaluatedAt)
	v.AccountID = l.State.AccountID(rules)
	return v
}
