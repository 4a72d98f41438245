package dynamodb

import (
	"fmt"
	"hash/fnv"
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

// DueShards is the number of due-index partitions (leadscore.DueFinder).
func (s *Store) DueShards() int { return DueShards }

// DueShard is the due-index partition of a lead (leadscore.DueFinder).
func (s *Store) DueShard(leadID string) int { return DueShard(leadID) }
