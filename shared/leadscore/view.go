package leadscore

import (
	"time"

	"github.com/leadscore/leadscore/shared/scoring"
)

// LeadView is the lead as the API returns it (docs/api.md GET /v1/leads) and
// as webhook bodies carry it.
type LeadView struct {
	LeadID         string                 `json:"lead_id"`
	Email          string                 `json:"email,omitempty"`
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
	return BuildView(l.ID, l.Email, l.State, scoring.Result{Score: score, Breakdown: breakdown, Stage: l.State.Stage()},
		l.RulesVersion, l.EvaluatedAt)
}
