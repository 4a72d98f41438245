package sweep

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/leadscore/leadscore/shared/dynamodb"
)

// BenchmarkSweepScale measures docs/architecture.md invariant 4 on 100,000 leads
// of which 1% are due: the read capacity of one sweep against reading just
// the due leads, and against a full scan of the table. Loading the table into
// DynamoDB Local takes a minute or two, so it is a benchmark (make bench), not
// a test; the README records its figures.
//
//	go test -run '^$' -bench SweepScale -benchtime 1x ./shared/sweep/
func BenchmarkSweepScale(b *testing.B) {
	const leads, dueEvery = 100_000, 100
	f := fresh(b)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var due []string
	items := make([]map[string]types.AttributeValue, 0, leads)
	// A lead item as the score function writes it is about 1.5 KB (state,
	// view, ring); the padding keeps the scan's cost honest.
	padding := make([]byte, 1400)
	for i := range leads {
		id := "ld_scale_" + strconv.Itoa(i)
		item := map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "LEAD#" + id}, "sk": &types.AttributeValueMemberS{Value: "#LEAD"},
			"version": &types.AttributeValueMemberN{Value: "1"}, "view": &types.AttributeValueMemberB{Value: padding},
		}
		if i%dueEvery == 0 {
			due = append(due, id)
			item["due_shard"] = &types.AttributeValueMemberS{Value: dynamodb.DueShardKey(dynamodb.DueShard(id))}
			item["due_at"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(-time.Hour).Unix(), 10)}
		} else if i%3 == 0 {
			// Due later: in the index, not yet due.
			item["due_shard"] = &types.AttributeValueMemberS{Value: dynamodb.DueShardKey(dynamodb.DueShard(id))}
			item["due_at"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(24*time.Hour).Unix(), 10)}
		}
		items = append(items, item)
	}
	load(b, f.ddb, items)

	b.ResetTimer()
	var sum Summary
	for range b.N {
		var err error
		sum, err = f.h.Handle(context.Background(), scheduled(now))
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if sum.Enqueued != len(due) {
		b.Fatalf("sweep enqueued %d leads, want the %d due", sum.Enqueued, len(due))
	}
	dueRead := readLeads(b, f.ddb, due)
	scan := scanTable(b, f.ddb)
	b.ReportMetric(sum.ReadCapacity, "sweep-RCU")
	b.ReportMetric(dueRead, "due-leads-RCU")
	b.ReportMetric(scan, "scan-RCU")
	b.Logf("%d leads, %d due: sweep %.1f RCU, reading the due leads alone %.1f RCU (ratio %.2f), full scan %.1f RCU (%.0fx the sweep)",
		leads, len(due), sum.ReadCapacity, dueRead, sum.ReadCapacity/dueRead, scan, scan/sum.ReadCapacity)
}

func load(b *testing.B, c *awsddb.Client, items []map[string]types.AttributeValue) {
	b.Helper()
	var wg sync.WaitGroup
	work := make(chan []map[string]types.AttributeValue)
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for chunk := range work {
				reqs := make([]types.WriteRequest, len(chunk))
				for i, it := range chunk {
					reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: it}}
				}
				pending := map[string][]types.WriteRequest{stack.TableName: reqs}
				for len(pending[stack.TableName]) > 0 {
					out, err := c.BatchWriteItem(context.Background(), &awsddb.BatchWriteItemInput{RequestItems: pending})
					if err != nil {
						errs <- err
						return
					}
					pending = out.UnprocessedItems
				}
			}
		}()
	}
	for i := 0; i < len(items); i += 25 {
		if i%10000 == 0 {
			fmt.Printf("loading leads: %d/%d\n", i, len(items))
		}
		work <- items[i:min(i+25, len(items))]
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
}

// readLeads is the least a sweep could read: each due lead once, eventually
// consistent, in BatchGetItem calls of 100.
func readLeads(b *testing.B, c *awsddb.Client, ids []string) float64 {
	b.Helper()
	units := 0.0
	for i := 0; i < len(ids); i += 100 {
		var keys []map[string]types.AttributeValue
		for _, id := range ids[i:min(i+100, len(ids))] {
			keys = append(keys, map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: "LEAD#" + id}, "sk": &types.AttributeValueMemberS{Value: "#LEAD"}})
		}
		pending := map[string]types.KeysAndAttributes{stack.TableName: {Keys: keys}}
		for len(pending) > 0 {
			out, err := c.BatchGetItem(context.Background(), &awsddb.BatchGetItemInput{RequestItems: pending,
				ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
			if err != nil {
				b.Fatal(err)
			}
			for _, cc := range out.ConsumedCapacity {
				units += aws.ToFloat64(cc.CapacityUnits)
			}
			pending = out.UnprocessedKeys
		}
	}
	return units
}

// scanTable is what a sweep without the index would read.
func scanTable(b *testing.B, c *awsddb.Client) float64 {
	b.Helper()
	units := 0.0
	var start map[string]types.AttributeValue
	for {
		out, err := c.Scan(context.Background(), &awsddb.ScanInput{TableName: aws.String(stack.TableName),
			Select: types.SelectCount, ExclusiveStartKey: start, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
		if err != nil {
			b.Fatal(err)
		}
		if out.ConsumedCapacity != nil {
			units += aws.ToFloat64(out.ConsumedCapacity.CapacityUnits)
		}
		if start = out.LastEvaluatedKey; start == nil {
			return units
		}
	}
}
