package leadscore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/leadscore/leadscore/shared/scoring"
)

// ErrConflict is returned by a conditional lead write that lost to a
// concurrent writer: re-read the lead and try again.
var ErrConflict = errors.New("lead was changed by a concurrent writer")

// ErrErased is returned by ScoreStore.ReadLead for a lead erased by a
// privacy request: its queued events must be dropped, not score a new lead.
var ErrErased = errors.New("lead was erased")

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
	// IndexDueAt is what the due index holds (DueAt is scoring's own due
	// time); zero when the lead is not in the index.
	IndexDueAt time.Time
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

// Retention bounds of AppliedRing. The horizon must exceed the longest time
// a message whose record was written can take to be delivered again (SQS
// retries for 5 receives x 180 s visibility, plus Lambda retries), with a
// wide margin for a redrive from the DLQ by an operator.
const (
	RingHorizon = 6 * time.Hour
	RingMax     = 256
)

// AppliedRing is a bounded memory, kept inside the lead item, of the event
// ids applied recently. It closes the crash window between writing an event
// record and writing the lead: an existing record whose id is not in the ring
// and that was received at or after Floor was recorded but never applied.
// Records older than Floor were applied long ago (they fell out of the ring).
// Ids are kept as 48-bit hashes: the ring is only asked about events whose
// record already exists, so a collision would need a crash as well.
type AppliedRing struct {
	// Floor: every applied event received at or after Floor is in the ring.
	Floor   time.Time
	entries []ringEntry
}

type ringEntry struct {
	id uint64
	at uint32 // unix seconds of the record's received_at
}

func ringHash(eventID string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(eventID))
	return h.Sum64() & (1<<48 - 1)
}

// Len is the number of remembered ids.
func (r *AppliedRing) Len() int { return len(r.entries) }

// Contains reports whether eventID was applied recently.
func (r *AppliedRing) Contains(eventID string) bool {
	h := ringHash(eventID)
	for _, e := range r.entries {
		if e.id == h {
			return true
		}
	}
	return false
}

// Applied decides whether a recorded event is already part of the lead.
func (r *AppliedRing) Applied(ev RecordedEvent) bool {
	if r.Contains(ev.Event.EventID) {
		return true
	}
	return !ev.Created && ev.ReceivedAt.Unix() < r.Floor.Unix()
}

// Add remembers an applied event.
func (r *AppliedRing) Add(eventID string, receivedAt time.Time) {
	r.entries = append(r.entries, ringEntry{id: ringHash(eventID), at: uint32(max(receivedAt.Unix(), 0))})
}

// Prune forgets what is older than the horizon, then the oldest seconds'
// worth of ids while the ring is over RingMax, raising Floor so the ring's
// promise holds.
func (r *AppliedRing) Prune(now time.Time) {
	floor := now.Add(-RingHorizon).Truncate(time.Second)
	if floor.After(r.Floor) {
		r.Floor = floor
	}
	slices.SortStableFunc(r.entries, func(a, b ringEntry) int { return int(int64(a.at) - int64(b.at)) })
	if len(r.entries) > RingMax {
		// Evict whole seconds only: a record received in the same second as
		// a kept entry must stay "not applied" when it is not in the ring.
		cut := time.Unix(int64(r.entries[len(r.entries)-RingMax].at), 0)
		if cut.After(r.Floor) {
			r.Floor = cut
		}
	}
	f := r.Floor.Unix()
	i := 0
	for i < len(r.entries) && int64(r.entries[i].at) < f {
		i++
	}
	r.entries = append(r.entries[:0], r.entries[i:]...)
}

