package leadscore

import (
	"hash/fnv"
	"slices"
	"time"
)

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

type ringEntry = RingEntry

// RingEntry is one remembered event: the 48-bit hash of its id and the unix
// second its record was received. Stores keep a ring as its Floor and
// entries (Entries, RestoreAppliedRing); the byte layout is theirs.
type RingEntry struct {
	ID uint64
	At uint32
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
		if e.ID == h {
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
	r.entries = append(r.entries, ringEntry{ID: ringHash(eventID), At: uint32(max(receivedAt.Unix(), 0))})
}

// Prune forgets what is older than the horizon, then the oldest seconds'
// worth of ids while the ring is over RingMax, raising Floor so the ring's
// promise holds.
func (r *AppliedRing) Prune(now time.Time) {
	floor := now.Add(-RingHorizon).Truncate(time.Second)
	if floor.After(r.Floor) {
		r.Floor = floor
	}
	slices.SortStableFunc(r.entries, func(a, b ringEntry) int { return int(int64(a.At) - int64(b.At)) })
	if len(r.entries) > RingMax {
		// Evict whole seconds only: a record received in the same second as
		// a kept entry must stay "not applied" when it is not in the ring.
		cut := time.Unix(int64(r.entries[len(r.entries)-RingMax].At), 0)
		if cut.After(r.Floor) {
			r.Floor = cut
		}
	}
	f := r.Floor.Unix()
	i := 0
	for i < len(r.entries) && int64(r.entries[i].At) < f {
		i++
	}
	r.entries = append(r.entries[:0], r.entries[i:]...)
}

// Entries returns the remembered events, oldest first after a Prune.
func (r *AppliedRing) Entries() []RingEntry { return slices.Clone(r.entries) }

// RestoreAppliedRing is the ring a store kept as floor and entries.
func RestoreAppliedRing(floor time.Time, entries []RingEntry) AppliedRing {
	return AppliedRing{Floor: floor, entries: slices.Clone(entries)}
}
