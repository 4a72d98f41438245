package handoff

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/leadscore/leadscore/shared/config"
	"github.com/leadscore/leadscore/shared/metrics"
)

// FuzzHandleMessage feeds any body to the handoff handler as an SQS
// record. No webhook is configured, so a message that parses is skipped
// (no network): the handler must never panic, and must fail exactly the
// messages it cannot parse, so poison goes to the DLQ and nothing else does.
func FuzzHandleMessage(f *testing.F) {
	f.Add(`{"transition_id":"tr_1","type":"lead.mql","occurred_at":"2026-11-22T10:00:00Z","rules_version":1,"lead":{"lead_id":"ld_1","score":{"fit":1,"engagement":2,"grade":"D"},"stage":"mql"}}`)
	f.Add(`{"transition_id":"","type":"lead.mql","lead":{"lead_id":"ld_1"}}`)
	f.Add(`[]`)
	f.Add(`null`)
	f.Add(`{"transition_id":"tr","type":"lead.sql","lead":{"lead_id":"ld","attributes":{"a":[1,{"b":null}]},"breakdown":[{"rule":"x","points":1e308}]}}`)
	f.Add(`{"transition_id":"tr","type":"x","occurred_at":"not a time","lead":{"lead_id":"ld"}}`)
	h, err := New(Options{Config: config.Config{}, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Metrics: metrics.New(io.Discard, "fuzz")})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		resp, err := h.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: body}}})
		if err != nil {
			t.Fatalf("Handle returned an error for one bad record: %v", err)
		}
		if len(resp.BatchItemFailures) > 1 || (len(resp.BatchItemFailures) == 1 && resp.BatchItemFailures[0].ItemIdentifier != "m1") {
			t.Fatalf("failures %+v for one record", resp.BatchItemFailures)
		}
	})
}
