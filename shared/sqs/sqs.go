// Package sqs puts work on the score and handoff queues. It implements
// leadscore.ScoreQueue and leadscore.HandoffQueue over SendMessageBatch, so a
// request of n messages costs ceil(n/10) calls, and it retries the entries SQS
// refuses so a caller only ever has to deal with what is still unsent.
package sqs

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/leadscore/leadscore/shared/leadscore"
)

const (
	// MaxBatchEntries is SQS's limit of entries per SendMessageBatch.
	MaxBatchEntries = 10
	// MaxBatchBytes is SQS's limit on the summed size of one batch (bodies,
	// attribute names, types and values), and so also on one message. Queues
	// may be configured larger; 256 KiB is the default every queue accepts.
	MaxBatchBytes = 256 * 1024
	// AttrLeadID is the message attribute naming the lead (or, for account
	// messages and transitions, the account) a message is about,
	// so consumers and operators can see it without parsing the body.
	AttrLeadID = "lead_id"
	// maxVisibility is SQS's upper bound for a visibility timeout (12 hours).
	maxVisibility = 12 * time.Hour
)

// API is the part of the SQS client this package uses; *sqs.Client has it.
type API interface {
	SendMessageBatch(ctx context.Context, in *awssqs.SendMessageBatchInput, optFns ...func(*awssqs.Options)) (*awssqs.SendMessageBatchOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *awssqs.ChangeMessageVisibilityInput, optFns ...func(*awssqs.Options)) (*awssqs.ChangeMessageVisibilityOutput, error)
}

// Queues sends to the score and handoff queues.
type Queues struct {
	client     API
	scoreURL   string
	handoffURL string
	// urgentURL, when set, receives the score messages marked Urgent.
	urgentURL string
	// accountURL, when set, receives the account messages.
	accountURL string
	// backoff is the pause before each retry of refused entries; its length
	// is the number of retries. Short, because a caller (the ingest API) is
	// waiting with a client on the line.
	backoff []time.Duration
}

var (
	_ leadscore.ScoreQueue   = (*Queues)(nil)
	_ leadscore.HandoffQueue = (*Queues)(nil)
)

// NewQueues returns Queues sending through client. Build the client once per
// process (outside the handler) and share it.
func NewQueues(client *awssqs.Client, scoreQueueURL, handoffQueueURL string) *Queues {
	return NewQueuesFrom(client, scoreQueueURL, handoffQueueURL)
}

// NewQueuesFrom is NewQueues over any API, such as a fault-injecting wrapper
// around the real client in tests.
func NewQueuesFrom(client API, scoreQueueURL, handoffQueueURL string) *Queues {
	return &Queues{client: client, scoreURL: scoreQueueURL, handoffURL: handoffQueueURL,
		backoff: []time.Duration{25 * time.Millisecond, 100 * time.Millisecond}}
}

// WithUrgentQueue sends the score messages marked Urgent to url (the urgent
// score queue, read with no batching window) instead of the score queue.
// An empty url keeps every message on the score queue.
func (q *Queues) WithUrgentQueue(url string) *Queues {
	q.urgentURL = url
	return q
}

// WithAccountQueue sends the account messages (leadscore.KindAccount) to
// url, the account queue, whose batching window coalesces an account's
// evaluations. An empty url keeps them on the score queue.
func (q *Queues) WithAccountQueue(url string) *Queues {
	q.accountURL = url
	return q
}

// queueOf is the queue message m goes to.
func (q *Queues) queueOf(m *leadscore.ScoreMessage) string {
	switch {
	case m.Urgent && q.urgentURL != "":
		return q.urgentURL
	case m.Kind == leadscore.KindAccount && q.accountURL != "":
		return q.accountURL
	default:
		return q.scoreURL
	}
}

