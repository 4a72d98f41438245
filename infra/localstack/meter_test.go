package main

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/leadscore/leadscore/infra/emulators"
)

func TestItemKind(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"TableName":"T","Key":{"pk":{"S":"LEAD#ld_1"},"sk":{"S":"#LEAD"}}}`, " lead"},
		{`{"TableName":"T","Item":{"pk":{"S":"LEAD#ld_1"},"sk":{"S":"EVENT#e1"},"event":{"S":"{}"}}}`, " event"},
		{`{"TableName":"T","Item":{"pk":{"S":"RULES"},"sk":{"S":"V#0000000002"}}}`, " rules"},
		{`{"TableName":"T","Key":{"pk":{"S":"RESCORE#3"},"sk":{"S":"#JOB"}}}`, " rescore"},
		{`{"TableName":"T","IndexName":"due-index","KeyConditionExpression":"due_shard = :s"}`, " index due-index"},
		{`{"TableName":"T","KeyConditionExpression":"pk = :pk","ExpressionAttributeValues":{":pk":{"S":"LEAD#vi_1"}}}`, " lead partition"},
		{`{"TableName":"T","KeyConditionExpression":"pk = :pk","ExpressionAttributeValues":{":pk":{"S":"RULES"}}}`, " rules"},
		{`{"TableName":"T","Item":{"pk":{"S":"ACCOUNT#ac_1"},"sk":{"S":"#PAGE#0000"}}}`, " account"},
		// The account and its pages: the sort key prefix "#" must not be
		// taken for the partition, whichever value the map gives first.
		{`{"TableName":"T","KeyConditionExpression":"pk = :pk AND begins_with(sk, :p)","ExpressionAttributeValues":{":p":{"S":"#"},":pk":{"S":"ACCOUNT#ac_1"},":q":{"S":"#PAGE#"}}}`, " account"},
		{`{"RequestItems":{}}`, ""},
		{`not json`, ""},
	}
	for _, tt := range tests {
		for range 20 { // map order varies between runs
			if got := itemKind([]byte(tt.body)); got != tt.want {
				t.Errorf("itemKind(%s) = %q, want %q", tt.body, got, tt.want)
				break
			}
		}
	}
}

func TestParseAnswer(t *testing.T) {
	tests := []struct {
		op, body  string
		units     float64
		byIndex   map[string]float64
		emptyRecv bool
	}{
		{"PutItem", `{"ConsumedCapacity":{"TableName":"T","CapacityUnits":3}}`, 3, nil, false},
		{"PutItem", `{"ConsumedCapacity":{"TableName":"T","CapacityUnits":5,"Table":{"CapacityUnits":1},"GlobalSecondaryIndexes":{"due-index":{"CapacityUnits":2},"stage-index":{"CapacityUnits":2}}}}`,
			5, map[string]float64{"table": 1, "due-index": 2, "stage-index": 2}, false},
		{"BatchWriteItem", `{"ConsumedCapacity":[{"CapacityUnits":2},{"CapacityUnits":1.5}]}`, 3.5, nil, false},
		{"GetItem", `{"Item":{}}`, 0, nil, false},
		{"ReceiveMessage", `{}`, 0, nil, true},
		{"ReceiveMessage", `{"Messages":[{"MessageId":"1"}]}`, 0, nil, false},
		{"PutItem", ``, 0, nil, false},
		{"ReceiveMessage", ``, 0, nil, true},
	}
	for _, tt := range tests {
		u, by, e := parseAnswer(tt.op, []byte(tt.body))
		if u != tt.units || e != tt.emptyRecv || !maps.Equal(by, tt.byIndex) {
			t.Errorf("parseAnswer(%s, %s) = %v, %v, %v; want %v, %v, %v", tt.op, tt.body, u, by, e, tt.units, tt.byIndex, tt.emptyRecv)
		}
	}
}

// TestRequestMeterCountsRealEmulatorTraffic puts the meter in front of
// DynamoDB Local and the SQS emulator and checks what it counts: requests
// by operation and item kind, the capacity DynamoDB Local reports, failed
// conditional writes, and empty receives.
func TestRequestMeterCountsRealEmulatorTraffic(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the emulators")
	}
	st, err := emulators.Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Stop()
	m := newRequestMeter()
	defer m.close()
	ddbURL, err := m.proxy("dynamodb", "ScoreFunction", st.DynamoDBEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	sqsURL, err := m.proxy("sqs", "EventSourceMapping", st.SQSEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := st.AWSConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ddb := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(ddbURL) })
	q := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(sqsURL) })

	item := map[string]ddbtypes.AttributeValue{
		"pk": &ddbtypes.AttributeValueMemberS{Value: "LEAD#ld_meter"}, "sk": &ddbtypes.AttributeValueMemberS{Value: "EVENT#e1"},
		"blob": &ddbtypes.AttributeValueMemberB{Value: make([]byte, 1500)},
	}
	put := &dynamodb.PutItemInput{TableName: aws.String(st.TableName), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)"),
		ReturnConsumedCapacity: ddbtypes.ReturnConsumedCapacityTotal}
	if _, err := ddb.PutItem(t.Context(), put); err != nil {
		t.Fatal(err)
	}
	var ccf *ddbtypes.ConditionalCheckFailedException
	if _, err := ddb.PutItem(t.Context(), put); !errors.As(err, &ccf) {
		t.Fatalf("second conditional put: %v, want ConditionalCheckFailedException", err)
	}
	if _, err := q.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(st.ScoreQueueURL), WaitTimeSeconds: 0}); err != nil {
		t.Fatal(err)
	}

	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/local/requests", nil))
	var doc struct {
		Requests []OpStats `json:"requests"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	byOp := map[string]OpStats{}
	for _, s := range doc.Requests {
		byOp[s.Service+" "+s.Caller+" "+s.Op] = s
	}
	put1 := byOp["dynamodb ScoreFunction PutItem event"]
	if put1.Requests != 2 || put1.Errors != 1 || put1.ConditionalFailed != 1 {
		t.Errorf("PutItem event stats %+v, want 2 requests, 1 error, 1 failed condition (all: %+v)", put1, doc.Requests)
	}
	// A 1.5 KB item costs 2 write units, all of them the table's: the
	// caller asked for TOTAL, the meter for INDEXES.
	if put1.CapacityUnits != 2 || put1.ByIndex["table"] != 2 {
		t.Errorf("PutItem event capacity %v (%v), want 2, all on the table (DynamoDB Local's figure for a 1.5 KB item)", put1.CapacityUnits, put1.ByIndex)
	}
	if r := byOp["sqs EventSourceMapping ReceiveMessage"]; r.Requests != 1 || r.EmptyReceives != 1 {
		t.Errorf("ReceiveMessage stats %+v, want 1 request, 1 empty", r)
	}

	rec = httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest(http.MethodDelete, "/local/requests", nil))
	rec = httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/local/requests", nil))
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || len(doc.Requests) != 0 {
		t.Errorf("after DELETE: %s, %v", rec.Body, err)
	}
}
