package dynamodb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// RecordEvents writes one record per event under subjectID with a
// conditional put (attribute_not_exists), in parallel (ScoreStore). A record
// that exists already comes back with Created false and its first
// received_at (read from the failed put itself, at no extra cost), which
// leadscore.AppliedRing needs to tell a duplicate from an event whose lead
// write never happened.
func (s *Store) RecordEvents(ctx context.Context, subjectID string, evs []scoring.Event, receivedAt time.Time) []leadscore.RecordedEvent {
	out := make([]leadscore.RecordedEvent, len(evs))
	s.parallel(len(evs), func(i int) {
		out[i] = s.recordEvent(ctx, subjectID, evs[i], receivedAt)
	})
	return out
}

func (s *Store) recordEvent(ctx context.Context, subjectID string, ev scoring.Event, receivedAt time.Time) leadscore.RecordedEvent {
	rec := leadscore.RecordedEvent{Event: ev, ReceivedAt: receivedAt.UTC().Truncate(time.Second)}
	body, err := json.Marshal(ev)
	if err != nil {
		rec.Err = fmt.Errorf("encode event %s of %s: %w", ev.EventID, subjectID, err)
		return rec
	}
	item := eventKey(subjectID, ev.EventID)
	item[attrEvent] = sAttr(string(body))
	item[attrReceivedAt] = nAttr(rec.ReceivedAt.Unix())
	if s.EventRetention > 0 {
		item[attrExpiresAt] = nAttr(receivedAt.Add(s.EventRetention).Unix())
	}
	res, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table), Item: item,
		ConditionExpression:                 aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames:            map[string]string{"#pk": attrPK},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		ReturnConsumedCapacity:              types.ReturnConsumedCapacityTotal,
	})
	if err == nil {
		meter(ctx, "RecordEvent", res.ConsumedCapacity)
		rec.Created = true
		return rec
	}
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		rec.Err = fmt.Errorf("record event %s of %s: %w", ev.EventID, subjectID, err)
		return rec
	}
	MeterFrom(ctx).Add("RecordEventDuplicate", 1)
	old := ccf.Item
	if old == nil {
		// Not every DynamoDB implementation returns the old item on a
		// failed condition; read it then.
		got, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table),
			Key: eventKey(subjectID, ev.EventID), ConsistentRead: aws.Bool(true),
			ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
		if err != nil {
			rec.Err = fmt.Errorf("read existing record of event %s of %s: %w", ev.EventID, subjectID, err)
			return rec
		}
		meter(ctx, "ReadEventRecord", got.ConsumedCapacity)
		old = got.Item
	}
	at, err := num(old, attrReceivedAt)
	if err != nil {
		rec.Err = fmt.Errorf("existing record of event %s of %s: %w", ev.EventID, subjectID, err)
		return rec
	}
	rec.ReceivedAt = unixTime(at)
	// The stored copy is the one that was (or will be) applied: a client
	// resending an id with other content does not change history.
	if raw := str(old, attrEvent); raw != "" {
		var stored scoring.Event
		if json.Unmarshal([]byte(raw), &stored) == nil {
			rec.Event = stored
		}
	}
	return rec
}

// EventHistory returns every recorded event of subjectID, strongly
// consistent, so a stitch that marked a visitor merged sees every event
// recorded before the mark (ScoreStore).
func (s *Store) EventHistory(ctx context.Context, subjectID string) ([]scoring.Event, error) {
	var evs []scoring.Event
	var start map[string]types.AttributeValue
	for {
		out, err := s.client.Query(ctx, &dynamodb.QueryInput{
			TableName:                aws.String(s.table),
			KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :ev)"),
			ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#sk": attrSK, "#event": attrEvent},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk": sAttr(leadPrefix + subjectID), ":ev": sAttr(eventPrefix)},
			ProjectionExpression:   aws.String("#event"),
			ConsistentRead:         aws.Bool(true),
			ExclusiveStartKey:      start,
			ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
		})
		if err != nil {
			return nil, fmt.Errorf("read event history of %s: %w", subjectID, err)
		}
		meter(ctx, "EventHistory", out.ConsumedCapacity)
		for _, item := range out.Items {
			var ev scoring.Event
			if err := json.Unmarshal([]byte(str(item, attrEvent)), &ev); err != nil {
				return nil, fmt.Errorf("event history of %s: decode a record: %w", subjectID, err)
			}
			evs = append(evs, ev)
		}
		if len(out.LastEvaluatedKey) == 0 {
			return evs, nil
		}
		start = out.LastEvaluatedKey
	}
}

// VisitorLead returns the lead a visitor was merged into, or "" (ScoreStore).
// Strongly consistent: a visitor event recorded before this read is seen by
// any stitch that marks the visitor after it.
func (s *Store) VisitorLead(ctx context.Context, visitorID string) (string, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: leadKey(visitorID), ConsistentRead: aws.Bool(true),
		ProjectionExpression:     aws.String("#m"),
		ExpressionAttributeNames: map[string]string{"#m": attrMergedInto},
		ReturnConsumedCapacity:   types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return "", fmt.Errorf("read visitor %s: %w", visitorID, err)
	}
	meter(ctx, "ReadVisitor", out.ConsumedCapacity)
	return str(out.Item, attrMergedInto), nil
}

// MergeVisitor marks visitorID as merged into leadID unless it already
// belongs to another lead, and returns the lead it belongs to (ScoreStore).
// The first email seen with a cookie wins it: a shared computer's later
// users do not inherit each other's history.
func (s *Store) MergeVisitor(ctx context.Context, visitorID, leadID string) (string, error) {
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: leadKey(visitorID),
		UpdateExpression:         aws.String("SET #m = :l, #v = if_not_exists(#v, :zero) + :one"),
		ConditionExpression:      aws.String("attribute_not_exists(#m) OR #m = :l"),
		ExpressionAttributeNames: map[string]string{"#m": attrMergedInto, "#v": attrVersion},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":l": sAttr(leadID), ":zero": nAttr(0), ":one": nAttr(1)},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		ReturnConsumedCapacity:              types.ReturnConsumedCapacityTotal,
	})
	if err == nil {
		meter(ctx, "MergeVisitor", out.ConsumedCapacity)
		return leadID, nil
	}
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		if owner := str(ccf.Item, attrMergedInto); owner != "" {
			return owner, nil
		}
		return s.VisitorLead(ctx, visitorID)
	}
	return "", fmt.Errorf("merge visitor %s into lead %s: %w", visitorID, leadID, err)
}

// parallel runs f(0..n-1) on at most s.Concurrency goroutines.
func (s *Store) parallel(n int, f func(i int)) {
	if n == 1 {
		f(0)
		return
	}
	var g errgroup.Group
	g.SetLimit(max(s.Concurrency, 1))
	for i := range n {
		g.Go(func() error { f(i); return nil })
	}
	_ = g.Wait()
}
