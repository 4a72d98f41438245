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

// TestAppliedRingPrunes: dynamodb.TestAppliedRingRoundTrips checks the
// stored form of such a ring.
func TestAppliedRingPrunes(t *testing.T) {
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
}
