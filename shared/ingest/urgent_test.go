package ingest

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/mock"
	lssqs "github.com/leadscore/leadscore/shared/sqs"
)

// TestHandRaisesTakeTheUrgentQueue: the rules' instant_on types (a demo
// request here) go to the urgent score queue, read with no batching window;
// a page view in the same request waits on the score queue.
func TestHandRaisesTakeTheUrgentQueue(t *testing.T) {
	needEmulators(t)
	urgentURL := stack.QueueURLs["UrgentScoreQueue"]
	e := newEnv(t, func(o *Options) {
		o.Queue = o.Queue.(*lssqs.Queues).WithUrgentQueue(urgentURL)
	})
	body := `{"events":[
	  {"event_id":"pv-1","type":"page_view","email":"ada@example.com","occurred_at":"2026-11-22T10:14:00Z","properties":{"url":"/pricing"}},
	  {"event_id":"dr-1","type":"demo_request","email":"ada@example.com","occurred_at":"2026-11-22T10:14:30Z"}]}`
	resp := e.do(t, withBody(load(t, "post-event.json"), body, false))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
	}
	if got := e.received(t, 1); got[0].msg.Event.EventID != "pv-1" {
		t.Errorf("score queue holds %s, want the page view", got[0].msg.Event.EventID)
	}
	res, err := e.sqs.ReceiveMessage(t.Context(), &awssqs.ReceiveMessageInput{QueueUrl: aws.String(urgentURL),
		MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Messages) != 1 {
		t.Fatalf("urgent queue holds %d messages, want the demo request", len(res.Messages))
	}
	var m leadscore.ScoreMessage
	if err := json.Unmarshal([]byte(aws.ToString(res.Messages[0].Body)), &m); err != nil || m.Event.EventID != "dr-1" || m.LeadID != leadscore.LeadID("ada@example.com") {
		t.Errorf("urgent message %s (%v), want dr-1 for ada", aws.ToString(res.Messages[0].Body), err)
	}
}

// TestHandRaisesAreMarkedUrgent: whatever queue carries them, the rules'
// instant_on types are marked Urgent and the rest are not.
func TestHandRaisesAreMarkedUrgent(t *testing.T) {
	q := &mock.ScoreQueue{} // the flag is not part of the message body
	e := newEnv(t, func(o *Options) { o.Queue = q })
	body := `{"events":[
	  {"event_id":"pv-1","type":"page_view","email":"ada@example.com","occurred_at":"2026-11-22T10:14:00Z"},
	  {"event_id":"dr-1","type":"demo_request","email":"ada@example.com","occurred_at":"2026-11-22T10:14:30Z"}]}`
	if resp := e.do(t, withBody(load(t, "post-event.json"), body, false)); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
	}
	sent := q.Take()
	if len(sent) != 2 {
		t.Fatalf("queued %d messages, want 2", len(sent))
	}
	for _, m := range sent {
		if want := m.Event.Type == "demo_request"; m.Urgent != want {
			t.Errorf("%s: urgent %v, want %v", m.Event.EventID, m.Urgent, want)
		}
	}
}
