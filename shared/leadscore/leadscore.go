// Package leadscore holds the domain types and the small interfaces the
// functions are written against. It imports nothing of AWS: the dynamodb and
// sqs packages implement these interfaces, and functions/*/main.go wires them.
package leadscore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/leadscore/leadscore/shared/scoring"
)

// ErrNotFound is returned by readers when the asked-for item does not exist.
var ErrNotFound = errors.New("not found")

// NormalizeEmail is the one normalization of SCORING.md: trim, lowercase.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// LeadIDPrefix starts every lead id; visitor ids start with "vi_".
const LeadIDPrefix = "ld_"

// LeadID derives a lead's id from its normalized email, so every function
// finds a lead without a lookup. It is a hash, so logging it reveals no email.
func LeadID(normalizedEmail string) string {
	return LeadIDPrefix + digest("email:"+normalizedEmail)
}

// VisitorID derives the id of an anonymous visitor from its cookie id. A
// visitor's events are kept under this id until identity stitching merges
// them into a lead.
func VisitorID(anonymousID string) string {
	return "vi_" + digest("anon:"+anonymousID)
}

// UserVisitorID derives the id under which the events of a sender's user id
// (a Segment userId) wait until an event names that user id with an email.
// It is a visitor like a cookie's, in its own namespace, so the same string
// used as a cookie and as a user id are two visitors.
func UserVisitorID(userID string) string {
	return "vi_" + digest("user:"+userID)
}

// SubjectID is the id an event is filed under by ingestion: the lead when the
// event names an email, else the user id's visitor (a user id outlives a
// cookie), else the cookie's.
func SubjectID(e *scoring.Event) string {
	switch {
	case e.Email != "":
		return LeadID(e.Email)
	case e.UserID != "":
		return UserVisitorID(e.UserID)
	default:
		return VisitorID(e.AnonymousID)
	}
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:12])
}

// TransitionID is deterministic, so a transition decided twice (a retried
// write, a re-evaluation) carries the same id and receivers can dedupe.
func TransitionID(leadID string, t scoring.Transition) string {
	return "tr_" + digest(leadID+"|"+string(t.From)+"|"+string(t.To)+"|"+t.At.UTC().Format(time.RFC3339Nano))
}

// Lead is one stored lead or visitor.
type Lead struct {
	ID    string
	Email string // empty for a visitor
	// MergedInto is set on a visitor stitched into a lead: later events for
	// that visitor belong to the lead.
	MergedInto string
	State      *scoring.State
	// Version guards every write: concurrent writers are serialized by a
	// conditional write on it, with retry.
	Version int64
	// View is the snapshot computed at the last evaluation (what the API shows).
	View LeadView
	// DueAt is when the sweep must evaluate the lead again; zero when nothing is due.
	DueAt time.Time
	// Outbox holds transitions written with the lead and not yet confirmed
	// sent to the handoff queue (ARCHITECTURE.md invariant 5).
	Outbox []Handoff
}

// LeadView is the lead as the API returns it (CONTRACT.md GET /v1/leads) and
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

// Handoff is one transition to deliver: the body of the handoff queue message
// and of the webhook POST (CONTRACT.md "Handoff webhooks").
type Handoff struct {
	TransitionID string    `json:"transition_id"`
	Type         string    `json:"type"` // "lead." + the stage entered, e.g. "lead.mql"
	OccurredAt   time.Time `json:"occurred_at"`
	RulesVersion int       `json:"rules_version"`
	Lead         LeadView  `json:"lead"`
}

// Message kinds on the score queue.
const (
	KindEvent    = "event"    // score one accepted event
	KindEvaluate = "evaluate" // re-evaluate a lead at Now (the sweep's clock)
	KindRescore  = "rescore"  // rebuild a lead from its event history with RulesVersion
)

// ScoreMessage is the body of one score-queue message.
type ScoreMessage struct {
	Kind         string         `json:"kind"`
	LeadID       string         `json:"lead_id"`
	Event        *scoring.Event `json:"event,omitempty"`
	Now          time.Time      `json:"now,omitzero"`
	RulesVersion int            `json:"rules_version,omitempty"`
	// Urgent marks a hand-raise (a demo, contact or quote request): it is
	// sent on the urgent score queue, which has no batching window, so
	// speed to lead does not wait behind page views. Not part of the body.
	Urgent bool `json:"-"`
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

// LeadReader reads leads for the API.
type LeadReader interface {
	// Lead returns the lead with id, or ErrNotFound.
	Lead(ctx context.Context, id string) (*Lead, error)
	// LeadsByStage lists leads in stage, highest engagement first, a page at a time.
	LeadsByStage(ctx context.Context, stage scoring.Stage, limit int, cursor string) (leads []*Lead, next string, err error)
}

// LeadEraser erases a lead for a privacy request: the lead, its events, its
// visitor links and its outbox.
type LeadEraser interface {
	EraseLead(ctx context.Context, id string) error
}

// RulesStore keeps the versioned rules documents (SCORING.md section 5).
type RulesStore interface {
	// CurrentRules returns the newest published rules, or scoring.DefaultRules
	// when none has been published.
	CurrentRules(ctx context.Context) (*scoring.Rules, error)
	// Rules returns one version, or ErrNotFound.
	Rules(ctx context.Context, version int) (*scoring.Rules, error)
	// PublishRules stores r as the next version and returns that version.
	PublishRules(ctx context.Context, r *scoring.Rules) (int, error)
}
