package dynamodb

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// LeadsByStage lists the leads in stage, highest engagement first
// (LeadReader). It reads the stage index, and fetches the items the index
// does not project with one BatchGetItem, so it works whatever the index's
// projection (KEYS_ONLY is the cheap one for writes).
func (s *Store) LeadsByStage(ctx context.Context, stage scoring.Stage, limit int, cursor string) ([]*leadscore.Lead, string, error) {
	start, err := indexStart(cursor, attrStage, attrEngagement, string(stage))
	if err != nil {
		return nil, "", err
	}
	limit = min(max(limit, 1), 100)
	out, err := s.client.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(s.table), IndexName: aws.String(StageIndex),
		KeyConditionExpression:    aws.String("#st = :st"),
		ExpressionAttributeNames:  map[string]string{"#st": attrStage},
		ExpressionAttributeValues: map[string]types.AttributeValue{":st": sAttr(string(stage))},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(limit)),
		ExclusiveStartKey:         start,
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return nil, "", fmt.Errorf("list leads in stage %s: %w", stage, err)
	}
	meter(ctx, "ListStage", out.ConsumedCapacity)
	items := out.Items
	var missing []map[string]types.AttributeValue
	for _, it := range items {
		if _, ok := it[attrVersion]; !ok {
			missing = append(missing, map[string]types.AttributeValue{attrPK: it[attrPK], attrSK: it[attrSK]})
		}
	}
	if len(missing) > 0 {
		got, err := s.batchGet(ctx, missing)
		if err != nil {
			return nil, "", fmt.Errorf("list leads in stage %s: %w", stage, err)
		}
		for i, it := range items {
			if full, ok := got[str(it, attrPK)]; ok {
				items[i] = full
			}
		}
	}
	leads := make([]*leadscore.Lead, 0, len(items))
	for _, it := range items {
		if _, ok := it[attrVersion]; !ok {
			continue // erased between the query and the read
		}
		rec, err := decodeLead(it, false)
		if err != nil {
			return nil, "", err
		}
		leads = append(leads, &rec.Lead)
	}
	return leads, encodeCursor(out.LastEvaluatedKey, attrStage, attrEngagement), nil
}

// batchGet reads up to 100 lead items by key, eventually consistent, and
// returns them by pk.
func (s *Store) batchGet(ctx context.Context, keys []map[string]types.AttributeValue) (map[string]map[string]types.AttributeValue, error) {
	got := map[string]map[string]types.AttributeValue{}
	pending := keys
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return nil, err
			}
		}
		if attempt > 8 {
			return nil, fmt.Errorf("batch get: %d keys still unprocessed after %d attempts", len(pending), attempt)
		}
		out, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
			RequestItems:           map[string]types.KeysAndAttributes{s.table: {Keys: pending}},
			ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
		})
		if err != nil {
			return nil, fmt.Errorf("batch get %d leads: %w", len(pending), err)
		}
		meterAll(ctx, "BatchGetLeads", out.ConsumedCapacity)
		for _, it := range out.Responses[s.table] {
			got[str(it, attrPK)] = it
		}
		pending = out.UnprocessedKeys[s.table].Keys
	}
	return got, nil
}

func backoff(attempt int) time.Duration {
	return time.Duration(min(1<<attempt, 64)) * 10 * time.Millisecond
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// DueLeads returns the ids of leads in shard due at or before now
// (leadscore.DueFinder), from the sparse due index: its cost follows due
// work, not table size.
func (s *Store) DueLeads(ctx context.Context, shard int, now time.Time, limit int, cursor string) ([]string, string, float64, error) {
	part := DueShardKey(shard)
	start, err := indexStart(cursor, attrDueShard, attrDueAt, part)
	if err != nil {
		return nil, "", 0, err
	}
	out, err := s.client.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(s.table), IndexName: aws.String(DueIndex),
		KeyConditionExpression:   aws.String("#sh = :sh AND #at <= :now"),
		ExpressionAttributeNames: map[string]string{"#sh": attrDueShard, "#at": attrDueAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":sh": sAttr(part), ":now": nAttr(now.Unix())},
		Limit:                  aws.Int32(int32(min(max(limit, 1), 1000))),
		ExclusiveStartKey:      start,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return nil, "", 0, fmt.Errorf("query due shard %s up to %s: %w", part, now.Format(time.RFC3339), err)
	}
	consumed := 0.0
	if out.ConsumedCapacity != nil {
		consumed = aws.ToFloat64(out.ConsumedCapacity.CapacityUnits)
	}
	meter(ctx, "DueLeads", out.ConsumedCapacity)
	ids := make([]string, 0, len(out.Items))
	for _, it := range out.Items {
		pk := str(it, attrPK)
		if id, ok := strings.CutPrefix(pk, accountPrefix); ok {
			ids = append(ids, leadscore.DueAccountID(id))
			continue
		}
		ids = append(ids, strings.TrimPrefix(pk, leadPrefix))
	}
	return ids, encodeCursor(out.LastEvaluatedKey, attrDueShard, attrDueAt), consumed, nil
}
