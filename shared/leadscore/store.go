package leadscore

import (
	"context"
	"time"

	"github.com/leadscore/leadscore/shared/scoring"
)

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

// CurrentRulesReader reads the newest published rules: all ingestion
// needs of the table.
type CurrentRulesReader interface {
	// CurrentRules returns the newest published rules, or scoring.DefaultRules
	// when none has been published.
	CurrentRules(ctx context.Context) (*scoring.Rules, error)
}

// RulesVersionReader reads one published rules version.
type RulesVersionReader interface {
	// Rules returns one version, or ErrNotFound.
	Rules(ctx context.Context, version int) (*scoring.Rules, error)
}

// RulesStore keeps the versioned rules documents (docs/scoring.md section 5).
type RulesStore interface {
	CurrentRulesReader
	RulesVersionReader
	// PublishRules stores r as the next version and returns that version.
	PublishRules(ctx context.Context, r *scoring.Rules) (int, error)
}

// ScoreStore is the table as the score function uses it.
type ScoreStore interface {
	// ReadLead reads a lead with a strongly consistent read. A lead never
	// written comes back with Exists false and a fresh scoring state.
	ReadLead(ctx context.Context, id string) (*LeadRecord, error)
	// PeekLead is ReadLead with an eventually consistent read, at half the
	// cost. It is safe for a first attempt because WriteLead is conditioned
	// on the version read: a stale copy cannot win the write, and the
	// conflict sends the writer to ReadLead.
	PeekLead(ctx context.Context, id string) (*LeadRecord, error)
	// RecordEvents writes one record per event under subjectID with a
	// conditional put, reporting for each whether it was new.
	RecordEvents(ctx context.Context, subjectID string, evs []scoring.Event, receivedAt time.Time) []RecordedEvent
	// WriteLead writes rec in one conditional write on its Version (or on
	// its absence for a new lead): ErrConflict when someone else wrote
	// first. On success rec.Version is the new version.
	WriteLead(ctx context.Context, rec *LeadRecord, now time.Time) error
	// EventHistory returns every recorded event of subjectID.
	EventHistory(ctx context.Context, subjectID string) ([]scoring.Event, error)
	// MarkSent removes delivered transitions from the lead's outbox.
	MarkSent(ctx context.Context, rec *LeadRecord, transitionIDs []string, now time.Time) error
	// VisitorLead returns the lead a visitor was merged into, or "".
	VisitorLead(ctx context.Context, visitorID string) (string, error)
	// MergeVisitor marks a visitor as merged into leadID, unless it already
	// belongs to another lead; it returns the lead the visitor belongs to.
	MergeVisitor(ctx context.Context, visitorID, leadID string) (string, error)
}

// DueFinder finds leads whose due time has come, through the sparse due
// index (never a scan: docs/architecture.md invariant 4).
type DueFinder interface {
	// DueShards is how many partitions the due index is spread over: the
	// sweep queries each of 0 to DueShards()-1.
	DueShards() int
	// DueShard is the partition lead leadID is filed in.
	DueShard(leadID string) int
	// DueLeads returns up to limit ids of leads in shard whose due time is at
	// or before now, and a cursor for the next page ("" when there is none).
	// consumed is the read capacity the query used.
	DueLeads(ctx context.Context, shard int, now time.Time, limit int, cursor string) (ids []string, next string, consumed float64, err error)
}

// AccountReader reads accounts for the API.
type AccountReader interface {
	// Account returns the account with id, or ErrNotFound.
	Account(ctx context.Context, id string) (*Account, error)
	// AccountsByStage lists accounts in stage, highest engagement first, a
	// page at a time (their stored views: without per-lead lists).
	AccountsByStage(ctx context.Context, stage scoring.AccountStage, limit int, cursor string) (accounts []*Account, next string, err error)
	// AccountMembers returns the members of account id, eventually
	// consistent: the per-lead lists of an account's view.
	AccountMembers(ctx context.Context, id string) ([]Member, error)
}

// MemberWriter keeps an account's member summaries: the score function
// writes them; the API writes an erased lead's marker at once, so the
// person's summary is gone when the erasure answers.
type MemberWriter interface {
	// PutMembers merges each member's summary into account id's member
	// pages (MemberPages.Merge): a summary older (At) than the stored one
	// is ignored, so a late message cannot undo a newer one; a summary
	// naming another account leaves a marker of the move; an Erased
	// member's marker is never overwritten.
	PutMembers(ctx context.Context, id string, ms []Member) error
}

// AccountStore is the table as the score function uses it for accounts
// (docs/design.md): the account item with its state, view and outbox, and
// its member pages.
type AccountStore interface {
	// ReadAccount reads an account and its member pages for an update,
	// strongly consistent. An account never written comes back with
	// Exists false.
	ReadAccount(ctx context.Context, id string) (*AccountRecord, error)
	// WriteMembers writes rec's changed member pages, each conditioned on
	// the version read: ErrConflict when someone else wrote one first.
	WriteMembers(ctx context.Context, rec *AccountRecord) error
	// WriteAccount writes rec in one conditional write on its Version (or
	// its absence): ErrConflict when someone else wrote first.
	WriteAccount(ctx context.Context, rec *AccountRecord, now time.Time) error
	// MarkAccountSent removes delivered transitions from the outbox.
	MarkAccountSent(ctx context.Context, rec *AccountRecord, transitionIDs []string, now time.Time) error
}