// MarshalBinary encodes the ring compactly, because DynamoDB bills each
// started KiB of the lead item on every write: the floor, then per
// received second the ids applied from it, 6 bytes each (48 bits keep a
// collision below 1e-12 per question for a full ring).
func (r *AppliedRing) MarshalBinary() ([]byte, error) {
	b := binary.AppendUvarint(nil, uint64(max(r.Floor.Unix(), 0)))
	for i := 0; i < len(r.entries); {
		j := i
		for j < len(r.entries) && r.entries[j].at == r.entries[i].at {
			j++
		}
		b = binary.AppendUvarint(b, uint64(r.entries[i].at))
		b = binary.AppendUvarint(b, uint64(j-i))
		for _, e := range r.entries[i:j] {
			b = append(b, byte(e.id>>40), byte(e.id>>32), byte(e.id>>24), byte(e.id>>16), byte(e.id>>8), byte(e.id))
		}
		i = j
	}
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote.
func (r *AppliedRing) UnmarshalBinary(b []byte) error {
	*r = AppliedRing{}
	if len(b) == 0 {
		return nil
	}
	floor, n := binary.Uvarint(b)
	if n <= 0 || floor > math.MaxUint32 {
		return fmt.Errorf("applied ring: bad floor")
	}
	r.Floor = time.Unix(int64(floor), 0).UTC()
	b = b[n:]
	for len(b) > 0 {
		at, n := binary.Uvarint(b)
		if n <= 0 || at > math.MaxUint32 {
			return fmt.Errorf("applied ring: bad time at byte offset")
		}
		b = b[n:]
		cnt, n := binary.Uvarint(b)
		if n <= 0 || cnt > uint64(len(b)-n)/6 {
			return fmt.Errorf("applied ring: bad id count %d for %d bytes", cnt, len(b))
		}
		b = b[n:]
		for range cnt {
			id := uint64(b[0])<<40 | uint64(b[1])<<32 | uint64(b[2])<<24 | uint64(b[3])<<16 | uint64(b[4])<<8 | uint64(b[5])
			r.entries = append(r.entries, ringEntry{id: id, at: uint32(at)})
			b = b[6:]
		}
	}
	return nil
}

// OutboxResend is how soon the sweep must look at a lead whose outbox is not
// empty: the send that should have emptied it has failed or died.
const OutboxResend = time.Minute

// IndexDue is the due_at to store (zero: leave the due index). scoringDue is
// Result.DueAt. A stored due time that is still ahead and not later than
// what is wanted is kept: evaluating a lead early is harmless (it only
// recomputes), and keeping the value spares a due-index write on most lead
// writes (an index key change costs a delete and a put).
func IndexDue(stored, scoringDue time.Time, outbox int, now time.Time) time.Time {
	want := scoringDue
	if outbox > 0 {
		if resend := now.Add(OutboxResend); want.IsZero() || resend.Before(want) {
			want = resend
		}
	}
	if want.IsZero() {
		return time.Time{}
	}
	if !want.After(now) {
		// Due already: the sweep takes it on its next run, without
		// re-evaluating it every run if a caller keeps passing the past.
		want = now.Add(OutboxResend)
	}
	if !stored.IsZero() && stored.After(now) && !stored.After(want) {
		return stored
	}
	return want
}

// NewHandoff is the webhook body of transition t of a lead.
func NewHandoff(leadID string, t scoring.Transition, view LeadView) Handoff {
	return Handoff{
		TransitionID: TransitionID(leadID, t),
		Type:         "lead." + string(t.To),
		OccurredAt:   t.At.UTC(),
		RulesVersion: t.RulesVersion,
		Lead:         view,
	}
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

// CapacityMeter adds up the DynamoDB capacity units an invocation consumed,
// per operation, so the score function can emit them as metrics and tests can
// count lead writes. Safe for concurrent use.
type CapacityMeter struct {
	// Parent, when set, receives every Add too (an invocation's meter inside
	// a test's).
	Parent *CapacityMeter

	mu  sync.Mutex
	ops map[string]OpUsage
}

// OpUsage is one operation's calls and consumed capacity units.
type OpUsage struct {
	Calls int
	Units float64
}

// Add records one call of op that consumed units.
func (m *CapacityMeter) Add(op string, units float64) {
	if m == nil {
		return
	}
	m.Parent.Add(op, units)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ops == nil {
		m.ops = map[string]OpUsage{}
	}
	u := m.ops[op]
	u.Calls++
	u.Units += units
	m.ops[op] = u
}

// Usage returns a copy of the per-operation totals.
func (m *CapacityMeter) Usage() map[string]OpUsage {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ops == nil {
		return map[string]OpUsage{}
	}
	return maps.Clone(m.ops)
}

// Total is the sum of consumed units over every operation.
func (m *CapacityMeter) Total() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := 0.0
	for _, v := range m.ops {
		t += v.Units
	}
	return t
}

type meterKey struct{}

// WithMeter returns ctx carrying m: stores add what each call consumed to it.
func WithMeter(ctx context.Context, m *CapacityMeter) context.Context {
	return context.WithValue(ctx, meterKey{}, m)
}

// MeterFrom returns the meter of ctx, or nil (whose Add does nothing).
func MeterFrom(ctx context.Context) *CapacityMeter {
	m, _ := ctx.Value(meterKey{}).(*CapacityMeter)
	return m
}