// EnqueueScore sends msgs to the score queue (urgent ones to the urgent
// queue and account messages to the account queue, when there are such
// queues), each with the lead_id attribute. It returns the indexes of msgs
// that could not be sent after retries; err says why when there are any.
func (q *Queues) EnqueueScore(ctx context.Context, msgs []leadscore.ScoreMessage) ([]int, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	byQueue := map[string][]int{}
	for i := range msgs {
		url := q.queueOf(&msgs[i])
		byQueue[url] = append(byQueue[url], i)
	}
	if len(byQueue) == 1 {
		return q.enqueueScore(ctx, q.queueOf(&msgs[0]), msgs)
	}
	var failed []int
	var errs []error
	// Hand-raises first: a lead waiting for sales goes before the rest.
	for _, url := range []string{q.urgentURL, q.accountURL, q.scoreURL} {
		indexes := byQueue[url]
		if len(indexes) == 0 {
			continue
		}
		delete(byQueue, url)
		sub := make([]leadscore.ScoreMessage, len(indexes))
		for j, i := range indexes {
			sub[j] = msgs[i]
		}
		f, err := q.enqueueScore(ctx, url, sub)
		for _, j := range f {
			failed = append(failed, indexes[j])
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	slices.Sort(failed)
	return failed, errors.Join(errs...)
}

func (q *Queues) enqueueScore(ctx context.Context, url string, msgs []leadscore.ScoreMessage) ([]int, error) {
	out := make([]outgoing, len(msgs))
	for i := range msgs {
		body, err := json.Marshal(&msgs[i])
		if err != nil {
			// A ScoreMessage holds only JSON-safe values; failing here means
			// a NaN or Inf slipped into an event, which no retry would fix.
			out[i].err = fmt.Errorf("encode score message %d for lead %s: %w", i, msgs[i].LeadID, err)
			continue
		}
		out[i] = outgoing{body: string(body), leadID: cmp.Or(msgs[i].LeadID, msgs[i].AccountID), delay: delaySeconds(msgs[i].Delay)}
	}
	return q.send(ctx, url, out)
}

// EnqueueHandoff sends hs to the handoff queue, each with the lead_id
// attribute. It returns the indexes of hs not sent after retries.
func (q *Queues) EnqueueHandoff(ctx context.Context, hs []leadscore.Handoff) ([]int, error) {
	out := make([]outgoing, len(hs))
	for i := range hs {
		body, err := json.Marshal(&hs[i])
		if err != nil {
			out[i].err = fmt.Errorf("encode handoff %s for lead %s: %w", hs[i].TransitionID, hs[i].Subject(), err)
			continue
		}
		out[i] = outgoing{body: string(body), leadID: hs[i].Subject()}
	}
	return q.send(ctx, q.handoffURL, out)
}

// ExtendVisibility sets the visibility timeout of a received message to d
// from now (rounded up to whole seconds, capped at SQS's 12 hours), which is
// how the handoff function spaces out its retries of a failing webhook.
func (q *Queues) ExtendVisibility(ctx context.Context, queueURL, receiptHandle string, d time.Duration) error {
	if d < 0 {
		d = 0
	}
	if d > maxVisibility {
		d = maxVisibility
	}
	secs := int32(math.Ceil(d.Seconds()))
	_, err := q.client.ChangeMessageVisibility(ctx, &awssqs.ChangeMessageVisibilityInput{
		QueueUrl:          aws.String(queueURL),
		ReceiptHandle:     aws.String(receiptHandle),
		VisibilityTimeout: secs,
	})
	if err != nil {
		return fmt.Errorf("change visibility of a message on %s to %ds: %w", queueURL, secs, err)
	}
	return nil
}

// outgoing is one message to send; err is set when it cannot be sent at all.
type outgoing struct {
	body   string
	leadID string
	// delay is the message's DelaySeconds (0: none).
	delay int32
	err   error
}

// maxDelay is SQS's longest DelaySeconds.
const maxDelay = 15 * time.Minute

// delaySeconds is d as DelaySeconds: rounded up to a whole second (a
// delay is a "not before"), at most SQS's 15 minutes.
func delaySeconds(d time.Duration) int32 {
	if d <= 0 {
		return 0
	}
	return int32((min(d, maxDelay) + time.Second - 1) / time.Second)
}

func (o outgoing) size() int {
	// The batch limit counts the body and every attribute's name, data type
	// and value.
	return len(o.body) + len(AttrLeadID) + len("String") + len(o.leadID)
}

// send sends every message of out in batches and returns the indexes still
// unsent; the error joins the reasons (one per failed call or entry kind).
func (q *Queues) send(ctx context.Context, queueURL string, out []outgoing) ([]int, error) {
	var failed []int
	var errs []error
	var batch []int
	batchBytes := 0
	flush := func() {
		if len(batch) == 0 {
			return
		}
		f, err := q.sendBatch(ctx, queueURL, out, batch)
		failed = append(failed, f...)
		if err != nil {
			errs = append(errs, err)
		}
		batch, batchBytes = batch[:0], 0
	}
	for i, o := range out {
		if o.err != nil {
			failed = append(failed, i)
			errs = append(errs, o.err)
			continue
		}
		n := o.size()
		if n > MaxBatchBytes {
			failed = append(failed, i)
			errs = append(errs, fmt.Errorf("message %d for lead %s is %d bytes, over the SQS limit of %d", i, o.leadID, n, MaxBatchBytes))
			continue
		}
		if len(batch) == MaxBatchEntries || batchBytes+n > MaxBatchBytes {
			flush()
		}
		batch = append(batch, i)
		batchBytes += n
	}
	flush()
	if len(failed) == 0 {
		return nil, nil
	}
	slices.Sort(failed)
	return failed, errors.Join(errs...)
}

// sendBatch sends the messages out[idx...] in one SendMessageBatch, retrying
// refused entries that were not the sender's fault, and returns the indexes
// still unsent.
func (q *Queues) sendBatch(ctx context.Context, queueURL string, out []outgoing, idx []int) ([]int, error) {
	pending := append([]int(nil), idx...)
	var settled []int // refused for the sender's fault: never retried
	var lastErr error
	for attempt := 0; ; attempt++ {
		entries := make([]types.SendMessageBatchRequestEntry, len(pending))
		for j, i := range pending {
			entries[j] = types.SendMessageBatchRequestEntry{
				// The entry id is the index in the caller's slice, so a
				// refused entry maps straight back to its message.
				Id:          aws.String(strconv.Itoa(i)),
				MessageBody: aws.String(out[i].body),
				MessageAttributes: map[string]types.MessageAttributeValue{
					AttrLeadID: {DataType: aws.String("String"), StringValue: aws.String(out[i].leadID)},
				},
				DelaySeconds: out[i].delay,
			}
		}
		res, err := q.client.SendMessageBatch(ctx, &awssqs.SendMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: entries})
		var retry []int
		if err != nil {
			// The SDK has already retried throttling and 5xx answers; one
			// more round of ours costs little and covers a brief outage.
			lastErr = fmt.Errorf("send %d messages to %s: %w", len(pending), queueURL, err)
			retry = pending
		} else {
			for _, f := range res.Failed {
				i, convErr := strconv.Atoi(aws.ToString(f.Id))
				if convErr != nil || !slices.Contains(pending, i) {
					lastErr = fmt.Errorf("send to %s: SQS reported an unknown entry id %q as failed", queueURL, aws.ToString(f.Id))
					continue
				}
				lastErr = fmt.Errorf("send message %d to %s: refused with %s: %s", i, queueURL, aws.ToString(f.Code), aws.ToString(f.Message))
				if f.SenderFault {
					// The message itself is wrong; sending it again cannot help.
					settled = append(settled, i)
				} else {
					retry = append(retry, i)
				}
			}
		}
		if len(retry) == 0 {
			if len(settled) == 0 {
				return nil, nil
			}
			return settled, lastErr
		}
		if attempt >= len(q.backoff) || ctx.Err() != nil {
			return append(settled, retry...), lastErr
		}
		t := time.NewTimer(q.backoff[attempt])
		select {
		case <-ctx.Done():
			t.Stop()
			return append(settled, retry...), errors.Join(lastErr, ctx.Err())
		case <-t.C:
		}
		pending = retry
	}
}
