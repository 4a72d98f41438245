package stackproc

import (
	"maps"
	"strings"
	"testing"
)

// banner is the part of ./infra/localstack's banner Start reads (its
// printBanner), with the lines around it.
const banner = `
leadscore local stack is up
  HTTP API        http://127.0.0.1:40001   (x-api-key: dev)
  invoke API      http://127.0.0.1:40002   (make invoke FN=<function> EVENT=<file>)
  DynamoDB Local  http://127.0.0.1:40003   table leadscore-local
  SQS emulator    http://127.0.0.1:40004
    HandoffDLQ     http://127.0.0.1:40004/000000000000/HandoffDLQ
    HandoffQueue   http://127.0.0.1:40004/000000000000/HandoffQueue
    ScoreDLQ       http://127.0.0.1:40004/000000000000/ScoreDLQ
    ScoreQueue     http://127.0.0.1:40004/000000000000/ScoreQueue
    UrgentScoreQueue http://127.0.0.1:40004/000000000000/UrgentScoreQueue
  ScoreFunction <- ScoreQueue (batch 10, window 1s)
Ctrl-C stops everything.
{"level":"INFO","msg":"after the banner"}
`

func TestReadBanner(t *testing.T) {
	s := &Stack{queues: map[string]string{}}
	ends := 0
	for line := range strings.Lines(banner) {
		if s.readBanner([]byte(strings.TrimSuffix(line, "\n"))) {
			ends++
			if !strings.HasPrefix(line, "Ctrl-C") {
				t.Errorf("banner ended at %q", line)
			}
		}
	}
	if ends != 1 {
		t.Errorf("banner ended %d times, want once", ends)
	}
	if got, want := s.SQSURL(), "http://127.0.0.1:40004"; got != want {
		t.Errorf("SQS URL %q, want %q", got, want)
	}
	q := "http://127.0.0.1:40004/000000000000/"
	for suffix, want := range map[string]map[string]string{
		"Queue":      {"HandoffQueue": q + "HandoffQueue", "ScoreQueue": q + "ScoreQueue", "UrgentScoreQueue": q + "UrgentScoreQueue"},
		"ScoreQueue": {"ScoreQueue": q + "ScoreQueue", "UrgentScoreQueue": q + "UrgentScoreQueue"},
		"DLQ":        {},
	} {
		if got := s.Queues(suffix); !maps.Equal(got, want) {
			t.Errorf("Queues(%q) = %v, want %v", suffix, got, want)
		}
	}
}

// TestBannerNamesTheSourceQueues: the queue lines name the source queues,
// the DLQs and the event source lines do not.
func TestBannerNamesTheSourceQueues(t *testing.T) {
	tests := []struct {
		line, name string
	}{
		{"    ScoreQueue     http://127.0.0.1:1/123456789012/ScoreQueue", "ScoreQueue"},
		{"    UrgentScoreQueue http://127.0.0.1:1/123456789012/UrgentScoreQueue", "UrgentScoreQueue"},
		{"    HandoffQueue   http://127.0.0.1:1/123456789012/HandoffQueue", "HandoffQueue"},
		{"    ScoreDLQ       http://127.0.0.1:1/123456789012/ScoreDLQ", ""},
		{"  ScoreFunction <- ScoreQueue (batch 100, window 2s)", ""},
	}
	for _, tt := range tests {
		s := &Stack{queues: map[string]string{}}
		s.readBanner([]byte(tt.line))
		got := ""
		for name := range s.Queues("") {
			got = name
		}
		if got != tt.name {
			t.Errorf("%q: queue %q, want %q", tt.line, got, tt.name)
		}
	}
}
