package emulators

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/leadscore/leadscore/infra/template"
)

// create makes the template's table and queues and fills the Stack's names.
func (s *Stack) create(ctx context.Context) error {
	if err := s.createTable(ctx); err != nil {
		return err
	}
	if err := s.createQueues(ctx); err != nil {
		return err
	}
	for field, id := range map[*string]string{
		&s.ScoreQueueURL: ScoreQueueID, &s.ScoreDLQURL: ScoreDLQID,
		&s.HandoffQueueURL: HandoffQueueID, &s.HandoffDLQURL: HandoffDLQID,
	} {
		url, ok := s.QueueURLs[id]
		if !ok {
			return fmt.Errorf("template.yaml has no queue %s", id)
		}
		*field = url
	}
	return nil
}

// Reset deletes and recreates the table and the queues, so a test starts
// from nothing without paying for new emulator processes.
func (s *Stack) Reset(ctx context.Context) error {
	if _, err := s.ddb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(s.TableName)}); err != nil {
		var nf *ddbtypes.ResourceNotFoundException
		if !errors.As(err, &nf) {
			return fmt.Errorf("reset: deleting table %s: %w", s.TableName, err)
		}
	}
	for id, url := range s.QueueURLs {
		if _, err := s.sqs.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(url)}); err != nil {
			var nf *sqstypes.QueueDoesNotExist
			if !errors.As(err, &nf) {
				return fmt.Errorf("reset: deleting queue %s: %w", id, err)
			}
		}
	}
	return s.create(ctx)
}

func (s *Stack) createTable(ctx context.Context) error {
	tb, err := s.Template.Table()
	if err != nil {
		return err
	}
	s.TableName = tb.TableName
	if s.TableName == "" {
		s.TableName = tb.LogicalID
	}
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(s.TableName),
		BillingMode: ddbtypes.BillingModePayPerRequest,
	}
	if tb.BillingMode != "" && tb.BillingMode != string(ddbtypes.BillingModePayPerRequest) {
		return fmt.Errorf("table %s: BillingMode %s; the design is on-demand (PAY_PER_REQUEST)", tb.LogicalID, tb.BillingMode)
	}
	for _, a := range tb.AttributeDefinitions {
		in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{
			AttributeName: aws.String(a.AttributeName), AttributeType: ddbtypes.ScalarAttributeType(a.AttributeType),
		})
	}
	in.KeySchema = keySchema(tb.KeySchema)
	for _, g := range tb.GlobalSecondaryIndex {
		gsi := ddbtypes.GlobalSecondaryIndex{
			IndexName: aws.String(g.IndexName),
			KeySchema: keySchema(g.KeySchema),
			Projection: &ddbtypes.Projection{
				ProjectionType: ddbtypes.ProjectionType(g.Projection.ProjectionType),
			},
		}
		if len(g.Projection.NonKeyAttributes) > 0 {
			gsi.Projection.NonKeyAttributes = g.Projection.NonKeyAttributes
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, gsi)
	}
	if _, err := s.ddb.CreateTable(ctx, in); err != nil {
		return fmt.Errorf("creating table %s from template.yaml: %w", s.TableName, err)
	}
	if tb.TTLAttribute != "" {
		if _, err := s.ddb.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
			TableName: aws.String(s.TableName),
			TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{
				AttributeName: aws.String(tb.TTLAttribute), Enabled: aws.Bool(true),
			},
		}); err != nil {
			return fmt.Errorf("enabling TTL on %s.%s: %w", s.TableName, tb.TTLAttribute, err)
		}
	}
	return nil
}

func keySchema(ks []template.KeySchemaElement) []ddbtypes.KeySchemaElement {
	out := make([]ddbtypes.KeySchemaElement, 0, len(ks))
	for _, k := range ks {
		out = append(out, ddbtypes.KeySchemaElement{AttributeName: aws.String(k.AttributeName), KeyType: ddbtypes.KeyType(k.KeyType)})
	}
	return out
}

func (s *Stack) createQueues(ctx context.Context) error {
	queues, err := s.Template.Queues()
	if err != nil {
		return err
	}
	// Dead-letter queues first: a redrive policy must name an existing queue.
	sort.SliceStable(queues, func(i, j int) bool {
		return queues[i].DeadLetterQueue == "" && queues[j].DeadLetterQueue != ""
	})
	s.QueueURLs = map[string]string{}
	s.QueueARNs = map[string]string{}
	for _, q := range queues {
		name := q.QueueName
		if name == "" {
			name = q.LogicalID
		}
		attrs := map[string]string{
			"VisibilityTimeout": strconv.Itoa(int(q.VisibilityTimeout.Seconds())),
		}
		if q.MessageRetentionPeriod > 0 {
			attrs["MessageRetentionPeriod"] = strconv.Itoa(int(q.MessageRetentionPeriod.Seconds()))
		}
		if q.DelaySeconds > 0 {
			attrs["DelaySeconds"] = strconv.Itoa(q.DelaySeconds)
		}
		if q.ReceiveMessageWait > 0 {
			attrs["ReceiveMessageWaitTimeSeconds"] = strconv.Itoa(int(q.ReceiveMessageWait.Seconds()))
		}
		if q.DeadLetterQueue != "" {
			arn, ok := s.QueueARNs[q.DeadLetterQueue]
			if !ok {
				return fmt.Errorf("queue %s: dead-letter queue %s is not a queue of the template", q.LogicalID, q.DeadLetterQueue)
			}
			policy, _ := json.Marshal(map[string]any{"deadLetterTargetArn": arn, "maxReceiveCount": q.MaxReceiveCount})
			attrs["RedrivePolicy"] = string(policy)
		}
		out, err := s.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
		if err != nil {
			return fmt.Errorf("creating queue %s from template.yaml: %w", q.LogicalID, err)
		}
		got, err := s.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl: out.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
		})
		if err != nil {
			return fmt.Errorf("reading the ARN of queue %s: %w", q.LogicalID, err)
		}
		s.QueueURLs[q.LogicalID] = aws.ToString(out.QueueUrl)
		s.QueueARNs[q.LogicalID] = got.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	}
	return nil
}

// DynamoDB returns a client of the stack's DynamoDB Local.
func (s *Stack) DynamoDB() *dynamodb.Client { return s.ddb }

// SQS returns a client of the stack's SQS emulator.
func (s *Stack) SQS() *sqs.Client { return s.sqs }
