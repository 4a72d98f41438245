package sqs

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/leadscore/leadscore/infra/emulators"
	"github.com/leadscore/leadscore/infra/faults"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

var stack *emulators.Stack

func TestMain(m *testing.M) { emulators.RunTests(m, &stack) }

// fresh empties the queues and returns a real SQS client of the emulator.
func fresh(t *testing.T) *awssqs.Client {
	t.Helper()
	emulators.Need(t)
	if err := stack.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	cfg, err := stack.AWSConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return awssqs.NewFromConfig(cfg)
}

type received struct {
	body   string
	leadID string
}

// drain receives until want messages arrived or the queue stays empty for
// three long polls, deleting what it receives.
func drain(t *testing.T, c *awssqs.Client, url string, want int) []received {
	t.Helper()
	var out []received
	for empty := 0; len(out) < want && empty < 3; {
		res, err := c.ReceiveMessage(t.Context(), &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url),
			MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatalf("ReceiveMessage from %s: %v", url, err)
		}
		if len(res.Messages) == 0 {
			empty++
		}
		for _, m := range res.Messages {
			out = append(out, received{body: aws.ToString(m.Body), leadID: aws.ToString(m.MessageAttributes[AttrLeadID].StringValue)})
			if _, err := c.DeleteMessage(t.Context(), &awssqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}

func scoreMessages(n int, bodyPad int) []leadscore.ScoreMessage {
	msgs := make([]leadscore.ScoreMessage, n)
	for i := range msgs {
		ev := &scoring.Event{EventID: "ev-" + strconv.Itoa(i), Type: "page_view", AnonymousID: "anon-" + strconv.Itoa(i%3),
			OccurredAt: time.Date(2026, 11, 22, 10, 15, i, 0, time.UTC),
			Properties: map[string]any{"url": "/pricing", "pad": strings.Repeat("x", bodyPad)}}
		msgs[i] = leadscore.ScoreMessage{Kind: leadscore.KindEvent, LeadID: leadscore.SubjectID(ev), Event: ev}
	}
	return msgs
}

func TestEnqueueScoreSendsBatchesOfTenWithLeadID(t *testing.T) {
	c := fresh(t)
	f := &faults.RefusingSQS{BatchSender: c}
	q := NewQueuesFrom(f, stack.ScoreQueueURL, stack.HandoffQueueURL)
	msgs := scoreMessages(25, 10)
	failed, err := q.EnqueueScore(t.Context(), msgs)
	if err != nil || len(failed) != 0 {
		t.Fatalf("EnqueueScore: failed=%v err=%v", failed, err)
	}
	if !slices.Equal(f.Sizes(), []int{10, 10, 5}) {
		t.Errorf("SendMessageBatch entry counts = %v, want [10 10 5]", f.Sizes())
	}
	got := drain(t, c, stack.ScoreQueueURL, 25)
	if len(got) != 25 {
		t.Fatalf("received %d messages, want 25", len(got))
	}
	seen := map[string]bool{}
	for _, r := range got {
		var m leadscore.ScoreMessage
		if err := json.Unmarshal([]byte(r.body), &m); err != nil {
			t.Fatalf("body %q is not a ScoreMessage: %v", r.body, err)
		}
		if r.leadID != m.LeadID || m.LeadID != leadscore.SubjectID(m.Event) {
			t.Errorf("lead_id attribute %q, body lead_id %q, derived %q: want all equal", r.leadID, m.LeadID, leadscore.SubjectID(m.Event))
		}
		if m.Kind != leadscore.KindEvent || m.Event.Type != "page_view" {
			t.Errorf("message %+v lost its kind or event", m)
		}
		seen[m.Event.EventID] = true
	}
	if len(seen) != 25 {
		t.Errorf("received %d distinct events, want 25", len(seen))
	}
}

func TestEnqueueHandoffCarriesLeadID(t *testing.T) {
	c := fresh(t)
	q := NewQueues(c, stack.ScoreQueueURL, stack.HandoffQueueURL)
	hs := []leadscore.Handoff{
		{TransitionID: "tr_1", Type: "lead.mql", RulesVersion: 3, Lead: leadscore.LeadView{LeadID: "ld_aaa", Stage: scoring.StageMQL}},
		{TransitionID: "tr_2", Type: "lead.nurture", RulesVersion: 3, Lead: leadscore.LeadView{LeadID: "ld_bbb", Stage: scoring.StageNurture}},
	}
	if failed, err := q.EnqueueHandoff(t.Context(), hs); err != nil || len(failed) != 0 {
		t.Fatalf("EnqueueHandoff: failed=%v err=%v", failed, err)
	}
	got := drain(t, c, stack.HandoffQueueURL, 2)
	byLead := map[string]leadscore.Handoff{}
	for _, r := range got {
		var h leadscore.Handoff
		if err := json.Unmarshal([]byte(r.body), &h); err != nil {
			t.Fatal(err)
		}
		if h.Lead.LeadID != r.leadID {
			t.Errorf("lead_id attribute %q differs from the body's %q", r.leadID, h.Lead.LeadID)
		}
		byLead[r.leadID] = h
	}
	if byLead["ld_aaa"].TransitionID != "tr_1" || byLead["ld_bbb"].TransitionID != "tr_2" {
		t.Errorf("received %+v, want tr_1 for ld_aaa and tr_2 for ld_bbb", byLead)
	}
}

func TestRefusedEntries(t *testing.T) {
	tests := []struct {
		name        string
		refuse      func(call int, id string) bool
		senderFault bool
		wantFailed  []int
		wantCalls   int
	}{
		{name: "refused once, then sent", wantCalls: 3, // 2 batches + 1 retry
			refuse: func(call int, id string) bool { return call == 1 && (id == "3" || id == "7") }},
		{name: "refused on every attempt", wantFailed: []int{12}, wantCalls: 2 + 2, // 2 batches + 2 retries
			refuse: func(_ int, id string) bool { return id == "12" }},
		{name: "sender fault is not retried", senderFault: true, wantFailed: []int{4}, wantCalls: 2,
			refuse: func(_ int, id string) bool { return id == "4" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := fresh(t)
			f := &faults.RefusingSQS{BatchSender: c, Refuse: byID(tc.refuse), SenderFault: tc.senderFault}
			q := NewQueuesFrom(f, stack.ScoreQueueURL, stack.HandoffQueueURL)
			q.backoff = []time.Duration{time.Millisecond, time.Millisecond}
			msgs := scoreMessages(15, 10)
			failed, err := q.EnqueueScore(t.Context(), msgs)
			if !slices.Equal(failed, tc.wantFailed) {
				t.Errorf("failed = %v, want %v", failed, tc.wantFailed)
			}
			if (err != nil) != (len(tc.wantFailed) > 0) {
				t.Errorf("err = %v, want an error exactly when something failed", err)
			}
			if f.Calls() != tc.wantCalls {
				t.Errorf("SendMessageBatch calls = %d, want %d", f.Calls(), tc.wantCalls)
			}
			got := drain(t, c, stack.ScoreQueueURL, 15)
			ids := map[string]int{}
			for _, r := range got {
				var m leadscore.ScoreMessage
				if err := json.Unmarshal([]byte(r.body), &m); err != nil {
					t.Fatal(err)
				}
				ids[m.Event.EventID]++
			}
			for i := range msgs {
				want := 1
				if slices.Contains(tc.wantFailed, i) {
					want = 0
				}
				if ids[msgs[i].Event.EventID] != want {
					t.Errorf("message %d arrived %d times, want %d", i, ids[msgs[i].Event.EventID], want)
				}
			}
		})
	}
}

func TestBatchesStayUnderTheSizeLimit(t *testing.T) {
	c := fresh(t)
	f := &faults.RefusingSQS{BatchSender: c}
	q := NewQueuesFrom(f, stack.ScoreQueueURL, stack.HandoffQueueURL)
	msgs := scoreMessages(5, 100*1024)
	msgs = append(msgs, scoreMessages(1, MaxBatchBytes)...) // alone over the limit
	msgs[5].Event.EventID = "too-big"
	failed, err := q.EnqueueScore(t.Context(), msgs)
	if !slices.Equal(failed, []int{5}) || err == nil || !strings.Contains(err.Error(), "over the SQS limit") {
		t.Fatalf("failed=%v err=%v, want [5] and an error naming the size limit", failed, err)
	}
	// Two 100 KiB messages fit in 256 KiB, three do not.
	if !slices.Equal(f.Sizes(), []int{2, 2, 1}) {
		t.Errorf("SendMessageBatch entry counts = %v, want [2 2 1]", f.Sizes())
	}
	if got := drain(t, c, stack.ScoreQueueURL, 5); len(got) != 5 {
		t.Errorf("received %d messages, want 5", len(got))
	}
}

func TestExtendVisibility(t *testing.T) {
	c := fresh(t)
	q := NewQueues(c, stack.ScoreQueueURL, stack.HandoffQueueURL)
	url := stack.HandoffQueueURL
	if _, err := c.SendMessage(t.Context(), &awssqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(`{"transition_id":"tr_x"}`)}); err != nil {
		t.Fatal(err)
	}
	receive := func() *types.Message {
		res, err := c.ReceiveMessage(t.Context(), &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 1, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Messages) == 0 {
			return nil
		}
		return &res.Messages[0]
	}
	m := receive()
	if m == nil {
		t.Fatal("the message sent was not received")
	}
	// Zero makes it visible again at once: the next receive gets it.
	if err := q.ExtendVisibility(t.Context(), url, aws.ToString(m.ReceiptHandle), 0); err != nil {
		t.Fatal(err)
	}
	m = receive()
	if m == nil {
		t.Fatal("after ExtendVisibility(0) the message was not received again")
	}
	// An hour hides it: the next long poll comes back empty.
	if err := q.ExtendVisibility(t.Context(), url, aws.ToString(m.ReceiptHandle), time.Hour); err != nil {
		t.Fatal(err)
	}
	if again := receive(); again != nil {
		t.Errorf("after ExtendVisibility(1h) the message was received again: %s", aws.ToString(again.Body))
	}
	err := q.ExtendVisibility(t.Context(), url, "not-a-receipt-handle", time.Minute)
	if err == nil || !strings.Contains(err.Error(), url) {
		t.Errorf("ExtendVisibility with a bad handle: err = %v, want an error naming the queue", err)
	}
}

// byID adapts a refusal decided on the entry id, which these tests know.
func byID(refuse func(call int, id string) bool) func(int, types.SendMessageBatchRequestEntry) bool {
	if refuse == nil {
		return nil
	}
	return func(call int, e types.SendMessageBatchRequestEntry) bool { return refuse(call, aws.ToString(e.Id)) }
}
