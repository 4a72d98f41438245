package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/leadscore/leadscore/shared/leadscore"
)

// Bulk rescore items (docs/design.md "rescore job", README.md here):
//
//	RESCORE#<v> / #JOB         started_at, pages, cursor, leads_enqueued, scan_complete, finished_at, superseded_by
//	RESCORE#<v> / #DONE#<nn>   leads_done, one of DoneShards counters
//	RESCORE#<v> / LEAD#<id>    done marker of one lead, expires_at (TTL)
//
// A rules preview (preview.go) is the same kind of job under PREVIEW#<id>,
// whose markers also hold each lead's outcome and whose items all expire.
const (
	rescorePrefix = "RESCORE#"
	jobSK         = "#JOB"
	doneSKPrefix  = "#DONE#"
	markerPrefix  = "LEAD#"

	attrStartedAt    = "started_at"
	attrFinishedAt   = "finished_at"
	attrPages        = "pages"
	attrCursor       = "cursor"
	attrEnqueued     = "leads_enqueued"
	attrDone         = "leads_done"
	attrScanComplete = "scan_complete"
	attrSuperseded   = "superseded_by"
)

// DoneShards spreads the done counter of a job over this many items, so the
// score function's concurrent transactions rarely touch the same item (a
// transaction meeting another on one item is cancelled with
// TransactionConflict).
const DoneShards = 16

// MarkerTTL is how long a lead's done marker is kept: long past any rescore,
// short enough that markers do not pile up (DynamoDB's TTL deletes them).
const MarkerTTL = 7 * 24 * time.Hour

// scanItemsPerCall bounds the items one Scan call evaluates. Limit counts
// items read, before the filter: a lead with k events costs k+1 of them.
const scanItemsPerCall = 400

// maxScanCalls bounds the Scan calls of one page, so one page message
// stays a small invocation whatever the share of event items.
const maxScanCalls = 8

// job names the items of one job that fans out over every lead, a page of
// the scan at a time, and counts each lead done once: a bulk rescore or a
// rules preview. One implementation serves both.
type job struct {
	pk   string // the job's partition
	what string // for errors: "the rescore of rules version 3"
	// ttl, when non-zero, makes every item of the job expire that long
	// after it is written (previews); a rescore's job and shards stay.
	ttl time.Duration
	// op names the job's calls in the capacity meter.
	op struct{ start, read, advance, mark, finish string }
}

func rescoreJob(version int) job {
	j := job{pk: rescorePrefix + strconv.Itoa(version), what: "the rescore of rules version " + strconv.Itoa(version)}
	j.op.start, j.op.read, j.op.advance, j.op.mark, j.op.finish = "StartRescore", "RescoreJob", "AdvanceRescore", "MarkRescored", "FinishRescore"
	return j
}

func (j job) key(sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: sAttr(j.pk), attrSK: sAttr(sk)}
}

// expiry is the expires_at of an item of j written at now, or nil.
func (j job) expiry(now time.Time) types.AttributeValue {
	if j.ttl == 0 {
		return nil
	}
	return nAttr(now.Add(j.ttl).Unix())
}

func doneShardSK(shard int) string { return fmt.Sprintf("%s%02d", doneSKPrefix, shard) }

// StartRescore writes the job item of version once (RescoreStore).
func (s *Store) StartRescore(ctx context.Context, version int, now time.Time) (bool, error) {
	return s.startJob(ctx, rescoreJob(version), nil, now)
}

// startJob writes j's job item, with extra attributes, unless it exists.
func (s *Store) startJob(ctx context.Context, j job, extra map[string]types.AttributeValue, now time.Time) (bool, error) {
	item := j.key(jobSK)
	maps.Copy(item, extra)
	item[attrStartedAt] = sAttr(now.UTC().Format(time.RFC3339Nano))
	item[attrPages] = nAttr(0)
	item[attrEnqueued] = nAttr(0)
	item[attrScanComplete] = &types.AttributeValueMemberBOOL{Value: false}
	if e := j.expiry(now); e != nil {
		item[attrExpiresAt] = e
	}
	out, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table), Item: item,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK},
		ReturnConsumedCapacity:   types.ReturnConsumedCapacityTotal,
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("start %s: %w", j.what, err)
	}
	meter(ctx, j.op.start, out.ConsumedCapacity)
	return true, nil
}

