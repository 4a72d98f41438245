package ingest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/leadscore/leadscore/infra/emulators"
	"github.com/leadscore/leadscore/shared/config"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/logging"
	"github.com/leadscore/leadscore/shared/metrics"
	lssqs "github.com/leadscore/leadscore/shared/sqs"
)

var stack *emulators.Stack

func TestMain(m *testing.M) {
	// Fuzzing and benchmarks need no emulator; everything else talks to the
	// real ones.
	if !needsEmulators() {
		os.Exit(m.Run())
	}
	emulators.RunTests(m, &stack)
}

func needsEmulators() bool {
	for _, a := range os.Args[1:] {
		if strings.HasPrefix(a, "-test.fuzz=") || strings.HasPrefix(a, "-test.run=^$") || a == "-test.run=XXX" {
			return false
		}
	}
	return true
}

const testKey = "test-key"

// testNow is the handler's clock in tests: the requests' occurred_at values
// are a minute before it.
var testNow = time.Date(2026, 11, 22, 10, 15, 0, 0, time.UTC)

var testForms = map[string]config.Form{
	"contact": {Type: "form_submit", AllowedOrigins: []string{"http://localhost:*", "http://127.0.0.1:*"}},
	"ebook": {Type: "content_download", FunnelStage: "bottom", AllowedOrigins: []string{"https://www.example.com"},
		ThankYouURL: "https://www.example.com/thanks"},
}

// env is one handler over freshly reset emulators.
type env struct {
	h       *Handler
	opts    Options
	logs    *bytes.Buffer
	metrics *bytes.Buffer
	sqs     *awssqs.Client
}

func newEnv(t *testing.T, tweak ...func(*Options)) *env {
	t.Helper()
	emulators.Need(t)
	if stack == nil {
		t.Skip("emulators not started")
	}
	if err := stack.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	cfg, err := stack.AWSConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	e := &env{logs: &bytes.Buffer{}, metrics: &bytes.Buffer{}, sqs: awssqs.NewFromConfig(cfg)}
	e.opts = Options{
		Queue:   lssqs.NewQueues(e.sqs, stack.ScoreQueueURL, stack.HandoffQueueURL),
		APIKey:  testKey,
		Forms:   testForms,
		Logger:  logging.New(e.logs, "ingest", "debug"),
		Metrics: metrics.New(e.metrics, "ingest"),
		Now:     func() time.Time { return testNow },
	}
	addStore(t, &e.opts, cfg)
	for _, f := range tweak {
		f(&e.opts)
	}
	e.h = New(e.opts)
	return e
}

// load reads an API Gateway v2 request from testdata/requests.
func load(t testing.TB, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "requests", name))
	if err != nil {
		t.Fatal(err)
	}
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &req); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return req
}

// withBody replaces the body as API Gateway would carry it.
func withBody(req events.APIGatewayV2HTTPRequest, body string, b64 bool) events.APIGatewayV2HTTPRequest {
	req.IsBase64Encoded = b64
	if b64 {
		req.Body = base64.StdEncoding.EncodeToString([]byte(body))
	} else {
		req.Body = body
	}
	req.Headers = cloneHeaders(req.Headers)
	req.Headers["content-length"] = strconv.Itoa(len(body))
	return req
}

func withHeader(req events.APIGatewayV2HTTPRequest, k, v string) events.APIGatewayV2HTTPRequest {
	req.Headers = cloneHeaders(req.Headers)
	if v == "" {
		delete(req.Headers, k)
	} else {
		req.Headers[k] = v
	}
	return req
}

func cloneHeaders(h map[string]string) map[string]string {
	c := make(map[string]string, len(h))
	for k, v := range h {
		c[k] = v
	}
	return c
}

var emailInLog = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)

// do sends req through Handle, and fails the test if any log line it wrote
// carries an email address (ARCHITECTURE.md invariant 8).
func (e *env) do(t *testing.T, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	resp, err := e.h.Handle(t.Context(), req)
	if err != nil {
		t.Fatalf("Handle returned an error: %v", err)
	}
	if m := emailInLog.FindString(e.logs.String()); m != "" {
		t.Fatalf("a log line carries an email address %q:\n%s", m, e.logs.String())
	}
	if resp.StatusCode >= 500 && strings.Contains(resp.Body, "operation error") {
		t.Fatalf("a %d carries internals: %s", resp.StatusCode, resp.Body)
	}
	return resp
}

// errorBody decodes and checks the CONTRACT.md error shape.
type errorBody struct {
	Error   string   `json:"error"`
	Message string   `json:"message"`
	Details []Detail `json:"details"`
}

func decodeError(t *testing.T, resp events.APIGatewayV2HTTPResponse) errorBody {
	t.Helper()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(resp.Body), &raw); err != nil {
		t.Fatalf("error body %q is not JSON: %v", resp.Body, err)
	}
	for _, k := range []string{"error", "message", "details"} {
		if _, ok := raw[k]; !ok {
			t.Fatalf("error body %s lacks %q", resp.Body, k)
		}
	}
	var b errorBody
	if err := json.Unmarshal([]byte(resp.Body), &b); err != nil {
		t.Fatal(err)
	}
	return b
}

// text is the message and every detail, for checking what a client reads.
func (b errorBody) text() string {
	var s strings.Builder
	s.WriteString(b.Message)
	for _, d := range b.Details {
		s.WriteString("\n" + d.Field + ": " + d.Message)
	}
	return s.String()
}

func fields(ds []Detail) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Field
	}
	return out
}

type queued struct {
	msg    leadscore.ScoreMessage
	leadID string // the message attribute
}

// received drains the score queue, expecting want messages, and fails if
// more arrive.
func (e *env) received(t *testing.T, want int) []queued {
	t.Helper()
	var out []queued
	for empty := 0; len(out) < want && empty < 3; {
		res, err := e.sqs.ReceiveMessage(t.Context(), &awssqs.ReceiveMessageInput{QueueUrl: aws.String(stack.ScoreQueueURL),
			MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Messages) == 0 {
			empty++
		}
		for _, m := range res.Messages {
			var q queued
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &q.msg); err != nil {
				t.Fatalf("queued body %q: %v", aws.ToString(m.Body), err)
			}
			q.leadID = aws.ToString(m.MessageAttributes[lssqs.AttrLeadID].StringValue)
			out = append(out, q)
			if _, err := e.sqs.DeleteMessage(t.Context(), &awssqs.DeleteMessageInput{QueueUrl: aws.String(stack.ScoreQueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
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
