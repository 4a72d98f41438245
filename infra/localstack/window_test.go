package main

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/leadscore/leadscore/infra/emulators"
	"github.com/leadscore/leadscore/infra/template"
)

// TestZeroWindowTakesTheWaitingBacklogInOneBatch: a source with no batching
// window (the urgent score queue) asks for one message so a lone hand-raise
// is not held by the emulator's long poll, yet a backlog still arrives as one
// batch rather than one message per invocation.
func TestZeroWindowTakesTheWaitingBacklogInOneBatch(t *testing.T) {
	st, err := emulators.Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Stop()
	sources, err := st.Template.SQSSources()
	if err != nil {
		t.Fatal(err)
	}
	var src template.SQSSource
	for _, s := range sources {
		if s.Queue == "UrgentScoreQueue" {
			src = s
		}
	}
	if src.Queue == "" || src.MaxBatchingWindow != 0 {
		t.Fatalf("template.yaml has no urgent score source without a batching window: %+v", src)
	}
	url := st.QueueURLs[src.Queue]
	for _, body := range []string{"a", "b", "c", "d"} {
		if _, err := st.SQS().SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	p := &poller{source: src, queueURL: url, client: st.SQS(), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	batch, err := p.gather(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(batch) != 4 {
		t.Fatalf("gathered %d messages, want the 4 waiting", len(batch))
	}
}

// TestWindowGathersWhatArrivesAfterTheFirstMessage: with a batching window
// the batch holds the messages that land within it after the first, as
// Lambda's does; the window starts when the first message is received.
func TestWindowGathersWhatArrivesAfterTheFirstMessage(t *testing.T) {
	st, err := emulators.Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Stop()
	url := st.QueueURLs["ScoreQueue"]
	send := func(body string) {
		if _, err := st.SQS().SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)}); err != nil {
			t.Error(err)
		}
	}
	src := template.SQSSource{Queue: "ScoreQueue", BatchSize: 100, MaxBatchingWindow: 2 * time.Second}
	p := &poller{source: src, queueURL: url, client: st.SQS(), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	send("first")
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Well inside the 2 s window, however slow the machine.
		time.Sleep(200 * time.Millisecond)
		send("second")
		send("third")
	}()
	batch, err := p.gather(t.Context())
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if len(batch) != 3 {
		t.Fatalf("gathered %d messages, want the 3 sent within the window", len(batch))
	}
}