// RescoreJob reads the job and sums its done shards (RescoreStore).
func (s *Store) RescoreJob(ctx context.Context, version int) (*leadscore.RescoreJob, error) {
	job, _, err := s.readJob(ctx, rescoreJob(version))
	if err != nil {
		return nil, err
	}
	job.Version = version
	return job, nil
}

// readJob reads j's job item and sums its done shards with one strongly
// consistent query of the job's partition; the key condition keeps the
// per-lead markers (sk LEAD#...) out of it. It returns the progress and the
// job item itself, for the attributes a kind of job adds.
func (s *Store) readJob(ctx context.Context, j job) (*leadscore.RescoreJob, map[string]types.AttributeValue, error) {
	out, err := s.client.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :hash)"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sAttr(j.pk), ":hash": sAttr("#")},
		ConsistentRead:            aws.Bool(true),
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", j.what, err)
	}
	meter(ctx, j.op.read, out.ConsumedCapacity)
	var job *leadscore.RescoreJob
	var jobItem map[string]types.AttributeValue
	var done int64
	for _, it := range out.Items {
		sk := str(it, attrSK)
		if strings.HasPrefix(sk, doneSKPrefix) {
			n, err := num(it, attrDone)
			if err != nil {
				return nil, nil, fmt.Errorf("%s, shard %s: %w", j.what, sk, err)
			}
			done += n
			continue
		}
		if sk != jobSK {
			continue
		}
		if job, err = decodeJob(it); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", j.what, err)
		}
		jobItem = it
	}
	if job == nil {
		return nil, nil, fmt.Errorf("%s: %w", j.what, leadscore.ErrNotFound)
	}
	job.LeadsDone = done
	// A page's messages are sent before the page is recorded, so a crash
	// between the two resends them rather than losing them; a worker can
	// therefore finish leads of a page not counted yet. Every lead done was
	// enqueued, so the count shown is at least done (and still never falls).
	job.LeadsEnqueued = max(job.LeadsEnqueued, done)
	job.LeadsLeft = job.LeadsEnqueued - done
	return job, jobItem, nil
}

// decodeJob reads the progress fields of a job item.
func decodeJob(it map[string]types.AttributeValue) (*leadscore.RescoreJob, error) {
	job := &leadscore.RescoreJob{Cursor: str(it, attrCursor)}
	var err error
	if job.StartedAt, err = time.Parse(time.RFC3339Nano, str(it, attrStartedAt)); err != nil {
		return nil, fmt.Errorf("started_at: %w", err)
	}
	if f := str(it, attrFinishedAt); f != "" {
		t, err := time.Parse(time.RFC3339Nano, f)
		if err != nil {
			return nil, fmt.Errorf("finished_at: %w", err)
		}
		job.FinishedAt = &t
	}
	if job.Pages, err = num(it, attrPages); err != nil {
		return nil, err
	}
	if job.LeadsEnqueued, err = num(it, attrEnqueued); err != nil {
		return nil, err
	}
	sup, err := num(it, attrSuperseded)
	if err != nil {
		return nil, err
	}
	job.SupersededBy = int(sup)
	if b, ok := it[attrScanComplete].(*types.AttributeValueMemberBOOL); ok {
		job.ScanComplete = b.Value
	}
	return job, nil
}

// scanLeadItems reads identified lead items after cursor until at least
// want of them, the table's end, or maxScanCalls calls. Visitors (ids vi_)
// and every other item kind are filtered out by DynamoDB.
func (s *Store) scanLeadItems(ctx context.Context, cursor string, want int, projection string, names map[string]string) ([]map[string]types.AttributeValue, string, error) {
	start, err := scanStart(cursor)
	if err != nil {
		return nil, "", err
	}
	allNames := map[string]string{"#pk": attrPK, "#sk": attrSK}
	maps.Copy(allNames, names)
	var items []map[string]types.AttributeValue
	for call := 0; call < maxScanCalls; call++ {
		in := &dynamodb.ScanInput{
			TableName:                aws.String(s.table),
			FilterExpression:         aws.String("#sk = :lead AND begins_with(#pk, :ld)"),
			ExpressionAttributeNames: allNames,
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":lead": sAttr(leadSK), ":ld": sAttr(leadPrefix + leadscore.LeadIDPrefix)},
			ProjectionExpression:   aws.String(projection),
			Limit:                  aws.Int32(scanItemsPerCall),
			ExclusiveStartKey:      start,
			ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
		}
		out, err := s.client.Scan(ctx, in)
		if err != nil {
			return nil, "", fmt.Errorf("scan leads after %q: %w", cursor, err)
		}
		meter(ctx, "ScanLeads", out.ConsumedCapacity)
		items = append(items, out.Items...)
		start = out.LastEvaluatedKey
		if len(start) == 0 || len(items) >= want {
			break
		}
	}
	return items, encodeCursor(start, "", ""), nil
}

