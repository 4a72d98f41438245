package main

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/leadscore/leadscore/infra/runtimeapi"
	"github.com/leadscore/leadscore/infra/template"
)

// poller does what Lambda's SQS event source mapping does: long-poll the
// queue, gather up to BatchSize messages within the batching window, invoke
// the function with an SQS event, and delete the messages that did not fail
// (all of them on success without batchItemFailures, none when the
// invocation fails), so failures come back after the visibility timeout and
// reach the DLQ after maxReceiveCount receives, as in AWS.
type poller struct {
	source   template.SQSSource
	queueURL string
	queueARN string
	client   *sqs.Client
	fn       invoker
	log      *slog.Logger
}

func (p *poller) run(ctx context.Context) {
	for ctx.Err() == nil {
		batch, err := p.gather(ctx)
		if err != nil {
			if ctx.Err() == nil {
				p.log.Error("receiving", "queue", p.source.Queue, "error", err.Error())
				sleep(ctx, time.Second)
			}
			continue
		}
		if len(batch) == 0 {
			continue
		}
		p.deliver(ctx, batch)
	}
}

func (p *poller) gather(ctx context.Context) ([]sqstypes.Message, error) {
	var batch []sqstypes.Message
	var deadline time.Time
	for len(batch) < p.source.BatchSize {
		// The emulator holds a long poll open until it has MaxNumberOfMessages
		// or the wait ends, so the batching window is enforced here.
		wait := int32(1)
		want := min(10, p.source.BatchSize-len(batch))
		switch {
		case len(batch) == 0:
			// Long-poll for the first message as Lambda does (20 s): asked
			// for one, the emulator answers the moment it arrives, so an
			// idle queue costs 3 receives a minute and the window starts
			// at the first message.
			want, wait = 1, 20
		case p.source.MaxBatchingWindow == 0:
			// No window: take what else is waiting, at once.
			wait = 0
		default:
			// The emulator waits whole seconds: the window's rest rounded
			// to the nearest one (a batch that fills returns at once).
			left := time.Until(deadline).Round(time.Second)
			if left <= 0 {
				return batch, nil
			}
			wait = int32(min(left/time.Second, 20))
		}
		out, err := p.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:            aws.String(p.queueURL),
			MaxNumberOfMessages: int32(want),
			WaitTimeSeconds:     wait,
			//lint:ignore SA1019 the emulator returns ApproximateReceiveCount only for AttributeNames: [All] (docs/architecture.md); AWS accepts both.
			AttributeNames:        []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
			MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			return batch, err
		}
		if len(batch) == 0 && len(out.Messages) > 0 {
			deadline = time.Now().Add(p.source.MaxBatchingWindow)
		}
		batch = append(batch, out.Messages...)
		if len(batch) == 0 {
			return nil, nil
		}
		if p.source.MaxBatchingWindow == 0 && wait == 0 {
			// The short poll after the first message has taken what was
			// waiting: deliver now.
			break
		}
	}
	return batch, nil
}

func (p *poller) deliver(ctx context.Context, batch []sqstypes.Message) {
	ev := sqsEvent(batch, p.queueARN)
	payload, _ := json.Marshal(ev)
	out, err := p.fn.Invoke(ctx, payload)
	failed := map[string]bool{}
	switch {
	case err != nil:
		p.log.Error("batch failed; every message returns after the visibility timeout",
			"function", p.source.Function, "messages", len(batch), "error", err.Error())
		return
	case p.source.ReportBatchItemFailures:
		var resp events.SQSEventResponse
		if len(out) > 0 && string(out) != "null" {
			if err := json.Unmarshal(out, &resp); err != nil {
				// Lambda treats an unreadable response as a failed batch.
				p.log.Error("unreadable batch response; the batch fails", "function", p.source.Function, "error", err.Error())
				return
			}
		}
		ids := map[string]bool{}
		for _, m := range batch {
			ids[aws.ToString(m.MessageId)] = true
		}
		for _, f := range resp.BatchItemFailures {
			if !ids[f.ItemIdentifier] {
				// An unknown or empty id fails the whole batch, as in AWS.
				p.log.Error("batchItemFailures names an unknown message; the batch fails", "function", p.source.Function, "id", f.ItemIdentifier)
				return
			}
			failed[f.ItemIdentifier] = true
		}
	}
	var entries []sqstypes.DeleteMessageBatchRequestEntry
	for i, m := range batch {
		if failed[aws.ToString(m.MessageId)] {
			continue
		}
		entries = append(entries, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
	}
	for len(entries) > 0 {
		n := min(10, len(entries))
		out, err := p.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.queueURL), Entries: entries[:n]})
		if err != nil {
			p.log.Error("deleting processed messages", "queue", p.source.Queue, "error", err.Error())
		} else {
			for _, f := range out.Failed {
				p.log.Error("deleting a processed message", "queue", p.source.Queue, "code", aws.ToString(f.Code), "error", aws.ToString(f.Message))
			}
		}
		entries = entries[n:]
	}
	p.log.Info("batch", "function", p.source.Function, "messages", len(batch), "failed", len(failed))
}

