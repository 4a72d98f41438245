package emulators_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/leadscore/leadscore/infra/emulators"
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

func TestTableFromTemplate(t *testing.T) {
	emulators.Need(t)
	ddb, _ := clients(t)
	out, err := ddb.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(stack.TableName)})
	if err != nil {
		t.Fatalf("DescribeTable %s: %v", stack.TableName, err)
	}
	got := map[string][]string{}
	for _, g := range out.Table.GlobalSecondaryIndexes {
		for _, k := range g.KeySchema {
			got[aws.ToString(g.IndexName)] = append(got[aws.ToString(g.IndexName)], aws.ToString(k.AttributeName))
		}
	}
	want := map[string][]string{"due-index": {"due_shard", "due_at"}, "stage-index": {"list_stage", "list_engagement"}, "outcome-index": {"outcome_shard"}}
	for name, keys := range want {
		if fmt.Sprint(got[name]) != fmt.Sprint(keys) {
			t.Errorf("index %s keys = %v, want %v (docs/design.md)", name, got[name], keys)
		}
	}
	ttl, err := ddb.DescribeTimeToLive(t.Context(), &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(stack.TableName)})
	if err != nil {
		t.Fatal(err)
	}
	if a := aws.ToString(ttl.TimeToLiveDescription.AttributeName); a != "expires_at" {
		t.Errorf("TTL attribute = %q, want expires_at", a)
	}
}

func TestPutGetRoundTrip(t *testing.T) {
	emulators.Need(t)
	ddb, _ := clients(t)
	item := map[string]ddbtypes.AttributeValue{
		"pk":      &ddbtypes.AttributeValueMemberS{Value: "LEAD#ld_1"},
		"sk":      &ddbtypes.AttributeValueMemberS{Value: "#LEAD"},
		"version": &ddbtypes.AttributeValueMemberN{Value: "7"},
	}
	if _, err := ddb.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(stack.TableName), Item: item}); err != nil {
		t.Fatalf("PutItem: %v", err)
	}
	out, err := ddb.GetItem(t.Context(), &dynamodb.GetItemInput{
		TableName: aws.String(stack.TableName),
		Key:       map[string]ddbtypes.AttributeValue{"pk": item["pk"], "sk": item["sk"]},
	})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	v, ok := out.Item["version"].(*ddbtypes.AttributeValueMemberN)
	if !ok || v.Value != "7" {
		t.Fatalf("GetItem version = %#v, want N 7", out.Item["version"])
	}
}

func TestSendReceiveRoundTrip(t *testing.T) {
	emulators.Need(t)
	_, q := clients(t)
	body := `{"kind":"event","lead_id":"ld_1"}`
	if _, err := q.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(stack.ScoreQueueURL), MessageBody: aws.String(body)}); err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	out, err := q.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(stack.ScoreQueueURL), WaitTimeSeconds: 5, MaxNumberOfMessages: 1,
	})
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	if len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != body {
		t.Fatalf("received %d messages %v, want the one sent", len(out.Messages), out.Messages)
	}
	if _, err := q.DeleteMessage(t.Context(), &sqs.DeleteMessageInput{QueueUrl: aws.String(stack.ScoreQueueURL), ReceiptHandle: out.Messages[0].ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}
}

func TestQueuesFromTemplate(t *testing.T) {
	emulators.Need(t)
	_, q := clients(t)
	tests := []struct {
		queue, dlq     string
		visibility     int
		maxReceiveWant int
	}{
		{stack.ScoreQueueURL, stack.ScoreDLQURL, 180, 5},
		{stack.HandoffQueueURL, stack.HandoffDLQURL, 180, 5},
	}
	for _, tt := range tests {
		out, err := q.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{
			QueueUrl: aws.String(tt.queue), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
		})
		if err != nil {
			t.Fatalf("GetQueueAttributes %s: %v", tt.queue, err)
		}
		if v := out.Attributes["VisibilityTimeout"]; v != strconv.Itoa(tt.visibility) {
			t.Errorf("%s VisibilityTimeout = %s, want %d", tt.queue, v, tt.visibility)
		}
		var policy struct {
			DeadLetterTargetArn string `json:"deadLetterTargetArn"`
			MaxReceiveCount     any    `json:"maxReceiveCount"`
		}
		if err := json.Unmarshal([]byte(out.Attributes["RedrivePolicy"]), &policy); err != nil {
			t.Fatalf("%s RedrivePolicy %q: %v", tt.queue, out.Attributes["RedrivePolicy"], err)
		}
		dlqAttrs, err := q.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{
			QueueUrl: aws.String(tt.dlq), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
		})
		if err != nil {
			t.Fatal(err)
		}
		if policy.DeadLetterTargetArn != dlqAttrs.Attributes["QueueArn"] {
			t.Errorf("%s redrives to %s, want %s", tt.queue, policy.DeadLetterTargetArn, dlqAttrs.Attributes["QueueArn"])
		}
		if fmt.Sprint(policy.MaxReceiveCount) != strconv.Itoa(tt.maxReceiveWant) {
			t.Errorf("%s maxReceiveCount = %v, want %d", tt.queue, policy.MaxReceiveCount, tt.maxReceiveWant)
		}
	}
}

