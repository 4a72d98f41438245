package score

import (
	"context"
	"io"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/leadscore/leadscore/infra/emulators"
	"github.com/leadscore/leadscore/shared/dynamodb"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/logging"
	"github.com/leadscore/leadscore/shared/metrics"
	"github.com/leadscore/leadscore/shared/mock"
	"github.com/leadscore/leadscore/shared/sqs"
)

var stack *emulators.Stack

func TestMain(m *testing.M) { emulators.RunTests(m, &stack) }

// store is what the tests read and arrange leads through: the DynamoDB
// store, or the mocks.
type store interface {
	leadscore.ScoreStore
	leadscore.LeadReader
	leadscore.LeadEraser
	leadscore.RulesStore
	leadscore.DueFinder
	leadscore.RescoreStore
	leadscore.LeadScanner
	leadscore.ReportStore
}

// accountStore is the accounts' side of the table.
type accountStore interface {
	leadscore.AccountStore
	leadscore.AccountReader
	leadscore.MemberWriter
}

type env struct {
	store store
	// accounts is the same table's accounts; the handler uses it only when
	// built with withAccounts.
	accounts accountStore
	h        *Handler
	// Over the emulators: the SQS client and the queues.
	sqs   *awssqs.Client
	queue *sqs.Queues
	// Over the mocks: the queues, recording what they are sent.
	scoreQueue   *mock.ScoreQueue
	handoffQueue *mock.HandoffQueue
	// received, when set, sees the body of every score-queue message drive
	// hands to the handler (from several workers at once).
	received func(body string)
}

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// newEnv resets the table and queues (tests here read the handoff queue) and
// returns a handler whose clock is now.
func newEnv(t testing.TB, now time.Time) *env {
	t.Helper()
	emulators.Need(t)
	if err := stack.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg, err := stack.AWSConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	store := dynamodb.New(awsdynamodb.NewFromConfig(cfg), stack.TableName)
	client := awssqs.NewFromConfig(cfg)
	q := sqs.NewQueues(client, stack.ScoreQueueURL, stack.HandoffQueueURL)
	e := &env{store: store, accounts: store, sqs: client, queue: q}
	e.h = newHandler(t, Options{Store: store, Rules: store, Handoff: q, Rescore: store, Queue: q, Eraser: store, Reports: store,
		Usage: dynamodb.MeterInvocation, Now: func() time.Time { return now }})
	return e
}

// mockStore is the mocks' table: the in-memory store and a rescore job
// store.
type mockStore struct {
	*mock.Store
	*mock.RescoreStore
	*mock.ReportStore
}

// newMockEnv is newEnv over the in-memory mocks (make unit).
func newMockEnv(t testing.TB, now time.Time) *env {
	t.Helper()
	// A rescore message is counted done for its job; no test over the mocks
	// reads the job back (rescore_test.go does, over the emulators).
	rescored := &mock.RescoreStore{}
	leads := &mock.Store{}
	st := mockStore{Store: leads, RescoreStore: rescored, ReportStore: &mock.ReportStore{Leads: leads}}
	e := &env{store: st, accounts: &mock.AccountStore{}, scoreQueue: &mock.ScoreQueue{}, handoffQueue: &mock.HandoffQueue{}}
	e.h = newHandler(t, Options{Store: st, Rules: st, Handoff: e.handoffQueue, Rescore: st, Queue: e.scoreQueue, Eraser: st, Reports: st,
		Now: func() time.Time { return now }})
	return e
}

// newHandler completes o with a logger (SCORE_TEST_LOG=1 shows it) and
// metrics, and builds the handler.
func newHandler(t testing.TB, o Options) *Handler {
	t.Helper()
	var logw io.Writer = io.Discard
	if os.Getenv("SCORE_TEST_LOG") != "" {
		logw = os.Stderr
	}
	o.Logger, o.Metrics = logging.New(logw, "score-test", "debug"), metrics.New(io.Discard, "score-test")
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// eachBackend runs test over the mocks, and over the emulators unless
// -short: the handler's logic, then the same against the real table and
// queues.
func eachBackend(t *testing.T, now time.Time, test func(t *testing.T, e *env)) {
	t.Run("mock", func(t *testing.T) { test(t, newMockEnv(t, now)) })
	t.Run("emulators", func(t *testing.T) { test(t, newEnv(t, now)) })
}

var msgSeq atomic.Int64

// batch wraps messages as Lambda's SQS event, one fresh message id each.
func batch(t testing.TB, msgs ...leadscore.ScoreMessage) events.SQSEvent {
	t.Helper()
	var ev events.SQSEvent
	for _, m := range msgs {
		ev.Records = append(ev.Records, record(t, m))
	}
	return ev
}

func record(t testing.TB, m leadscore.ScoreMessage) events.SQSMessage {
	body, err := jsonMarshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return events.SQSMessage{MessageId: "m" + strconv.FormatInt(msgSeq.Add(1), 10), Body: string(body),
		Attributes: map[string]string{"ApproximateReceiveCount": "1"}}
}

// drainHandoffs receives and deletes everything on the handoff queue.
func drainHandoffs(t testing.TB, e *env) []leadscore.Handoff {
	t.Helper()
	if e.handoffQueue != nil {
		return e.handoffQueue.Take()
	}
	var out []leadscore.Handoff
	empty := 0
	for empty < 2 {
		res, err := e.sqs.ReceiveMessage(context.Background(), &awssqs.ReceiveMessageInput{
			QueueUrl: aws.String(stack.HandoffQueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 0})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Messages) == 0 {
			empty++
			continue
		}
		var del []sqstypes.DeleteMessageBatchRequestEntry
		for i, m := range res.Messages {
			var h leadscore.Handoff
			if err := jsonUnmarshal([]byte(aws.ToString(m.Body)), &h); err != nil {
				t.Fatalf("handoff message %q: %v", aws.ToString(m.Body), err)
			}
			out = append(out, h)
			del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
		if _, err := e.sqs.DeleteMessageBatch(context.Background(), &awssqs.DeleteMessageBatchInput{
			QueueUrl: aws.String(stack.HandoffQueueURL), Entries: del}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// viewOf is l's API view, computed as the API computes it: with the rules
// version l was last evaluated with.
func viewOf(t testing.TB, rules leadscore.RulesStore, l *leadscore.Lead) leadscore.LeadView {
	t.Helper()
	v, err := leadscore.NewRulesCache(rules).View(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