// ScanLeadIDs returns identified lead ids after cursor (RescoreStore). The
// projection is the key: the page handler needs ids only (a Scan still
// reads, and is charged for, whole items).
func (s *Store) ScanLeadIDs(ctx context.Context, cursor string, wantLeads int) ([]string, string, error) {
	items, next, err := s.scanLeadItems(ctx, cursor, max(wantLeads, 1), "#pk", nil)
	if err != nil {
		return nil, "", err
	}
	ids := make([]string, 0, len(items))
	for _, it := range items {
		ids = append(ids, strings.TrimPrefix(str(it, attrPK), leadPrefix))
	}
	return ids, next, nil
}

// ScanLeads returns identified leads after cursor with their state
// (LeadScanner), for the signals report.
func (s *Store) ScanLeads(ctx context.Context, cursor string, limit int) ([]*leadscore.Lead, string, error) {
	items, next, err := s.scanLeadItems(ctx, cursor, max(limit, 1),
		"#pk, #email, #version, #state, #rv, #eval",
		map[string]string{"#email": attrEmail, "#version": attrVersion, "#state": attrState, "#rv": attrRulesVer, "#eval": attrEvaluatedAt})
	if err != nil {
		return nil, "", err
	}
	leads := make([]*leadscore.Lead, 0, len(items))
	for _, it := range items {
		rec, err := decodeLead(it, false)
		if err != nil {
			return nil, "", err
		}
		leads = append(leads, &rec.Lead)
	}
	return leads, next, nil
}

// AdvanceRescore records one scan page of the job, conditioned on the job
// still being at that page, so a duplicated page message counts its leads
// once (RescoreStore).
func (s *Store) AdvanceRescore(ctx context.Context, version int, page int64, n int, next string, complete bool, supersededBy int, now time.Time) (bool, error) {
	return s.advanceJob(ctx, rescoreJob(version), page, n, next, complete, supersededBy, now)
}

func (s *Store) advanceJob(ctx context.Context, j job, page int64, n int, next string, complete bool, supersededBy int, now time.Time) (bool, error) {
	names := map[string]string{"#pages": attrPages, "#enq": attrEnqueued, "#cursor": attrCursor}
	values := map[string]types.AttributeValue{":p": nAttr(page), ":one": nAttr(1), ":n": nAttr(int64(n))}
	set := []string{"#pages = #pages + :one"}
	remove := ""
	if next != "" {
		set = append(set, "#cursor = :cursor")
		values[":cursor"] = sAttr(next)
	} else {
		remove = " REMOVE #cursor"
	}
	if complete {
		names["#complete"] = attrScanComplete
		set = append(set, "#complete = :true")
		values[":true"] = &types.AttributeValueMemberBOOL{Value: true}
	}
	if supersededBy > 0 {
		names["#sup"] = attrSuperseded
		set = append(set, "#sup = :sup")
		values[":sup"] = nAttr(int64(supersededBy))
	}
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: j.key(jobSK),
		UpdateExpression:          aws.String("SET " + strings.Join(set, ", ") + " ADD #enq :n" + remove),
		ConditionExpression:       aws.String("#pages = :p"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record page %d of %s: %w", page, j.what, err)
	}
	meter(ctx, j.op.advance, out.ConsumedCapacity)
	if complete {
		if err := s.finishJob(ctx, j, now); err != nil {
			return true, err
		}
	}
	return true, nil
}

// maxTransactItems is DynamoDB's limit of actions in one TransactWriteItems.
const maxTransactItems = 100

// MarkRescored counts leads done for the job exactly once each
// (RescoreStore).
func (s *Store) MarkRescored(ctx context.Context, version int, leadIDs []string, now time.Time) error {
	return s.markDone(ctx, rescoreJob(version), leadIDs, nil, now)
}

