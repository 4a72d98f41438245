// Package leadscore holds the domain types and the small interfaces the
// functions are written against. It imports nothing of AWS: the dynamodb and
// sqs packages implement these interfaces, and functions/*/main.go wires them.
//
// One file per concept: ids.go (lead, visitor and transition ids),
// emailshape.go (what an email address looks like), email.go (its one
// canonical form: NFC and IDNA), errors.go, lead.go (the
// stored lead), view.go (the lead as the API shows it), handoff.go
// (transitions to deliver), queue.go (the queues' messages), store.go (the
// stores the functions use), ring.go (recently applied events), due.go (when
// the sweep must look at a lead), rescore.go (the bulk rescore),
// report.go (the signals report's leads with an outcome and its background
// build), account.go (accounts: their members, view and transitions) and
// rulescache.go (the one rules cache).
package leadscore

import (
	"time"

	"github.com/leadscore/leadscore/shared/scoring"
)

// Lead is one stored lead or visitor: what the table holds, nothing
// computed from it (View computes the API's view).
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
	// RulesVersion and EvaluatedAt are the rules version and the clock of
	// the last evaluation: the view is a pure function of the state and
	// them (View).
	RulesVersion int
	EvaluatedAt  time.Time
	// DueAt is when the sweep must evaluate the lead again; zero when nothing is due.
	DueAt time.Time
	// Outbox holds transitions written with the lead and not yet confirmed
	// sent to the handoff queue (docs/architecture.md invariant 5). Their
	// Lead bodies are filled by the evaluation that sends them.
	Outbox []Handoff
}

// RecordedEvent is one event after its record was written to the table, or
// found there already: the record's conditional put is what dedupes event
// ids, "once ever".
type RecordedEvent struct {
	Event scoring.Event
	// Created is true when this call wrote the record; false when a record
	// with the same event_id already existed (a duplicate, or an event whose
	// lead write never happened: AppliedRing.Applied tells them apart).
	Created bool
	// ReceivedAt is when the record was first written.
	ReceivedAt time.Time
	// Err is set when the record could not be written: the event must not be
	// applied and its message must be retried.
	Err error
}

// LeadRecord is a lead item as the score function reads and writes it: the
// Lead plus what only the write path needs.
type LeadRecord struct {
	Lead
	// Exists is false for a lead read before its first write.
	Exists bool
	// Visitors are the visitor ids stitched into this lead (erasure deletes
	// them with the lead).
	Visitors []string
	// Applied remembers recently applied event ids (see AppliedRing).
	Applied AppliedRing
	// View is the lead as this write's evaluation left it, set by the
	// score function before WriteLead: the store indexes its stage and
	// engagement. Reads leave it empty.
	View LeadView
	// IndexDueAt is what the due index holds (DueAt is scoring's own due
	// time); zero when the lead is not in the index.
	IndexDueAt time.Time
}
