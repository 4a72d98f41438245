package dynamodb

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/leadscore/leadscore/shared/leadscore"
)

// EraseLead erases a lead for a privacy request (LeadEraser): every item
// under the lead's key (its event records, and the lead item with its
// outbox) and under each visitor stitched into it (the visitor's records and
// its merged_into marker). The lead item goes last, so an erasure that fails
// halfway can be repeated: the list of visitors is still there. It returns
// leadscore.ErrNotFound when there was nothing to erase.
func (s *Store) EraseLead(ctx context.Context, id string) error {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: leadKey(id), ConsistentRead: aws.Bool(true),
		ProjectionExpression:     aws.String("#vs"),
		ExpressionAttributeNames: map[string]string{"#vs": attrVisitors},
		ReturnConsumedCapacity:   types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return fmt.Errorf("erase lead %s: read it: %w", id, err)
	}
	meter(ctx, "EraseRead", out.ConsumedCapacity)
	subjects := []string{id}
	if vs, ok := out.Item[attrVisitors].(*types.AttributeValueMemberSS); ok {
		subjects = append(subjects, vs.Value...)
	}
	found := out.Item != nil
	// Visitors first, then the lead's records, then the lead item.
	for i := len(subjects) - 1; i >= 0; i-- {
		keys, err := s.keysUnder(ctx, subjects[i])
		if err != nil {
			return fmt.Errorf("erase lead %s: %w", id, err)
		}
		var leadItem map[string]types.AttributeValue
		var rest []map[string]types.AttributeValue
		for _, k := range keys {
			if i == 0 && str(k, attrSK) == leadSK {
				leadItem = k
				continue
			}
			rest = append(rest, k)
		}
		found = found || len(keys) > 0
		if err := s.deleteKeys(ctx, rest); err != nil {
			return fmt.Errorf("erase lead %s: subject %s: %w", id, subjects[i], err)
		}
		if leadItem != nil {
			if err := s.deleteKeys(ctx, []map[string]types.AttributeValue{leadItem}); err != nil {
				return fmt.Errorf("erase lead %s: %w", id, err)
			}
		}
	}
	if !found {
		return leadscore.ErrNotFound
	}
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
