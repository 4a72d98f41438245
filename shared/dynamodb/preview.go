package dynamodb

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/preview"
)

// Rules preview items: a job like the bulk rescore's (scan.go), every item
// expiring after leadscore.PreviewTTL:
//
//	PREVIEW#<id> / #JOB         the job's progress, doc (the draft), published, clock
//	PREVIEW#<id> / #DONE#<nn>   leads_done shards
//	PREVIEW#<id> / #SUMMARY     summary (JSON), once the preview is done
//	PREVIEW#<id> / LEAD#<id>    one lead's outcome (JSON, no email): its
//	                            scores and stage before and after, and its
//	                            account summary under the draft
const (
	previewPrefix = "PREVIEW#"
	attrPublished = "published"
	attrClock     = "clock"
	attrSummary   = "summary"
	attrOutcome   = "outcome"
	summarySK     = "#SUMMARY"
	// maxSummaryBytes keeps the summary item under DynamoDB's 400 KB item
	// bound.
	maxSummaryBytes = 350_000
)

func previewJob(id string) job {
	j := job{pk: previewPrefix + id, what: "the rules preview " + id, ttl: leadscore.PreviewTTL}
	j.op.start, j.op.read, j.op.advance, j.op.mark, j.op.finish = "StartPreview", "PreviewJob", "AdvancePreview", "RecordPreview", "FinishPreview"
	return j
}

// StartPreview writes the preview's job item (PreviewStore).
func (s *Store) StartPreview(ctx context.Context, p *leadscore.PreviewJob, now time.Time) error {
	created, err := s.startJob(ctx, previewJob(p.ID), map[string]types.AttributeValue{
		attrDoc:       sAttr(string(p.Draft)),
		attrPublished: nAttr(int64(p.Published)),
		attrClock:     sAttr(p.Clock.UTC().Format(time.RFC3339Nano)),
	}, now)
	if err == nil && !created {
		err = fmt.Errorf("start the rules preview %s: it exists already", p.ID)
	}
	return err
}

// PreviewJob reads a preview (PreviewStore).
func (s *Store) PreviewJob(ctx context.Context, id string) (*leadscore.PreviewJob, error) {
	progress, item, err := s.readJob(ctx, previewJob(id))
	if err != nil {
		return nil, err
	}
	p := &leadscore.PreviewJob{ID: id, Draft: []byte(str(item, attrDoc)), Progress: *progress}
	published, err := num(item, attrPublished)
	if err != nil {
		return nil, fmt.Errorf("rules preview %s: %w", id, err)
	}
	p.Published = int(published)
	if p.Clock, err = time.Parse(time.RFC3339Nano, str(item, attrClock)); err != nil {
		return nil, fmt.Errorf("rules preview %s: clock: %w", id, err)
	}
	if progress.FinishedAt != nil {
		if p.Summary, err = s.previewSummary(ctx, previewJob(id)); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// AdvancePreview records one scan page of a preview (PreviewStore).
func (s *Store) AdvancePreview(ctx context.Context, id string, page int64, n int, next string, complete bool, now time.Time) (bool, error) {
	return s.advanceJob(ctx, previewJob(id), page, n, next, complete, 0, now)
}

// RecordPreview keeps each lead's outcome in its done marker, so a lead
// counts once and its outcome is written once (PreviewStore).
func (s *Store) RecordPreview(ctx context.Context, id string, outcomes []preview.Outcome, gone []string, now time.Time) error {
	ids := make([]string, len(outcomes), len(outcomes)+len(gone))
	payload := make(map[string]map[string]types.AttributeValue, len(outcomes))
	for i, o := range outcomes {
		o.Email = "" // looked up when shown: an erased lead leaves no copy here
		b, err := json.Marshal(o)
		if err != nil {
			return fmt.Errorf("encode the preview outcome of %s: %w", o.LeadID, err)
		}
		ids[i] = o.LeadID
		payload[o.LeadID] = map[string]types.AttributeValue{attrOutcome: sAttr(string(b))}
	}
	return s.markDone(ctx, previewJob(id), append(ids, gone...), payload, now)
}

// PreviewOutcomes reads every outcome of a preview, a Query page at a time
// (PreviewStore).
func (s *Store) PreviewOutcomes(ctx context.Context, id string) ([]preview.Outcome, error) {
	var out []preview.Outcome
	var start map[string]types.AttributeValue
	for {
		page, err := s.client.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(s.table),
			KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :lead)"),
			ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#sk": attrSK, "#o": attrOutcome},
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sAttr(previewPrefix + id), ":lead": sAttr(markerPrefix)},
			ProjectionExpression:      aws.String("#o"),
			ExclusiveStartKey:         start,
			ConsistentRead:            aws.Bool(true),
			ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
		})
		if err != nil {
			return nil, fmt.Errorf("read the outcomes of the rules preview %s: %w", id, err)
		}
		meter(ctx, "PreviewOutcomes", page.ConsumedCapacity)
		for _, it := range page.Items {
			if _, ok := it[attrOutcome]; !ok {
				continue // a lead erased before its dry run
			}
			var o preview.Outcome
			if err := json.Unmarshal([]byte(str(it, attrOutcome)), &o); err != nil {
				return nil, fmt.Errorf("rules preview %s: an outcome does not decode: %w", id, err)
			}
			out = append(out, o)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		start = page.LastEvaluatedKey
	}
}

// SavePreviewSummary keeps the answer of a finished preview in its own
// item, put whole (PreviewStore): the API function's role may put items but
// never update one in place. The summary holds no email.
func (s *Store) SavePreviewSummary(ctx context.Context, id string, summary []byte, now time.Time) error {
	if len(summary) > maxSummaryBytes {
		return fmt.Errorf("the summary of the rules preview %s is %d bytes, over the item bound", id, len(summary))
	}
	j := previewJob(id)
	item := j.key(summarySK)
	item[attrSummary] = sAttr(string(summary))
	item[attrExpiresAt] = j.expiry(now)
	out, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table), Item: item, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return fmt.Errorf("save the summary of the rules preview %s: %w", id, err)
	}
	meter(ctx, "SavePreviewSummary", out.ConsumedCapacity)
	return nil
}

// previewSummary reads a preview's kept summary, nil when there is none.
func (s *Store) previewSummary(ctx context.Context, j job) ([]byte, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: j.key(summarySK), ConsistentRead: aws.Bool(true),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return nil, fmt.Errorf("read the summary of %s: %w", j.what, err)
	}
	meter(ctx, "PreviewSummary", out.ConsumedCapacity)
	if len(out.Item) == 0 {
		return nil, nil
	}
	return []byte(str(out.Item, attrSummary)), nil
}
