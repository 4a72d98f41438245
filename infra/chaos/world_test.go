package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/leadscore/leadscore/infra/emulators"
	"github.com/leadscore/leadscore/infra/faults"
	"github.com/leadscore/leadscore/infra/wire"
	"github.com/leadscore/leadscore/shared/api"
	"github.com/leadscore/leadscore/shared/config"
	"github.com/leadscore/leadscore/shared/dynamodb"
	"github.com/leadscore/leadscore/shared/handoff"
	"github.com/leadscore/leadscore/shared/ingest"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/logging"
	"github.com/leadscore/leadscore/shared/metrics"
	"github.com/leadscore/leadscore/shared/score"
	"github.com/leadscore/leadscore/shared/sqs"
	"github.com/leadscore/leadscore/shared/sweep"
	"github.com/leadscore/leadscore/shared/webhook"
)

var stack *emulators.Stack

func TestMain(m *testing.M) { emulators.RunTests(m, &stack) }

const (
	apiKey        = "chaos-test-api-key-0123456789"
	webhookSecret = "chaos-test-webhook-secret-0123456789"
	// Function labels: the template's logical ids, so recorded calls can be
	// checked against each function's policy.
	fnIngest  = wire.IngestFunction
	fnAPI     = wire.APIFunction
	fnScore   = wire.ScoreFunction
	fnSweep   = wire.SweepFunction
	fnHandoff = wire.HandoffFunction
)

// clock is the simulated time every handler reads. It only moves forward,
// a sweep at a time, so due work (outbox resends) comes due in seconds.
type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) time.Time {
	return time.Unix(0, c.ns.Add(int64(d))).UTC()
}

// logSink collects every log line of every handler, per function.
type logSink struct {
	mu    sync.Mutex
	lines map[string][]string
}

type fnWriter struct {
	s  *logSink
	fn string
}

func (w fnWriter) Write(b []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if l != "" {
			w.s.lines[w.fn] = append(w.s.lines[w.fn], l)
		}
	}
	return len(b), nil
}

