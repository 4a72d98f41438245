package leadscore

import (
	"context"
	"time"

	"github.com/leadscore/leadscore/shared/scoring"
)

// Message kinds on the score queue.
const (
	KindEvent    = "event"    // score one accepted event
	KindEvaluate = "evaluate" // re-evaluate a lead at Now (the sweep's clock)
	KindRescore  = "rescore"  // rebuild a lead from its event history with RulesVersion
	// KindAccount re-evaluates account AccountID at Now, after its Members
	// (the summaries of leads that changed, computed at Now) are stored.
	// No members: the sweep's look at an account with unsent transitions.
	KindAccount = "account"
)

// ScoreMessage is the body of one score-queue message.
type ScoreMessage struct {
	Kind         string         `json:"kind"`
	LeadID       string         `json:"lead_id"`
	Event        *scoring.Event `json:"event,omitempty"`
	Now          time.Time      `json:"now,omitzero"`
	RulesVersion int            `json:"rules_version,omitempty"`
	AccountID    string         `json:"account_id,omitempty"`
	Members      []Member       `json:"members,omitempty"`
	// PreviewID names the rules preview of a preview or preview_page
	// message (preview.go).
	PreviewID string `json:"preview_id,omitempty"`
	// Urgent marks a hand-raise (a demo, contact or quote request): it is
	// sent on the urgent score queue, which has no batching window, so
	// speed to lead does not wait behind page views. Not part of the body.
	Urgent bool `json:"-"`
	// Delay holds the message back on the queue this long (whole seconds,
	// at most 15 minutes, SQS's DelaySeconds). Not part of the body.
	Delay time.Duration `json:"-"`
}

// ScoreQueue carries work to the score function.
type ScoreQueue interface {
	// EnqueueScore sends msgs, retrying entries the queue refused; it returns
	// the indexes of msgs that still could not be sent.
	EnqueueScore(ctx context.Context, msgs []ScoreMessage) (failed []int, err error)
}

// HandoffQueue carries transitions to the handoff function.
type HandoffQueue interface {
	// EnqueueHandoff sends hs; it returns the indexes of hs not sent.
	EnqueueHandoff(ctx context.Context, hs []Handoff) (failed []int, err error)
}
