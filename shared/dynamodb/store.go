// Package dynamodb is the single table of docs/design.md. It implements the
// leadscore store interfaces: the API's readers (LeadReader, LeadEraser,
// RulesStore), the sweep's DueFinder and the score function's ScoreStore.
// Every call asks for the consumed capacity and adds it to the
// CapacityMeter in the context, so cost per event is measurable
// (README.md in this folder has the cost model).
package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/leadscore/leadscore/shared/leadscore"
)

// API is the part of the DynamoDB client the store uses; *dynamodb.Client
// has it, and so can a fault-injecting wrapper in tests.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	// Scan and TransactWriteItems serve the bulk rescore and the signals
	// report only (scan.go).
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Index names and key prefixes of docs/design.md.
const (
	DueIndex   = "due-index"
	StageIndex = "stage-index"

	leadPrefix  = "LEAD#"
	leadSK      = "#LEAD"
	eventPrefix = "EVENT#"
	rulesPK     = "RULES"
	rulesPrefix = "V#"
)

// Attribute names. Index attributes are fixed by template.yaml.
const (
	attrPK          = "pk"
	attrSK          = "sk"
	attrVersion     = "version"
	attrEmail       = "email"
	attrMergedInto  = "merged_into"
	attrState       = "state"
	attrEvaluatedAt = "evaluated_at"
	attrOutbox      = "outbox"
	attrApplied     = "applied"
	attrVisitors    = "visitors"
	attrDueShard    = "due_shard"
	attrDueAt       = "due_at"
	attrNextDue     = "next_due"
	attrStage       = "list_stage"
	attrEngagement  = "list_engagement"
	attrRulesVer    = "rules_version"
	attrEvent       = "event"
	attrReceivedAt  = "received_at"
	attrExpiresAt   = "expires_at"
	attrDoc         = "doc"
	attrPublishedAt = "published_at"
)

// Store is the table. Build it once per process and share it.
type Store struct {
	client API
	table  string
	// EventRetention, when non-zero, sets expires_at on event records so
	// DynamoDB's TTL removes raw events after it. Zero keeps them forever
	// (rescore and "once ever" dedupe both read them).
	EventRetention time.Duration
	// Concurrency bounds the parallel calls of one operation (event record
	// puts, erasure batches).
	Concurrency int
}

var (
	_ leadscore.LeadReader = (*Store)(nil)
	_ leadscore.LeadEraser = (*Store)(nil)
	_ leadscore.RulesStore = (*Store)(nil)
	_ leadscore.DueFinder  = (*Store)(nil)
	_ leadscore.ScoreStore = (*Store)(nil)

	_ leadscore.RescoreStore = (*Store)(nil)
	_ leadscore.LeadScanner  = (*Store)(nil)
)

// New returns the store of table over client.
func New(client API, table string) *Store {
	return &Store{client: client, table: table, Concurrency: 16}
}

func leadKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: leadPrefix + id},
		attrSK: &types.AttributeValueMemberS{Value: leadSK},
	}
}

func eventKey(subjectID, eventID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: leadPrefix + subjectID},
		attrSK: &types.AttributeValueMemberS{Value: eventPrefix + eventID},
	}
}

// meter adds the capacity a call consumed to the context's meter.
func meter(ctx context.Context, op string, cc *types.ConsumedCapacity) {
	units := 0.0
	if cc != nil {
		units = aws.ToFloat64(cc.CapacityUnits)
	}
	MeterFrom(ctx).Add(op, units)
}

func meterAll(ctx context.Context, op string, ccs []types.ConsumedCapacity) {
	units := 0.0
	for _, cc := range ccs {
		units += aws.ToFloat64(cc.CapacityUnits)
	}
	MeterFrom(ctx).Add(op, units)
}

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

func str(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func num(item map[string]types.AttributeValue, name string) (int64, error) {
	v, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, nil
	}
	var n int64
	if _, err := fmt.Sscan(v.Value, &n); err != nil {
		return 0, fmt.Errorf("attribute %s %q is not an integer: %w", name, v.Value, err)
	}
	return n, nil
}

func bin(item map[string]types.AttributeValue, name string) []byte {
	if v, ok := item[name].(*types.AttributeValueMemberB); ok {
		return v.Value
	}
	return nil
}

func nAttr(v int64) *types.AttributeValueMemberN {
	return &types.AttributeValueMemberN{Value: fmt.Sprint(v)}
}

func sAttr(v string) *types.AttributeValueMemberS {
	return &types.AttributeValueMemberS{Value: v}
}