// receiver is the CRM: it verifies every signature, fails a share of
// requests, and dedupes by transition_id.
type receiver struct {
	failRate float64
	mu       sync.Mutex
	rnd      *rand.Rand
	posts    int
	failed   int
	badSig   int
	badKey   int
	seen     map[string]int // transition_id -> times processed after dedupe (must stay 1)
	posted   map[string]int // transition_id -> posts received
	dupes    int            // deliveries deduped
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.posts++
	if err := webhook.Verify(webhookSecret, req.Header.Get(webhook.HeaderTimestamp), req.Header.Get(webhook.HeaderSignature),
		body, time.Now(), webhook.DefaultMaxAge); err != nil {
		r.badSig++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var msg struct {
		TransitionID string `json:"transition_id"`
	}
	if err := json.Unmarshal(body, &msg); err != nil || msg.TransitionID == "" {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	// A transition's first post fails at failRate, later ones never: each
	// 503 costs the message a receive and a ChangeMessageVisibility, which
	// local-aws-sqs counts as a second receive (AWS does not), so repeated
	// 503s would push a good message into the DLQ only on the emulator.
	if r.posted[msg.TransitionID]++; r.posted[msg.TransitionID] == 1 && r.rnd.Float64() < r.failRate {
		r.failed++
		http.Error(w, "receiver down", http.StatusServiceUnavailable)
		return
	}
	if req.Header.Get(webhook.HeaderIdempotencyKey) != msg.TransitionID {
		r.badKey++
	}
	if r.seen[msg.TransitionID] > 0 {
		r.dupes++
		w.WriteHeader(http.StatusOK) // already processed: acknowledge, do nothing
		return
	}
	r.seen[msg.TransitionID]++
	w.WriteHeader(http.StatusOK)
}

// world is the five functions wired as functions/*/main.go wires them, each
// with its own fault-injecting clients.
type world struct {
	t       testing.TB
	inj     *faults.Injector
	clock   *clock
	logs    *logSink
	raw     *awssqs.Client  // the event source mapping's own client: no faults
	rawDDB  *dynamodb.Store // the test's view of the table: no faults
	ingest  *ingest.Handler
	api     *api.Handler
	score   *score.Handler
	sweep   *sweep.Handler
	handoff *handoff.Handler
	recv    *receiver
	srv     *httptest.Server
}

func newWorld(t testing.TB, fc faults.Config, receiverFailRate float64, start time.Time) *world {
	t.Helper()
	emulators.Need(t)
	ctx := context.Background()
	if err := stack.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	cfg, err := stack.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The SDK's standard retryer, as in Lambda, minus its client-wide retry
	// quota: here one client stands for many Lambda containers, each of
	// which has its own quota in AWS.
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.RateLimiter = ratelimit.None
			// Time is compressed: jittered backoff of up to 50 ms << attempt
			// instead of the SDK's up to 1 s << attempt.
			o.Backoff = retry.BackoffDelayerFunc(func(attempt int, _ error) (time.Duration, error) {
				return time.Duration(rand.Int64N(int64(50*time.Millisecond) << attempt)), nil
			})
		})
	}
	w := &world{t: t, inj: faults.New(fc), clock: &clock{}, logs: &logSink{lines: map[string][]string{}},
		recv: &receiver{failRate: receiverFailRate, rnd: rand.New(rand.NewPCG(fc.Seed, 7)), seen: map[string]int{}, posted: map[string]int{}}}
	w.clock.ns.Store(start.UnixNano())
	w.srv = httptest.NewServer(w.recv)
	t.Cleanup(w.srv.Close)
	w.raw = awssqs.NewFromConfig(cfg)
	w.rawDDB = dynamodb.New(awsdynamodb.NewFromConfig(cfg), stack.TableName)

	hs, err := wire.Build(wire.Deps{
		Table: stack.TableName, ScoreQueueURL: stack.ScoreQueueURL, HandoffQueueURL: stack.HandoffQueueURL,
		DynamoDB: func(fn string) dynamodb.API {
			return &faults.DynamoDB{Client: awsdynamodb.NewFromConfig(cfg), In: w.inj, Label: fn}
		},
		SQS:     func(fn string) sqs.API { return &faults.SQS{Client: awssqs.NewFromConfig(cfg), In: w.inj, Label: fn} },
		Logger:  func(fn string) *slog.Logger { return logging.New(fnWriter{w.logs, fn}, fn, "debug") },
		Metrics: func(fn string) *metrics.Recorder { return metrics.New(io.Discard, fn) },
		Now:     w.clock.Now,
		APIKey:  apiKey,
		Webhooks: config.Config{WebhookURLSales: w.srv.URL + "/sales", WebhookURLNurture: w.srv.URL + "/nurture",
			WebhookSecret: webhookSecret, Local: true},
		EventRetention:   400 * 24 * time.Hour,
		HandoffRetryBase: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.ingest, w.api, w.score, w.sweep, w.handoff = hs.Ingest, hs.API, hs.Score, hs.Sweep, hs.Handoff
	return w
}

// post sends one POST /v1/events through the ingest handler under a kill
// point, and returns the status a client would see (a dead function is a
// 502 from API Gateway).
func (w *world) post(ctx context.Context, body []byte, killBudget int) int {
	req := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "POST /v1/events", RawPath: "/v1/events",
		Headers: map[string]string{"x-api-key": apiKey, "content-type": "application/json"},
		Body:    string(body),
		RequestContext: events.APIGatewayV2HTTPRequestContext{RouteKey: "POST /v1/events", RequestID: "req-" + strconv.FormatInt(rand.Int64(), 36),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/v1/events"}},
	}
	kctx, kill := faults.WithKill(ctx, killBudget)
	resp, _ := w.ingest.Handle(kctx, req)
	if kill.Fired() {
		return http.StatusBadGateway
	}
	return resp.StatusCode
}

// pump is one poller of Lambda's SQS event source mapping: receive a
// batch, invoke, delete what succeeded. It also plays the faults SQS and
// Lambda add on their own: messages held back (reordering), messages
// delivered again although processed (a lost delete), and invocations that
// die (abandoned without a response: the whole batch comes back).
// Injected mischief stops at the third receive, so only poison reaches a
// dead-letter queue (maxReceiveCount is 5). Messages are received with a
// visibility timeout of a few seconds instead of the queue's 180 s, so
// whatever is not deleted comes back soon: compressed time, without a
// ChangeMessageVisibility (which local-aws-sqs counts as a receive).
type pump struct {
	w        *world
	queueURL string
	arn      string
	invoke   func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)
	killRate float64
	// mischiefBelow: holds, redeliveries and kills only while a message
	// has been received fewer times than this (0 means 3). The handoff
	// pumps use 2: the handoff handler's own ChangeMessageVisibility also
	// counts as a receive in local-aws-sqs (not in AWS).
	mischiefBelow int
	rnd           *rand.Rand

	invocations, killed, heldBack, redelivered, itemFailures atomic.Int64
}

