package faults

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// DynamoDB is the shared/dynamodb API over a real client, with faults.
// (This package does not import shared/dynamodb, whose tests use it; the
// tests here check that both wrappers satisfy the stores' interfaces.)
type DynamoDB struct {
	Client *dynamodb.Client
	In     *Injector
	// Label names the caller in Calls (the function's logical id).
	Label string
}

func (d *DynamoDB) opts(op string, optFns []func(*dynamodb.Options)) []func(*dynamodb.Options) {
	mw := d.In.apiOption(op, dynamoThrottle)
	return append(optFns, func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, mw) })
}

// GetItem is dynamodb.Client.GetItem with faults.
func (d *DynamoDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	if err := d.In.enter(ctx, d.Label, "dynamodb:GetItem"); err != nil {
		return nil, err
	}
	return d.Client.GetItem(ctx, in, d.opts("GetItem", optFns)...)
}

// PutItem is dynamodb.Client.PutItem with faults.
func (d *DynamoDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if err := d.In.enter(ctx, d.Label, "dynamodb:PutItem"); err != nil {
		return nil, err
	}
	return d.Client.PutItem(ctx, in, d.opts("PutItem", optFns)...)
}

// UpdateItem is dynamodb.Client.UpdateItem with faults.
func (d *DynamoDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if err := d.In.enter(ctx, d.Label, "dynamodb:UpdateItem"); err != nil {
		return nil, err
	}
	return d.Client.UpdateItem(ctx, in, d.opts("UpdateItem", optFns)...)
}

// DeleteItem is dynamodb.Client.DeleteItem with faults.
func (d *DynamoDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	if err := d.In.enter(ctx, d.Label, "dynamodb:DeleteItem"); err != nil {
		return nil, err
	}
	return d.Client.DeleteItem(ctx, in, d.opts("DeleteItem", optFns)...)
}

// Query is dynamodb.Client.Query with faults. Calls counts a query of an
// index as "dynamodb:Query@<index>", since IAM grants indexes apart.
func (d *DynamoDB) Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	op := "dynamodb:Query"
	if in.IndexName != nil {
		op += "@" + *in.IndexName
	}
	if err := d.In.enter(ctx, d.Label, op); err != nil {
		return nil, err
	}
	return d.Client.Query(ctx, in, d.opts("Query", optFns)...)
}

// BatchGetItem is dynamodb.Client.BatchGetItem with faults.
func (d *DynamoDB) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	if err := d.In.enter(ctx, d.Label, "dynamodb:BatchGetItem"); err != nil {
		return nil, err
	}
	return d.Client.BatchGetItem(ctx, in, d.opts("BatchGetItem", optFns)...)
}

// BatchWriteItem is dynamodb.Client.BatchWriteItem with faults.
func (d *DynamoDB) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	if err := d.In.enter(ctx, d.Label, "dynamodb:BatchWriteItem"); err != nil {
		return nil, err
	}
	return d.Client.BatchWriteItem(ctx, in, d.opts("BatchWriteItem", optFns)...)
}

// Scan is dynamodb.Client.Scan with faults.
func (d *DynamoDB) Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	op := "dynamodb:Scan"
	if in.IndexName != nil {
		op += "@" + *in.IndexName
	}
	if err := d.In.enter(ctx, d.Label, op); err != nil {
		return nil, err
	}
	return d.Client.Scan(ctx, in, d.opts("Scan", optFns)...)
}

// TransactWriteItems is dynamodb.Client.TransactWriteItems with faults.
func (d *DynamoDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if err := d.In.enter(ctx, d.Label, "dynamodb:TransactWriteItems"); err != nil {
		return nil, err
	}
	return d.Client.TransactWriteItems(ctx, in, d.opts("TransactWriteItems", optFns)...)
}

// SQS is the shared/sqs API over a real client, with faults.
type SQS struct {
	Client *sqs.Client
	In     *Injector
	Label  string
}

func (s *SQS) opts(op string, optFns []func(*sqs.Options)) []func(*sqs.Options) {
	mw := s.In.apiOption(op, sqsThrottle)
	return append(optFns, func(o *sqs.Options) { o.APIOptions = append(o.APIOptions, mw) })
}

// SendMessageBatch is sqs.Client.SendMessageBatch with faults. IAM grants
// it as sqs:SendMessage.
func (s *SQS) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	if err := s.In.enter(ctx, s.Label, "sqs:SendMessage@"+queueName(in.QueueUrl)); err != nil {
		return nil, err
	}
	return s.Client.SendMessageBatch(ctx, in, s.opts("SendMessageBatch", optFns)...)
}

// ChangeMessageVisibility is sqs.Client.ChangeMessageVisibility with faults.
func (s *SQS) ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	if err := s.In.enter(ctx, s.Label, "sqs:ChangeMessageVisibility@"+queueName(in.QueueUrl)); err != nil {
		return nil, err
	}
	return s.Client.ChangeMessageVisibility(ctx, in, s.opts("ChangeMessageVisibility", optFns)...)
}

// queueName is the last path segment of a queue URL.
func queueName(u *string) string {
	if u == nil {
		return ""
	}
	s := *u
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return s[i+1:]
		}
	}
	return s
}