// TestRedriveToDLQ relies on the emulator moving a message to the DLQ on the
// receive after maxReceiveCount receives, as AWS does.
func TestRedriveToDLQ(t *testing.T) {
	emulators.Need(t)
	_, q := clients(t)
	if err := stack.Reset(t.Context()); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if _, err := q.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(stack.HandoffQueueURL), MessageBody: aws.String("poison")}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		out, err := q.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(stack.HandoffQueueURL), WaitTimeSeconds: 10, VisibilityTimeout: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) != 1 {
			t.Fatalf("receive %d: got %d messages, want the poison one", i+1, len(out.Messages))
		}
	}
	out, err := q.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(stack.HandoffDLQURL), WaitTimeSeconds: 5})
	if err != nil {
		t.Fatal(err)
	}
	// The 6th receive of the source queue is what moves it in AWS; the
	// emulator moves it as the 5th visibility timeout ends. Either way the
	// DLQ must hold it now or after one more receive.
	if len(out.Messages) == 0 {
		if _, err := q.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(stack.HandoffQueueURL), WaitTimeSeconds: 1}); err != nil {
			t.Fatal(err)
		}
		out, err = q.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(stack.HandoffDLQURL), WaitTimeSeconds: 5})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != "poison" {
		t.Fatalf("DLQ holds %v, want the poison message after 5 receives", out.Messages)
	}
}

func TestResetEmptiesTableAndQueues(t *testing.T) {
	emulators.Need(t)
	ddb, q := clients(t)
	key := map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "X"}, "sk": &ddbtypes.AttributeValueMemberS{Value: "Y"}}
	if _, err := ddb.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(stack.TableName), Item: key}); err != nil {
		t.Fatal(err)
	}
	if _, err := q.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(stack.ScoreQueueURL), MessageBody: aws.String("x")}); err != nil {
		t.Fatal(err)
	}
	if err := stack.Reset(t.Context()); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	got, err := ddb.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(stack.TableName), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if got.Item != nil {
		t.Errorf("item survived Reset: %v", got.Item)
	}
	out, err := q.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(stack.ScoreQueueURL), WaitTimeSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 0 {
		t.Errorf("message survived Reset: %v", out.Messages)
	}
}

func TestEnvNamesTheStack(t *testing.T) {
	emulators.Need(t)
	env := stack.Env()
	for k, want := range map[string]string{
		"TABLE_NAME": stack.TableName, "SCORE_QUEUE_URL": stack.ScoreQueueURL, "HANDOFF_QUEUE_URL": stack.HandoffQueueURL,
		"AWS_ENDPOINT_URL_DYNAMODB": stack.DynamoDBEndpoint, "AWS_ENDPOINT_URL_SQS": stack.SQSEndpoint,
	} {
		if env[k] != want || want == "" {
			t.Errorf("Env()[%s] = %q, want %q (non-empty)", k, env[k], want)
		}
	}
}

// TestStopLeavesNoProcess starts a second stack and checks that Stop kills
// both emulator processes.
func TestStopLeavesNoProcess(t *testing.T) {
	emulators.Need(t)
	st, err := emulators.Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	pids := st.PIDs()
	if len(pids) != 2 {
		t.Fatalf("PIDs() = %v, want the two emulators", pids)
	}
	st.Stop()
	for _, pid := range pids {
		// Signal 0 probes for existence; the process was reaped by Stop.
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("process %d still alive after Stop", pid)
		}
	}
}
