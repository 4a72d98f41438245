package dynamodb

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/leadscore/leadscore/shared/leadscore"
)

// TombstoneTTL is how long an erased lead's tombstone lives: longer than
// any message about the lead can stay on a queue (14 days' retention, which
// a redrive from the DLQ does not extend), so no queued event can recreate
// the lead with its personal data.
const TombstoneTTL = 15 * 24 * time.Hour

// attrErasedAt marks the tombstone left where an erased lead was.
const attrErasedAt = "erased_at"

func isTombstone(item map[string]types.AttributeValue) bool {
	_, ok := item[attrErasedAt]
	return ok
}

// EraseLead erases a lead for a privacy request (LeadEraser): every item
// under the lead's key (its event records, and the lead item with its
// outbox) and under each visitor stitched into it (the visitor's records and
// its merged_into marker).
//
// The lead item is replaced first by a tombstone: erased_at, and expires_at
// for DynamoDB's TTL, nothing personal. From then on a score function
// holding an older copy of the lead fails its conditional write, and one
// reading the lead gets leadscore.ErrErased and drops the events (calling
// EraseLead again to remove any record it wrote meanwhile). Until the end
// the tombstone keeps the visitor ids (hashes of cookie ids, not personal
// data), so an erasure that fails halfway can be repeated. It returns
// leadscore.ErrNotFound when there was nothing to erase; the tombstone is
// written anyway, so events of a lead erased before its first write are
// dropped too.
func (s *Store) EraseLead(ctx context.Context, id string) error {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: leadKey(id), ConsistentRead: aws.Bool(true),
		ProjectionExpression:     aws.String("#vs, #erased"),
		ExpressionAttributeNames: map[string]string{"#vs": attrVisitors, "#erased": attrErasedAt},
		ReturnConsumedCapacity:   types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return fmt.Errorf("erase lead %s: read it: %w", id, err)
	}
	meter(ctx, "EraseRead", out.ConsumedCapacity)
	var visitors []string
	if vs, ok := out.Item[attrVisitors].(*types.AttributeValueMemberSS); ok {
		visitors = vs.Value
	}
	found := out.Item != nil && !isTombstone(out.Item)
	now := time.Now()
	if err := s.putTombstone(ctx, id, visitors, now); err != nil {
		return err
	}
	subjects := append([]string{id}, visitors...)
	for _, subject := range subjects {
		keys, err := s.keysUnder(ctx, subject)
		if err != nil {
			return fmt.Errorf("erase lead %s: %w", id, err)
		}
		var rest []map[string]types.AttributeValue
		for _, k := range keys {
			if subject == id && str(k, attrSK) == leadSK {
				continue // the tombstone
			}
			rest = append(rest, k)
		}
		found = found || len(rest) > 0
		if err := s.deleteKeys(ctx, rest); err != nil {
			return fmt.Errorf("erase lead %s: subject %s: %w", id, subject, err)
		}
	}
	if len(visitors) > 0 {
		if err := s.putTombstone(ctx, id, nil, now); err != nil {
			return err
		}
	}
	if !found {
		return leadscore.ErrNotFound
	}
	return nil
}

func (s *Store) putTombstone(ctx context.Context, id string, visitors []string, now time.Time) error {
	item := leadKey(id)
	item[attrErasedAt] = nAttr(now.Unix())
	item[attrExpiresAt] = nAttr(now.Add(TombstoneTTL).Unix())
	if len(visitors) > 0 {
		item[attrVisitors] = &types.AttributeValueMemberSS{Value: visitors}
	}
	out, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		return fmt.Errorf("erase lead %s: write its tombstone: %w", id, err)
	}
	meter(ctx, "EraseTombstone", out.ConsumedCapacity)
	return nil
}

// keysUnder returns the keys of every item whose pk is the subject's.
func (s *Store) keysUnder(ctx context.Context, subjectID string) ([]map[string]types.AttributeValue, error) {
	var keys []map[string]types.AttributeValue
	var start map[string]types.AttributeValue
	for {
		out, err := s.client.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(s.table),
			KeyConditionExpression:    aws.String("#pk = :pk"),
			ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#sk": attrSK},
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sAttr(leadPrefix + subjectID)},
			ProjectionExpression:      aws.String("#pk, #sk"),
			ConsistentRead:            aws.Bool(true),
			ExclusiveStartKey:         start,
			ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
		})
		if err != nil {
			return nil, fmt.Errorf("list items of %s: %w", subjectID, err)
		}
		meter(ctx, "EraseQuery", out.ConsumedCapacity)
		keys = append(keys, out.Items...)
		if len(out.LastEvaluatedKey) == 0 {
			return keys, nil
		}
		start = out.LastEvaluatedKey
	}
}

// deleteKeys deletes items with BatchWriteItem, 25 a call, retrying what
// DynamoDB leaves unprocessed.
func (s *Store) deleteKeys(ctx context.Context, keys []map[string]types.AttributeValue) error {
	var chunks [][]map[string]types.AttributeValue
	for len(keys) > 0 {
		n := min(len(keys), 25)
		chunks = append(chunks, keys[:n])
		keys = keys[n:]
	}
	var mu sync.Mutex
	var firstErr error
	s.parallel(len(chunks), func(i int) {
		reqs := make([]types.WriteRequest, len(chunks[i]))
		for j, k := range chunks[i] {
			reqs[j] = types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k}}
		}
		for attempt := 0; len(reqs) > 0; attempt++ {
			if attempt > 0 {
				if err := sleep(ctx, backoff(attempt)); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
			}
			if attempt > 8 {
				mu.Lock()
				firstErr = fmt.Errorf("%d deletes still unprocessed after %d attempts", len(reqs), attempt)
				mu.Unlock()
				return
			}
			out, err := s.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
				RequestItems:           map[string][]types.WriteRequest{s.table: reqs},
				ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
			})
			if err != nil {
				mu.Lock()
				firstErr = fmt.Errorf("delete %d items: %w", len(reqs), err)
				mu.Unlock()
				return
			}
			meterAll(ctx, "EraseDelete", out.ConsumedCapacity)
			reqs = out.UnprocessedItems[s.table]
		}
	})
	return firstErr
}
