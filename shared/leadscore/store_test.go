package leadscore

import (
	"fmt"
	"testing"
	"time"

	"github.com/leadscore/leadscore/shared/scoring"
)

var now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func recEv(id string, created bool, at time.Time) RecordedEvent {
	return RecordedEvent{Event: scoring.Event{EventID: id}, Created: created, ReceivedAt: at}
}

func TestAppliedRingDecides(t *testing.T) {
	var r AppliedRing
	r.Add("a", now)
	r.Prune(now)
	cases := []struct {
		name string
		ev   RecordedEvent
		want bool
	}{
		{"in the ring", recEv("a", false, now), true},
		{"new record", recEv("b", true, now), false},
		{"recent record not in ring: crash window", recEv("c", false, now.Add(-time.Hour)), false},
		{"record older than the floor: applied long ago", recEv("d", false, now.Add(-RingHorizon-time.Second)), true},
	}
	for _, c := range cases {
		if got := r.Applied(c.ev); got != c.want {
			t.Errorf("%s: Applied = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestAppliedRingPrunesAndRoundTrips(t *testing.T) {
	var r AppliedRing
	for i := range RingMax + 40 {
		r.Add(fmt.Sprintf("e%d", i), now.Add(time.Duration(i)*time.Second))
	}
	r.Add("old", now.Add(-RingHorizon-time.Hour))
	r.Prune(now.Add(time.Hour))
	if r.Len() != RingMax || r.Contains("old") || r.Contains("e0") || !r.Contains(fmt.Sprintf("e%d", RingMax+39)) {
		t.Fatalf("after prune: %d ids, old=%v e0=%v", r.Len(), r.Contains("old"), r.Contains("e0"))
	}
	// The evicted ids are below the floor, so their records count as applied.
	if !r.Applied(recEv("e0", false, now)) {
		t.Fatalf("an evicted id is not below the floor %s", r.Floor)
	}
	b, _ := r.MarshalBinary()
	var back AppliedRing
	if err := back.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if back.Len() != r.Len() || !back.Floor.Equal(r.Floor) || !back.Contains("e100") {
		t.Fatalf("round trip: %d ids floor %s, want %d %s", back.Len(), back.Floor, r.Len(), r.Floor)
	}
	if len(b) > 8+RingMax*6+RingMax*8 {
		t.Fatalf("ring of %d ids encodes to %d bytes", r.Len(), len(b))
	}
	for _, bad := range [][]byte{{0x80}, {1, 5, 200}, {1, 5, 1, 1, 2}} {
		if err := back.UnmarshalBinary(bad); err == nil {
			t.Errorf("UnmarshalBinary(%x) accepted garbage", bad)
		}
	}
}

func TestIndexDue(t *testing.T) {
	h := time.Hour
	cases := []struct {
		name           string
		stored, scored time.Time
		outbox         int
		want           time.Time
	}{
		{"nothing due", time.Time{}, time.Time{}, 0, time.Time{}},
		{"nothing due removes a stored one", now.Add(h), time.Time{}, 0, time.Time{}},
		{"first due", time.Time{}, now.Add(48 * h), 0, now.Add(48 * h)},
		{"earlier stored is kept", now.Add(24 * h), now.Add(48 * h), 0, now.Add(24 * h)},
		{"earlier wanted moves it", now.Add(48 * h), now.Add(24 * h), 0, now.Add(24 * h)},
		{"passed stored is replaced", now.Add(-h), now.Add(24 * h), 0, now.Add(24 * h)},
		{"outbox makes it due soon", time.Time{}, now.Add(24 * h), 1, now.Add(OutboxResend)},
		{"outbox with nothing else due", time.Time{}, time.Time{}, 2, now.Add(OutboxResend)},
		{"past due is pushed to the next sweep", time.Time{}, now.Add(-h), 0, now.Add(OutboxResend)},
	}
	for _, c := range cases {
		if got := IndexDue(c.stored, c.scored, c.outbox, now); !got.Equal(c.want) {
			t.Errorf("%s: IndexDue = %s, want %s", c.name, got, c.want)
		}
	}
}
