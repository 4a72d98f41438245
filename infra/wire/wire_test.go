package wire

import (
	"io"
	"log/slog"
	"testing"

	"github.com/leadscore/leadscore/shared/dynamodb"
	"github.com/leadscore/leadscore/shared/logging"
	"github.com/leadscore/leadscore/shared/metrics"
	"github.com/leadscore/leadscore/shared/sqs"
)

// TestBuildWiresEveryHandler: building calls no AWS, so it runs without
// the emulators; every handler comes back, and a Deps without a logger is
// refused.
func TestBuildWiresEveryHandler(t *testing.T) {
	var fns []string
	d := Deps{
		Table: "t", ScoreQueueURL: "http://127.0.0.1:1/score", HandoffQueueURL: "http://127.0.0.1:1/handoff",
		DynamoDB: func(fn string) dynamodb.API { fns = append(fns, fn); return nil },
		SQS:      func(string) sqs.API { return nil },
		Logger:   func(fn string) *slog.Logger { return logging.New(io.Discard, fn, "info") },
		Metrics:  func(fn string) *metrics.Recorder { return metrics.New(io.Discard, fn) },
		APIKey:   "k",
	}
	hs, err := Build(d)
	if err != nil {
		t.Fatal(err)
	}
	if hs.Ingest == nil || hs.API == nil || hs.Score == nil || hs.Sweep == nil || hs.Handoff == nil {
		t.Fatalf("handlers %+v: want all five", hs)
	}
	want := map[string]bool{IngestFunction: true, APIFunction: true, ScoreFunction: true, SweepFunction: true}
	for _, fn := range fns {
		delete(want, fn)
	}
	if len(want) != 0 {
		t.Fatalf("functions never given their own table client: %v", want)
	}
	d.Logger = nil
	if _, err := Build(d); err == nil {
		t.Fatal("Build without a logger succeeded")
	}
}
