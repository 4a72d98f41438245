package dynamodb

import (
	"fmt"
	"testing"
	"time"

	"github.com/leadscore/leadscore/shared/leadscore"
)

// TestAppliedRingRoundTrips encodes a full, pruned ring the way lead items
// store it and decodes it back; garbage is refused.
func TestAppliedRingRoundTrips(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	var r leadscore.AppliedRing
	for i := range leadscore.RingMax + 40 {
		r.Add(fmt.Sprintf("e%d", i), now.Add(time.Duration(i)*time.Second))
	}
	r.Add("old", now.Add(-leadscore.RingHorizon-time.Hour))
	r.Prune(now.Add(time.Hour))
	b := encodeRing(&r)
	back, err := decodeRing(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.Len() != r.Len() || !back.Floor.Equal(r.Floor) || !back.Contains("e100") {
		t.Fatalf("round trip: %d ids floor %s, want %d %s", back.Len(), back.Floor, r.Len(), r.Floor)
	}
	if len(b) > 8+leadscore.RingMax*6+leadscore.RingMax*8 {
		t.Fatalf("ring of %d ids encodes to %d bytes", r.Len(), len(b))
	}
	for _, bad := range [][]byte{{0x80}, {1, 5, 200}, {1, 5, 1, 1, 2}} {
		if _, err := decodeRing(bad); err == nil {
			t.Errorf("decodeRing(%x) accepted garbage", bad)
		}
	}
}
