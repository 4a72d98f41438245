package ingest

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/leadscore/leadscore/infra/emulators"
	"github.com/leadscore/leadscore/shared/config"
	"github.com/leadscore/leadscore/shared/dynamodb"
	"github.com/leadscore/leadscore/shared/httpapi/httpapitest"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/logging"
	"github.com/leadscore/leadscore/shared/metrics"
	"github.com/leadscore/leadscore/shared/mock"
	lssqs "github.com/leadscore/leadscore/shared/sqs"
)

var stack *emulators.Stack

// TestMain starts the emulators unless -short (make unit), fuzzing or
// benchmarks only: the handler then runs over shared/mock. Otherwise the
// same tests run against the real queue and table, and the emulator-only
// ones run too.
func TestMain(m *testing.M) { emulators.RunTestsOverMocks(m, &stack) }

// needEmulators skips a test that is about the real SQS client or table
// (retries, SDK errors, the urgent queue URL) when they are not running:
// under -short only.
func needEmulators(t *testing.T) {
	t.Helper()
	if stack == nil {
		t.Skip("needs DynamoDB Local and the SQS emulator (skipped with -short; make test runs it)")
	}
}

const testKey = "test-key"

// The sources' test keys (docs/api.md "Sources").
const (
	testWriteKey      = "wk_test_0123456789ab"
	testSiteKey       = "pk_test_0123456789ab"
	testConsentKey    = "pk_test_consent_0001"
	testSegmentSecret = "whsec_test_segment"
)

var testSites = map[string]config.Site{
	"www":     {Key: testSiteKey, AllowedOrigins: []string{"https://www.example.com", "http://localhost:*", "http://127.0.0.1:*"}},
	"consent": {Key: testConsentKey, AllowedOrigins: []string{"https://eu.example.com"}, ConsentRequired: true},
}

// testNow is the handler's clock in tests: the requests' occurred_at values
// are a minute before it.
var testNow = time.Date(2026, 11, 22, 10, 15, 0, 0, time.UTC)

var testForms = map[string]config.Form{
	"contact": {Type: "form_submit", AllowedOrigins: []string{"http://localhost:*", "http://127.0.0.1:*"}},
	"ebook": {Type: "content_download", FunnelStage: "bottom", AllowedOrigins: []string{"https://www.example.com"},
		ThankYouURL: "https://www.example.com/thanks"},
}

// env is one handler over the emulators (freshly reset) when they run, else
// over shared/mock.
type env struct {
	h       *Handler
	opts    Options
	logs    *bytes.Buffer
	metrics *bytes.Buffer
	sqs     *awssqs.Client   // nil over mocks
	queue   *mock.ScoreQueue // nil over the emulators
}

func newEnv(t *testing.T, tweak ...func(*Options)) *env {
	t.Helper()
	e := &env{logs: &bytes.Buffer{}, metrics: &bytes.Buffer{}}
	e.opts = Options{
		APIKey:               testKey,
		WriteKeys:            []string{testWriteKey},
		Sites:                testSites,
		SegmentWebhookSecret: testSegmentSecret,
		Forms:                testForms,
		Logger:               logging.New(e.logs, "ingest", "debug"),
		Metrics:              metrics.New(e.metrics, "ingest"),
		Now:                  func() time.Time { return testNow },
	}
	if stack == nil {
		e.queue = &mock.ScoreQueue{}
		e.opts.Queue, e.opts.Rules = e.queue, &mock.RulesStore{}
	} else {
		if err := stack.Reset(t.Context()); err != nil {
			t.Fatal(err)
		}
		cfg := mustAWSConfig(t)
		e.sqs = awssqs.NewFromConfig(cfg)
		e.opts.Queue = lssqs.NewQueues(e.sqs, stack.ScoreQueueURL, stack.HandoffQueueURL)
		e.opts.Rules = dynamodb.New(awsddb.NewFromConfig(cfg), stack.TableName)
	}
	for _, f := range tweak {
		f(&e.opts)
	}
	h, err := New(e.opts)
	if err != nil {
		t.Fatal(err)
	}
	e.h = h
	return e
}

// publisher is the rules store of the env, to publish as the api function
// (another container) would.
func (e *env) publisher(t *testing.T) leadscore.RulesStore {
	t.Helper()
	p, ok := e.opts.Rules.(leadscore.RulesStore)
	if !ok {
		t.Fatalf("rules store %T cannot publish", e.opts.Rules)
	}
	return p
}

// The request helpers of shared/httpapi/httpapitest, by their short names.
var (
	load        = httpapitest.Load
	withBody    = httpapitest.WithBody
	withHeader  = httpapitest.WithHeader
	decodeError = httpapitest.DecodeError
	fields      = httpapitest.Fields
)

// do sends req through Handle, and fails the test if any log line it wrote
// carries an email address or a 5xx carries internals.
func (e *env) do(t *testing.T, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	resp, err := e.h.Handle(t.Context(), req)
	if err != nil {
		t.Fatalf("Handle returned an error: %v", err)
	}
	httpapitest.CheckAnswer(t, resp, e.logs.String())
	return resp
}

type queued struct {
	msg    leadscore.ScoreMessage
	leadID string // the message attribute (over mocks: the lead the queue was given)
}

// received drains the score queue, expecting want messages, and fails if
// more arrive.
func (e *env) received(t *testing.T, want int) []queued {
	t.Helper()
	var out []queued
	if e.queue != nil {
		// shared/sqs puts the message's LeadID in the lead_id attribute
		// (tested there against the emulator).
		for _, m := range e.queue.Take() {
			out = append(out, queued{msg: m, leadID: m.LeadID})
		}
	}
	if e.sqs != nil {
		msgs, err := stack.Take(t.Context(), stack.ScoreQueueURL, want)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			var q queued
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &q.msg); err != nil {
				t.Fatalf("queued body %q: %v", aws.ToString(m.Body), err)
			}
			q.leadID = aws.ToString(m.MessageAttributes[lssqs.AttrLeadID].StringValue)
			out = append(out, q)
		}
	}
	if len(out) != want {
		t.Fatalf("score queue held %d messages, want %d", len(out), want)
	}
	e.queueEmpty(t)
	return out
}

// queueEmpty fails unless the score queue holds nothing, visible or not.
func (e *env) queueEmpty(t *testing.T) {
	t.Helper()
	if e.queue != nil {
		if left := e.queue.Take(); len(left) > 0 {
			t.Fatalf("score queue holds %d more messages, want none", len(left))
		}
		return
	}
	out, err := e.sqs.GetQueueAttributes(t.Context(), &awssqs.GetQueueAttributesInput{QueueUrl: aws.String(stack.ScoreQueueURL),
		AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range out.Attributes {
		if v != "0" {
			t.Fatalf("score queue %s = %s, want 0", k, v)
		}
	}
}

func mustAWSConfig(t *testing.T) aws.Config {
	t.Helper()
	cfg, err := stack.AWSConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
