package leadscore

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"
)

// DueShards is how many partitions the due index is spread over, so that the
// sweep's queries and the score function's writes never meet on one hot
// partition key.
const DueShards = 16

// DueShard is the due-index partition of a lead.
func DueShard(leadID string) int {
	h := fnv.New32a()
	h.Write([]byte(leadID))
	return int(h.Sum32() % DueShards)
}

// DueShardKey is the stored partition key value of shard i.
func DueShardKey(i int) string {
	return fmt.Sprintf("DUE#%02d", i)
}

// DueFinder finds leads whose due time has come, through the sparse due
// index (never a scan: ARCHITECTURE.md invariant 4).
type DueFinder interface {
	// DueLeads returns up to limit ids of leads in shard whose due time is at
	// or before now, and a cursor for the next page ("" when there is none).
	// consumed is the read capacity the query used.
	DueLeads(ctx context.Context, shard int, now time.Time, limit int, cursor string) (ids []string, next string, consumed float64, err error)
}
