package leadscore

import (
	"time"

	"github.com/leadscore/leadscore/shared/scoring"
)

// Handoff is one transition to deliver: the body of the handoff queue message
// and of the webhook POST (docs/api.md "Handoff webhooks").
type Handoff struct {
	TransitionID string    `json:"transition_id"`
	Type         string    `json:"type"` // "lead." + the stage entered, e.g. "lead.mql"
	OccurredAt   time.Time `json:"occurred_at"`
	RulesVersion int       `json:"rules_version"`
	Lead         LeadView  `json:"lead"`
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