func (p *pump) once(ctx context.Context) (int, error) {
	out, err := p.w.raw.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{
		QueueUrl: aws.String(p.queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 6,
		//lint:ignore SA1019 the emulator returns ApproximateReceiveCount only for AttributeNames: [All] (docs/architecture.md); AWS accepts both.
		AttributeNames:        []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
		MessageAttributeNames: []string{"All"},
	})
	if err != nil {
		return 0, err
	}
	if len(out.Messages) == 0 {
		return 0, nil
	}
	var ev events.SQSEvent
	below := p.mischiefBelow
	if below == 0 {
		below = 3
	}
	maxCount := 0
	for _, m := range out.Messages {
		n, _ := strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
		if n == 1 && below > 1 && p.rnd.Float64() < 0.1 {
			p.heldBack.Add(1) // not invoked, not deleted: delivered later, out of order
			continue
		}
		maxCount = max(maxCount, n)
		attrs := map[string]string{}
		for k, v := range m.Attributes {
			attrs[k] = v
		}
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
			Body: aws.ToString(m.Body), Attributes: attrs, EventSource: "aws:sqs", EventSourceARN: p.arn, AWSRegion: emulators.Region})
	}
	if len(ev.Records) == 0 {
		return len(out.Messages), nil
	}
	p.rnd.Shuffle(len(ev.Records), func(i, j int) { ev.Records[i], ev.Records[j] = ev.Records[j], ev.Records[i] })
	budget := -1
	if maxCount < below && p.rnd.Float64() < p.killRate {
		budget = p.rnd.IntN(12)
	}
	kctx, kill := faults.WithKill(ctx, budget)
	p.invocations.Add(1)
	resp, err := p.invoke(kctx, ev)
	if kill.Fired() || err != nil {
		// Died: nothing is deleted; the visibility timeout brings the whole
		// batch back.
		p.killed.Add(1)
		return len(out.Messages), nil
	}
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
		p.itemFailures.Add(1)
	}
	var del []sqstypes.DeleteMessageBatchRequestEntry
	for i, r := range ev.Records {
		if failed[r.MessageId] {
			continue
		}
		if n, _ := strconv.Atoi(r.Attributes["ApproximateReceiveCount"]); n < below && p.rnd.Float64() < 0.05 {
			p.redelivered.Add(1) // as if the delete was lost
			continue
		}
		del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(r.ReceiptHandle)})
	}
	if len(del) > 0 {
		if _, err := p.w.raw.DeleteMessageBatch(ctx, &awssqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.queueURL), Entries: del}); err != nil {
			return 0, err
		}
	}
	return len(out.Messages), nil
}

func (p *pump) run(ctx context.Context, wg *sync.WaitGroup) {
	defer wg.Done()
	for ctx.Err() == nil {
		if _, err := p.once(ctx); err != nil && ctx.Err() == nil {
			p.w.t.Logf("pump %s: %v", p.queueURL, err)
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// queueDepth is visible + in flight + delayed messages of a queue.
func (w *world) queueDepth(ctx context.Context, url string) int {
	out, err := w.raw.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible, sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed}})
	if err != nil {
		w.t.Fatalf("queue attributes of %s: %v", url, err)
	}
	n := 0
	for _, v := range out.Attributes {
		k, _ := strconv.Atoi(v)
		n += k
	}
	return n
}

// drainBodies receives and deletes everything on a queue (the DLQs).
func (w *world) drainBodies(ctx context.Context, url string) []string {
	var bodies []string
	for {
		out, err := w.raw.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 0})
		if err != nil {
			w.t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			return bodies
		}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
			_, _ = w.raw.DeleteMessage(ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle})
		}
	}
}

func jsonBody(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return b.Bytes()
}

func newRand() *rand.Rand { return rand.New(rand.NewPCG(5, 6)) }

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
