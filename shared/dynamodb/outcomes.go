package dynamodb

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/signals"
)

// The signals report reads leads with a sales outcome through a sparse
// index, so its cost follows outcomes, not the table (docs/design.md):
//
//	outcome-index   partition outcome_shard (OUTCOME#00..15), no sort key,
//	                projection INCLUDE state
//
// A lead carries outcome_shard only while its latest sales outcome is won,
// lost or rejected (signals.HasOutcome): WriteLead sets or drops it in the
// lead's own conditional write, and an erasure's tombstone drops it.
//
// The background build of a large report keeps two items:
//
//	REPORT#signals / #JOB      started (ns), done, total, leads_read, finished_at
//	REPORT#signals / #RESULT   body (gzip JSON), generated_at, outcomes, expires_at (TTL)
const (
	OutcomeIndex  = "outcome-index"
	OutcomeShards = 16

	attrOutcomeShard = "outcome_shard"

	reportPK       = "REPORT#signals"
	reportJobSK    = "#JOB"
	reportResultSK = "#RESULT"

	attrStarted    = "started"
	attrTotal      = "total"
	attrLeadsRead  = "leads_read"
	attrBody       = "body"
	attrGenerated  = "generated_at"
	attrOutcomes   = "outcomes"
	attrDoneShards = "done"
)

// OutcomeShardKey is the stored partition key value of outcome shard i.
func OutcomeShardKey(i int) string { return fmt.Sprintf("OUTCOME#%02d", i) }

// outcomeShard spreads leads over the outcome shards with the due index's
// hash: any even spread will do.
func outcomeShard(leadID string) int { return DueShard(leadID) }

// outcomeAttrs sets a lead item's outcome index key when its stage history
// ends in a sales outcome; an item without it is not in the index.
func outcomeAttrs(item map[string]types.AttributeValue, rec *leadscore.LeadRecord) {
	if rec.State != nil && signals.HasOutcome(rec.State.History()) {
		item[attrOutcomeShard] = sAttr(OutcomeShardKey(outcomeShard(rec.ID)))
	}
}

var _ leadscore.ReportStore = (*Store)(nil)

// OutcomeShards is the number of outcome index partitions
// (leadscore.OutcomeLeads).
func (s *Store) OutcomeShards() int { return OutcomeShards }

// OutcomeLeads queries one outcome shard (leadscore.OutcomeLeads). The
// index projects the state, so a lead costs its own size in the index
// (~0.1-0.3 KB), not a 4 KB read unit as a BatchGetItem would.
func (s *Store) OutcomeLeads(ctx context.Context, shard int, cursor string, limit int) ([]*leadscore.Lead, string, error) {
	if shard < 0 || shard >= OutcomeShards {
		return nil, "", fmt.Errorf("outcome shard %d is not in 0..%d", shard, OutcomeShards-1)
	}
	part := OutcomeShardKey(shard)
	start, err := outcomeStart(cursor, part)
	if err != nil {
		return nil, "", err
	}
	out, err := s.client.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(s.table), IndexName: aws.String(OutcomeIndex),
		KeyConditionExpression:    aws.String("#shard = :shard"),
		ExpressionAttributeNames:  map[string]string{"#shard": attrOutcomeShard},
		ExpressionAttributeValues: map[string]types.AttributeValue{":shard": sAttr(part)},
		Limit:                     aws.Int32(int32(max(1, limit))),
		ExclusiveStartKey:         start,
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return nil, "", fmt.Errorf("query outcome shard %d after %q: %w", shard, cursor, err)
	}
	meter(ctx, "OutcomeLeads", out.ConsumedCapacity)
	leads := make([]*leadscore.Lead, 0, len(out.Items))
	for _, it := range out.Items {
		rec, err := decodeLead(it, false)
		if err != nil {
			return nil, "", err
		}
		leads = append(leads, &rec.Lead)
	}
	return leads, encodeCursor(out.LastEvaluatedKey, attrOutcomeShard, ""), nil
}

// outcomeStart is the ExclusiveStartKey of an outcome shard query resuming
// at s; nil for "".
func outcomeStart(s, part string) (map[string]types.AttributeValue, error) {
	if s == "" {
		return nil, nil
	}
	c, err := decodeCursor(s)
	if err != nil {
		return nil, err
	}
	if c.Part != part || !strings.HasPrefix(c.PK, leadPrefix) || c.SK != leadSK {
		return nil, fmt.Errorf("%w: it belongs to another listing", ErrBadCursor)
	}
	return map[string]types.AttributeValue{attrPK: sAttr(c.PK), attrSK: sAttr(c.SK), attrOutcomeShard: sAttr(c.Part)}, nil
}

func reportKey(sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: sAttr(reportPK), attrSK: sAttr(sk)}
}

// SignalsReport reads the job and the stored report with one strongly
// consistent query of their partition (leadscore.ReportStore).
func (s *Store) SignalsReport(ctx context.Context) (*leadscore.ReportJob, *leadscore.StoredReport, error) {
	out, err := s.client.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sAttr(reportPK)},
		ConsistentRead:            aws.Bool(true),
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read the signals report job: %w", err)
	}
	meter(ctx, "SignalsReport", out.ConsumedCapacity)
	var job *leadscore.ReportJob
	var stored *leadscore.StoredReport
	for _, it := range out.Items {
		switch str(it, attrSK) {
		case reportJobSK:
			if job, err = decodeReportJob(it); err != nil {
				return nil, nil, err
			}
		case reportResultSK:
			if stored, err = decodeStoredReport(it); err != nil {
				return nil, nil, err
			}
		}
	}
	return job, stored, nil
}

