// Package scoring is the product's definition of a lead score and of the
// lifecycle (docs/scoring.md). It is pure: it reads no clock, no
// environment and no network; `now` is always an argument. Every function that
// changes a lead goes through it.
package scoring

import "time"

// Event is one thing a person did (docs/api.md "Event"), after ingestion has
// validated and normalized it: EventID is always set, Email is trimmed and
// lower-cased, OccurredAt is UTC.
type Event struct {
	EventID     string    `json:"event_id"`
	Type        string    `json:"type"`
	OccurredAt  time.Time `json:"occurred_at"`
	Email       string    `json:"email,omitempty"`
	AnonymousID string    `json:"anonymous_id,omitempty"`
	// UserID is the sending system's own id for the person (a Segment or
	// RudderStack userId). Remembered with the email, it lets later events
	// that carry only the userId reach the same lead (docs/api.md "Sources").
	UserID string `json:"user_id,omitempty"`
	// AccountID names the account (company) the person belongs to, when the
	// sender knows it; it beats the email domain (docs/scoring.md section 7).
	AccountID string `json:"account_id,omitempty"`
	// Account holds attribute values of the person's account (name, domain,
	// industry, company_size, ...): strings or float64, like Lead.
	Account map[string]any `json:"account,omitempty"`
	// Lead holds attribute values from the event's "lead" object: strings,
	// or float64 for numeric attributes such as company_size.
	Lead map[string]any `json:"lead,omitempty"`
	// Properties holds the event's "properties": strings, float64 or bool.
	Properties map[string]any `json:"properties,omitempty"`
}

// Stage is a lifecycle stage (docs/scoring.md section 4).
type Stage string

// The stages of docs/scoring.md section 4.
const (
	StageVisitor      Stage = "visitor"
	StageLead         Stage = "lead"
	StageMQL          Stage = "mql"
	StageSQL          Stage = "sql"
	StageCustomer     Stage = "customer"
	StageNurture      Stage = "nurture"
	StageDisqualified Stage = "disqualified"
	StageExpired      Stage = "expired"
)

// Transition is one stage change, as recorded in a lead's stage history.
type Transition struct {
	From         Stage     `json:"from"`
	To           Stage     `json:"to"`
	At           time.Time `json:"at"`
	Reason       string    `json:"reason"`
	RulesVersion int       `json:"rules_version"`
}

// Score is what sales sees first.
type Score struct {
	Fit        float64 `json:"fit"`
	Engagement float64 `json:"engagement"`
	Grade      string  `json:"grade"`
}