// markDone counts leads done for j exactly once each: each lead's marker
// (with payload[id], if any, as its attributes) is put only if absent, in
// the same transaction as the ADD to a done shard, so a redelivered message
// (whose marker exists) adds nothing, and a crash between the two cannot
// happen. A transaction cancelled by existing markers is retried without
// them. The last lead done finishes the job.
func (s *Store) markDone(ctx context.Context, j job, leadIDs []string, payload map[string]map[string]types.AttributeValue, now time.Time) error {
	ids := slices.Clone(leadIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for len(ids) > 0 {
		n := min(len(ids), maxTransactItems-1)
		if err := s.markChunk(ctx, j, ids[:n], payload, now); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return s.finishJob(ctx, j, now)
}

func (s *Store) markChunk(ctx context.Context, j job, ids []string, payload map[string]map[string]types.AttributeValue, now time.Time) error {
	var expires types.AttributeValue = nAttr(now.Add(MarkerTTL).Unix())
	if e := j.expiry(now); e != nil {
		expires = e
	}
	for attempt := 0; len(ids) > 0; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return err
			}
		}
		if attempt > 10 {
			return fmt.Errorf("count %d leads done for %s: still conflicting after %d attempts", len(ids), j.what, attempt)
		}
		h := fnv.New32a()
		h.Write([]byte(ids[0]))
		shard := int(h.Sum32() % DoneShards)
		actions := make([]types.TransactWriteItem, 0, len(ids)+1)
		for _, id := range ids {
			item := j.key(markerPrefix + id)
			maps.Copy(item, payload[id])
			item[attrExpiresAt] = expires
			actions = append(actions, types.TransactWriteItem{Put: &types.Put{
				TableName: aws.String(s.table), Item: item,
				ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
				ExpressionAttributeNames: map[string]string{"#pk": attrPK},
			}})
		}
		actions = append(actions, types.TransactWriteItem{Update: s.shardUpdate(j, shard, len(ids), now)})
		out, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
			TransactItems: actions, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
		if err == nil {
			meterAll(ctx, j.op.mark, out.ConsumedCapacity)
			return nil
		}
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return fmt.Errorf("count %d leads done for %s: %w", len(ids), j.what, err)
		}
		// Drop the leads already counted; anything else (a conflict with a
		// concurrent transaction) is retried as it is.
		var keep []string
		for i, r := range tce.CancellationReasons {
			if i < len(ids) && aws.ToString(r.Code) == "ConditionalCheckFailed" {
				continue
			}
			if i < len(ids) {
				keep = append(keep, ids[i])
			}
		}
		if len(tce.CancellationReasons) == 0 {
			return fmt.Errorf("count %d leads done for %s: cancelled without reasons: %w", len(ids), j.what, err)
		}
		ids = keep
	}
	return nil
}

// shardUpdate adds n to one done shard of j (and, for a job whose items
// expire, sets the shard's expiry).
func (s *Store) shardUpdate(j job, shard, n int, now time.Time) *types.Update {
	u := &types.Update{
		TableName: aws.String(s.table), Key: j.key(doneShardSK(shard)),
		UpdateExpression:          aws.String("ADD #done :n"),
		ExpressionAttributeNames:  map[string]string{"#done": attrDone},
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": nAttr(int64(n))},
	}
	if e := j.expiry(now); e != nil {
		u.UpdateExpression = aws.String("ADD #done :n SET #exp = :exp")
		u.ExpressionAttributeNames["#exp"] = attrExpiresAt
		u.ExpressionAttributeValues[":exp"] = e
	}
	return u
}

// finishJob sets finished_at once the scan is complete and every enqueued
// lead is done. Both the last page and the last lead call it, so whichever
// comes second finishes the job.
func (s *Store) finishJob(ctx context.Context, j job, now time.Time) error {
	job, _, err := s.readJob(ctx, j)
	if errors.Is(err, leadscore.ErrNotFound) {
		// Messages without a job (sent by hand): nothing to finish.
		return nil
	}
	if err != nil {
		return err
	}
	if job.FinishedAt != nil || !job.ScanComplete || job.LeadsDone < job.LeadsEnqueued {
		return nil
	}
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: j.key(jobSK),
		UpdateExpression:          aws.String("SET #fin = :now"),
		ConditionExpression:       aws.String("attribute_not_exists(#fin) AND #complete = :true"),
		ExpressionAttributeNames:  map[string]string{"#fin": attrFinishedAt, "#complete": attrScanComplete},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": sAttr(now.UTC().Format(time.RFC3339Nano)), ":true": &types.AttributeValueMemberBOOL{Value: true}},
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	})
	if isConditionFailed(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("finish %s: %w", j.what, err)
	}
	meter(ctx, j.op.finish, out.ConsumedCapacity)
	return nil
}