// sqsEvent is the event Lambda sends for a batch, field for field.
func sqsEvent(batch []sqstypes.Message, queueARN string) events.SQSEvent {
	var ev events.SQSEvent
	for _, m := range batch {
		rec := events.SQSMessage{
			MessageId:              aws.ToString(m.MessageId),
			ReceiptHandle:          aws.ToString(m.ReceiptHandle),
			Body:                   aws.ToString(m.Body),
			Md5OfBody:              aws.ToString(m.MD5OfBody),
			Md5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
			Attributes:             m.Attributes,
			MessageAttributes:      map[string]events.SQSMessageAttribute{},
			EventSourceARN:         queueARN,
			EventSource:            "aws:sqs",
			AWSRegion:              "us-east-1",
		}
		if rec.Md5OfBody == "" {
			sum := md5.Sum([]byte(rec.Body))
			rec.Md5OfBody = hex.EncodeToString(sum[:])
		}
		if rec.Attributes == nil {
			rec.Attributes = map[string]string{}
		}
		for k, v := range m.MessageAttributes {
			rec.MessageAttributes[k] = events.SQSMessageAttribute{
				StringValue: v.StringValue, BinaryValue: v.BinaryValue,
				StringListValues: v.StringListValues, BinaryListValues: v.BinaryListValues,
				DataType: aws.ToString(v.DataType),
			}
		}
		ev.Records = append(ev.Records, rec)
	}
	return ev
}

// scheduler fires a schedule event source on its rate, with the event
// EventBridge Scheduler would send: the template's Input with the context
// attributes filled in, `time` being now.
type scheduler struct {
	schedule template.Schedule
	fn       invoker
	log      *slog.Logger
	now      func() time.Time
}

func (s *scheduler) run(ctx context.Context) {
	t := time.NewTicker(s.schedule.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		payload := scheduledEvent(s.schedule, s.now(), newID())
		if _, err := s.fn.Invoke(ctx, payload); err != nil && ctx.Err() == nil {
			s.log.Error("scheduled invocation failed", "function", s.schedule.Function, "error", err.Error())
			continue
		}
		s.log.Info("schedule fired", "function", s.schedule.Function, "rate", s.schedule.Expression)
	}
}

// scheduledEvent fills the Scheduler context attributes of the template's
// Input; without an Input it is the classic EventBridge scheduled event.
func scheduledEvent(s template.Schedule, now time.Time, id string) []byte {
	arn := "arn:aws:scheduler:us-east-1:123456789012:schedule/default/" + s.Function + "-" + s.Event
	if s.Input == "" {
		b, _ := json.Marshal(map[string]any{
			"version": "0", "id": id, "detail-type": "Scheduled Event", "source": "aws.events",
			"account": "123456789012", "time": now.UTC().Format(time.RFC3339), "region": "us-east-1",
			"resources": []string{arn}, "detail": map[string]any{},
		})
		return b
	}
	repl := map[string]string{
		"<aws.scheduler.scheduled-time>": now.UTC().Format(time.RFC3339),
		"<aws.scheduler.execution-id>":   id,
		"<aws.scheduler.schedule-arn>":   arn,
		"<aws.scheduler.attempt-number>": "1",
	}
	out := s.Input
	for k, v := range repl {
		out = strings.ReplaceAll(out, k, v)
	}
	return []byte(out)
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func asFunctionError(err error) *runtimeapi.FunctionError {
	var fe *runtimeapi.FunctionError
	if errors.As(err, &fe) {
		return fe
	}
	return nil
}

func errorType(err error) string {
	if fe := asFunctionError(err); fe != nil {
		return fe.Type
	}
	return "Local.InvokeError"
}
