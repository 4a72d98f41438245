package dynamodb

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/leadscore/leadscore/shared/leadscore"
)

// encodeRing encodes an applied ring compactly, because DynamoDB bills
// each started KiB of the lead item on every write: the floor, then per
// received second the ids applied from it, 6 bytes each (48 bits keep a
// collision below 1e-12 per question for a full ring).
func encodeRing(r *leadscore.AppliedRing) []byte {
	entries := r.Entries()
	b := binary.AppendUvarint(nil, uint64(max(r.Floor.Unix(), 0)))
	for i := 0; i < len(entries); {
		j := i
		for j < len(entries) && entries[j].At == entries[i].At {
			j++
		}
		b = binary.AppendUvarint(b, uint64(entries[i].At))
		b = binary.AppendUvarint(b, uint64(j-i))
		for _, e := range entries[i:j] {
			b = append(b, byte(e.ID>>40), byte(e.ID>>32), byte(e.ID>>24), byte(e.ID>>16), byte(e.ID>>8), byte(e.ID))
		}
		i = j
	}
	return b
}

// decodeRing decodes what encodeRing wrote; no bytes is the empty ring.
func decodeRing(b []byte) (leadscore.AppliedRing, error) {
	if len(b) == 0 {
		return leadscore.AppliedRing{}, nil
	}
	floor, n := binary.Uvarint(b)
	if n <= 0 || floor > math.MaxUint32 {
		return leadscore.AppliedRing{}, fmt.Errorf("applied ring: bad floor")
	}
	b = b[n:]
	var entries []leadscore.RingEntry
	for len(b) > 0 {
		at, n := binary.Uvarint(b)
		if n <= 0 || at > math.MaxUint32 {
			return leadscore.AppliedRing{}, fmt.Errorf("applied ring: bad time at byte offset")
		}
		b = b[n:]
		cnt, n := binary.Uvarint(b)
		if n <= 0 || cnt > uint64(len(b)-n)/6 {
			return leadscore.AppliedRing{}, fmt.Errorf("applied ring: bad id count %d for %d bytes", cnt, len(b))
		}
		b = b[n:]
		for range cnt {
			id := uint64(b[0])<<40 | uint64(b[1])<<32 | uint64(b[2])<<24 | uint64(b[3])<<16 | uint64(b[4])<<8 | uint64(b[5])
			entries = append(entries, leadscore.RingEntry{ID: id, At: uint32(at)})
			b = b[6:]
		}
	}
	return leadscore.RestoreAppliedRing(time.Unix(int64(floor), 0).UTC(), entries), nil
}