func decodeReportJob(it map[string]types.AttributeValue) (*leadscore.ReportJob, error) {
	var n [4]int64
	for i, a := range []string{attrStarted, attrDoneShards, attrTotal, attrLeadsRead} {
		v, err := num(it, a)
		if err != nil {
			return nil, fmt.Errorf("signals report job: %w", err)
		}
		n[i] = v
	}
	job := &leadscore.ReportJob{StartedAt: time.Unix(0, n[0]).UTC(), Done: int(n[1]), Total: int(n[2]), LeadsRead: n[3]}
	if f := str(it, attrFinishedAt); f != "" {
		t, err := time.Parse(time.RFC3339Nano, f)
		if err != nil {
			return nil, fmt.Errorf("signals report job: finished_at: %w", err)
		}
		job.FinishedAt = &t
	}
	return job, nil
}

func decodeStoredReport(it map[string]types.AttributeValue) (*leadscore.StoredReport, error) {
	zr, err := gzip.NewReader(bytes.NewReader(bin(it, attrBody)))
	if err != nil {
		return nil, fmt.Errorf("stored signals report: %w", err)
	}
	body, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("stored signals report: %w", err)
	}
	gen, err := time.Parse(time.RFC3339Nano, str(it, attrGenerated))
	if err != nil {
		return nil, fmt.Errorf("stored signals report: generated_at: %w", err)
	}
	n, err := num(it, attrOutcomes)
	if err != nil {
		return nil, fmt.Errorf("stored signals report: %w", err)
	}
	return &leadscore.StoredReport{Body: body, GeneratedAt: gen, Outcomes: int(n)}, nil
}

// StartSignalsReport puts a new job item unless one is running and younger
// than stale (leadscore.ReportStore); a job that died (its message parked
// in the dead-letter queue) is replaced once stale.
func (s *Store) StartSignalsReport(ctx context.Context, now time.Time, total int, stale time.Duration) (*leadscore.ReportJob, bool, error) {
	item := reportKey(reportJobSK)
	item[attrStarted] = nAttr(now.UnixNano())
	item[attrDoneShards] = nAttr(0)
	item[attrTotal] = nAttr(int64(total))
	item[attrLeadsRead] = nAttr(0)
	out, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table), Item: item,
		ConditionExpression:                 aws.String("attribute_not_exists(#pk) OR attribute_exists(#fin) OR #started < :stale"),
		ExpressionAttributeNames:            map[string]string{"#pk": attrPK, "#fin": attrFinishedAt, "#started": attrStarted},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":stale": nAttr(now.Add(-stale).UnixNano())},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		ReturnConsumedCapacity:              types.ReturnConsumedCapacityTotal,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		job, derr := decodeReportJob(ccf.Item)
		return job, false, derr
	}
	if err != nil {
		return nil, false, fmt.Errorf("start a signals report build: %w", err)
	}
	meter(ctx, "StartSignalsReport", out.ConsumedCapacity)
	return &leadscore.ReportJob{StartedAt: time.Unix(0, now.UnixNano()).UTC(), Total: total}, true, nil
}

// AdvanceSignalsReport records progress, conditioned on the job still being
// the one started at startedAt (leadscore.ReportStore).
func (s *Store) AdvanceSignalsReport(ctx context.Context, startedAt time.Time, done int, leadsRead int64) (bool, error) {
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: reportKey(reportJobSK),
		UpdateExpression:         aws.String("SET #done = :done, #read = :read"),
		ConditionExpression:      aws.String("#started = :started"),
		ExpressionAttributeNames: map[string]string{"#done": attrDoneShards, "#read": attrLeadsRead, "#started": attrStarted},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":done": nAttr(int64(done)), ":read": nAttr(leadsRead), ":started": nAttr(startedAt.UnixNano())},
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record progress of the signals report build: %w", err)
	}
	meter(ctx, "AdvanceSignalsReport", out.ConsumedCapacity)
	return true, nil
}

// SaveSignalsReport puts the result (gzip JSON, expiring after ttl), then
// marks the job finished if it is still the one started at startedAt
// (leadscore.ReportStore). A crash between the two leaves a job that looks
// running until stale, with the result already readable.
func (s *Store) SaveSignalsReport(ctx context.Context, startedAt time.Time, r leadscore.StoredReport, now time.Time, ttl time.Duration) error {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(r.Body); err != nil {
		return fmt.Errorf("compress the signals report: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("compress the signals report: %w", err)
	}
	item := reportKey(reportResultSK)
	item[attrBody] = &types.AttributeValueMemberB{Value: buf.Bytes()}
	item[attrGenerated] = sAttr(r.GeneratedAt.UTC().Format(time.RFC3339Nano))
	item[attrOutcomes] = nAttr(int64(r.Outcomes))
	item[attrExpiresAt] = nAttr(now.Add(ttl).Unix())
	put, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		return fmt.Errorf("store the signals report (%d bytes compressed): %w", buf.Len(), err)
	}
	meter(ctx, "SaveSignalsReport", put.ConsumedCapacity)
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: reportKey(reportJobSK),
		UpdateExpression:          aws.String("SET #fin = :now"),
		ConditionExpression:       aws.String("#started = :started"),
		ExpressionAttributeNames:  map[string]string{"#fin": attrFinishedAt, "#started": attrStarted},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": sAttr(now.UTC().Format(time.RFC3339Nano)), ":started": nAttr(startedAt.UnixNano())},
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	})
	if isConditionFailed(err) {
		return nil // a newer build started meanwhile: it finishes its own job
	}
	if err != nil {
		return fmt.Errorf("finish the signals report build: %w", err)
	}
	meter(ctx, "FinishSignalsReport", out.ConsumedCapacity)
	return nil
}
