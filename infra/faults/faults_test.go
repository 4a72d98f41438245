package faults

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	smithy "github.com/aws/smithy-go"

	"github.com/leadscore/leadscore/infra/emulators"
	ldynamodb "github.com/leadscore/leadscore/shared/dynamodb"
	lsqs "github.com/leadscore/leadscore/shared/sqs"
)

var (
	_ ldynamodb.API = (*DynamoDB)(nil)
	_ lsqs.API      = (*SQS)(nil)
)

var stack *emulators.Stack

func TestMain(m *testing.M) { emulators.RunTests(m, &stack) }

func clients(t *testing.T) (*dynamodb.Client, *sqs.Client) {
	t.Helper()
	cfg, err := stack.AWSConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return dynamodb.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
}

func item(pk string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{
		"pk": &ddbtypes.AttributeValueMemberS{Value: pk}, "sk": &ddbtypes.AttributeValueMemberS{Value: "x"}}
}

func TestFaultsReachTheSDKRetryerAndTheService(t *testing.T) {
	emulators.Need(t)
	ddb, sq := clients(t)
	tests := []struct {
		name      string
		cfg       Config
		wantCode  string // error code of the call's final error; "" for success
		wantWrote bool   // the item exists afterwards
		wantFault string
	}{
		{"healthy", Config{}, "", true, ""},
		{"always throttled: the SDK retries, then gives up with the throttle", Config{FailRate: 1}, "ProvisionedThroughputExceededException", false, "throttle"},
		{"response always lost: executed, then RequestTimeout", Config{FailRate: 1, LostShare: 1}, "RequestTimeout", true, "lost_response"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := New(tt.cfg)
			d := &DynamoDB{Client: ddb, In: in, Label: "Test"}
			pk := fmt.Sprintf("faults-%d", i)
			_, err := d.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(stack.TableName), Item: item(pk)})
			var code string
			var ae smithy.APIError
			if errors.As(err, &ae) {
				code = ae.ErrorCode()
			} else if err != nil {
				t.Fatalf("error %v has no API error code", err)
			}
			if code != tt.wantCode {
				t.Errorf("error code %q, want %q (err %v)", code, tt.wantCode, err)
			}
			got, err := ddb.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(stack.TableName), Key: item(pk), ConsistentRead: aws.Bool(true)})
			if err != nil {
				t.Fatal(err)
			}
			if (got.Item != nil) != tt.wantWrote {
				t.Errorf("item written = %v, want %v", got.Item != nil, tt.wantWrote)
			}
			if tt.wantFault != "" && in.Faults()[tt.wantFault] != 3 {
				// 3 = the SDK's default attempts: proof the fault sits inside
				// the retry loop.
				t.Errorf("faults %v, want 3 %s", in.Faults(), tt.wantFault)
			}
			if in.Calls()["Test dynamodb:PutItem"] != 1 {
				t.Errorf("calls %v, want one PutItem", in.Calls())
			}
		})
	}

	t.Run("sqs throttle", func(t *testing.T) {
		s := &SQS{Client: sq, In: New(Config{FailRate: 1}), Label: "Test"}
		_, err := s.SendMessageBatch(t.Context(), &sqs.SendMessageBatchInput{QueueUrl: aws.String(stack.ScoreDLQURL),
			Entries: []sqstypes.SendMessageBatchRequestEntry{{Id: aws.String("1"), MessageBody: aws.String("{}")}}})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "ThrottlingException" {
			t.Fatalf("error %v, want ThrottlingException", err)
		}
	})
}

func TestKillFailsEveryCallAfterTheBudget(t *testing.T) {
	emulators.Need(t)
	ddb, _ := clients(t)
	d := &DynamoDB{Client: ddb, In: New(Config{}), Label: "Test"}
	ctx, kill := WithKill(t.Context(), 2)
	var errs []error
	for i := range 4 {
		_, err := d.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(stack.TableName), Key: item(fmt.Sprint("k", i))})
		errs = append(errs, err)
	}
	for i, err := range errs {
		if killed := errors.Is(err, ErrKilled); killed != (i >= 2) {
			t.Errorf("call %d: err %v, killed = %v, want %v", i+1, err, killed, i >= 2)
		}
	}
	if !kill.Fired() {
		t.Error("kill did not report firing")
	}
	if _, k := WithKill(t.Context(), -1); k.Fired() {
		t.Error("a negative budget fired")
	}
}
