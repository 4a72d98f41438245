package leadscore

import (
	"time"

	"github.com/leadscore/leadscore/shared/scoring"
)

// Handoff is one transition to deliver: the body of the handoff queue message
// and of the webhook POST (docs/api.md "Handoff webhooks").
type Handoff struct {
	TransitionID string    `json:"transition_id"`
	Type         string    `json:"type"` // "lead." or "account." + the stage entered, e.g. "lead.mql"
	OccurredAt   time.Time `json:"occurred_at"`
	RulesVersion int       `json:"rules_version"`
	// Lead is the lead of a lead transition; Account the account of an
	// account transition (the other is left out of the body).
	Lead    LeadView     `json:"lead,omitzero"`
	Account *AccountView `json:"account,omitempty"`
}

// Subject is the id of the lead or account the transition is about.
func (h Handoff) Subject() string {
	if h.Account != nil {
		return h.Account.AccountID
	}
	return h.Lead.LeadID
}

// NewHandoff is the webhook body of transition t of a lead.
func NewHandoff(leadID string, t scoring.Transition, view LeadView) Handoff {
	return Handoff{
		TransitionID: TransitionID(leadID, t),
		Type:         "lead." + string(t.To),
		OccurredAt:   t.At.UTC(),
		RulesVersion: t.RulesVersion,
		Lead:         view.ForWebhook(),
	}
}
