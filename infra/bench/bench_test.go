package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/score"
)

func TestParseGoBench(t *testing.T) {
	out := `goos: linux
goarch: amd64
pkg: github.com/leadscore/leadscore/shared/scoring
cpu: Some CPU @ 2.00GHz
BenchmarkApply-2          	  120000	      9876 ns/op	    1024 B/op	      12 allocs/op
BenchmarkEvaluate/100_events-2   	   5000	    234567.5 ns/op	  0.75 ru/event	      0 B/op	       0 allocs/op
--- BENCH: BenchmarkEvaluate
    bench_test.go:10: some log line 1 2
PASS
ok  	github.com/leadscore/leadscore/shared/scoring	3.2s
pkg: github.com/leadscore/leadscore/shared/ingest
BenchmarkDecode-2	1000	1500 ns/op
BenchmarkBroken-2	x	1500 ns/op
`
	got, err := parseGoBench(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("parsed %d benchmarks, want 3: %+v", len(got), got)
	}
	tests := []struct {
		i          int
		pkg, name  string
		n          int64
		unit       string
		value      float64
		unitsOrder string
	}{
		{0, "github.com/leadscore/leadscore/shared/scoring", "BenchmarkApply-2", 120000, "allocs/op", 12, "ns/op B/op allocs/op"},
		{1, "github.com/leadscore/leadscore/shared/scoring", "BenchmarkEvaluate/100_events-2", 5000, "ru/event", 0.75, "ns/op ru/event B/op allocs/op"},
		{2, "github.com/leadscore/leadscore/shared/ingest", "BenchmarkDecode-2", 1000, "ns/op", 1500, "ns/op"},
	}
	for _, tt := range tests {
		b := got[tt.i]
		if b.Pkg != tt.pkg || b.Name != tt.name || b.N != tt.n || b.Metrics[tt.unit] != tt.value || strings.Join(b.Units, " ") != tt.unitsOrder {
			t.Errorf("benchmark %d = %+v, want %s %s n=%d %s=%v units %s", tt.i, b, tt.pkg, tt.name, tt.n, tt.unit, tt.value, tt.unitsOrder)
		}
	}
}

func TestReplaceBetweenMarkers(t *testing.T) {
	tests := []struct {
		name, doc, body, want, wantErr string
	}{
		{"replaces only between the markers",
			"# x\n\n## Benchmarks\n\nprose\n\n<!-- bench:start -->\nold\ntable\n<!-- bench:end -->\n\n## After\n", "new\n",
			"# x\n\n## Benchmarks\n\nprose\n\n<!-- bench:start -->\nnew\n<!-- bench:end -->\n\n## After\n", ""},
		{"appends a section when there are no markers", "# x\n\ntext\n", "t",
			"# x\n\ntext\n\n## Benchmarks\n\n<!-- bench:start -->\nt\n<!-- bench:end -->\n", ""},
		{"one marker only", "a <!-- bench:start --> b", "t", "", "only one of the markers"},
		{"markers reversed", "<!-- bench:end --> <!-- bench:start -->", "t", "", "comes before"},
		{"markers twice", "<!-- bench:start --><!-- bench:end --><!-- bench:start --><!-- bench:end -->", "t", "", "more than once"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := replaceBetweenMarkers([]byte(tt.doc), []byte(tt.body))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
			again, err := replaceBetweenMarkers(got, []byte(tt.body))
			if err != nil || string(again) != string(got) {
				t.Errorf("a second run changed the document:\n%q\n%v", again, err)
			}
		})
	}
}

func TestParseVmHWM(t *testing.T) {
	tests := []struct {
		name, doc string
		want      int64
		wantErr   bool
	}{
		{"status document", "Name:\tbootstrap\nVmPeak:\t  1300000 kB\nVmHWM:\t   21712 kB\nVmRSS:\t   20000 kB\n", 21712, false},
		{"no line", "Name:\tbootstrap\n", 0, true},
		{"odd unit", "VmHWM:\t 12 MB\n", 0, true},
	}
	for _, tt := range tests {
		got, err := parseVmHWM(strings.NewReader(tt.doc))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%s: parseVmHWM = %d, %v; want %d, error %v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestBatchesAreWhatTheFunctionsParse(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	ev := scoreBatch(100, 20, "arn:aws:sqs:us-east-1:123456789012:ScoreQueue", now)
	if len(ev.Records) != 100 {
		t.Fatalf("%d records, want 100", len(ev.Records))
	}
	leads, ids, withAttrs := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, r := range ev.Records {
		m, err := score.ParseMessage([]byte(r.Body))
		if err != nil {
			t.Fatalf("score.ParseMessage(%s): %v", r.Body, err)
		}
		if m.Kind != leadscore.KindEvent || m.LeadID != leadscore.LeadID(m.Event.Email) || *r.MessageAttributes["lead_id"].StringValue != m.LeadID {
			t.Errorf("message %s: kind %s, lead %s, email %s", r.MessageId, m.Kind, m.LeadID, m.Event.Email)
		}
		if m.Event.OccurredAt.After(now) {
			t.Errorf("event %s occurs after the batch", m.Event.EventID)
		}
		if ids[r.MessageId] || ids[m.Event.EventID] {
			t.Errorf("duplicate id %s / %s", r.MessageId, m.Event.EventID)
		}
		ids[r.MessageId], ids[m.Event.EventID] = true, true
		leads[m.LeadID] = true
		if len(m.Event.Lead) > 0 {
			withAttrs[m.LeadID] = true
		}
	}
	if len(leads) != 20 || len(withAttrs) != 20 {
		t.Errorf("%d leads, %d with attributes; want 20 and 20", len(leads), len(withAttrs))
	}

	hb := handoffBatch(100, "arn:aws:sqs:us-east-1:123456789012:HandoffQueue", now)
	seen := map[string]bool{}
	for _, r := range hb.Records {
		var h leadscore.Handoff
		if err := json.Unmarshal([]byte(r.Body), &h); err != nil || h.Type != "lead.mql" || h.Lead.LeadID == "" || seen[h.TransitionID] {
			t.Errorf("handoff body %s: %v", r.Body, err)
		}
		seen[h.TransitionID] = true
	}
	if len(seen) != 100 {
		t.Errorf("%d distinct transitions, want 100", len(seen))
	}

	req := ingestRequest(100, 20, "k", now)
	var body struct {
		Events []map[string]any `json:"events"`
	}
	if err := json.Unmarshal([]byte(req.Body), &body); err != nil || len(body.Events) != 100 || req.Headers["x-api-key"] != "k" || req.RouteKey != "POST /v1/events" {
		t.Errorf("ingest request: %d events, %v, headers %v, route %q", len(body.Events), err, req.Headers, req.RouteKey)
	}
}

func TestMarkdownJudgesTheTargets(t *testing.T) {
	l := LoadRun{Label: "max", Command: "go run ./infra/load -stack", Accepted: 1000, EventsPerS: 420}
	l.SpeedToLead.N, l.SpeedToLead.P99 = 10, 900
	l.Cost = &loadCost{CapacityUnits: 1400, AccountUnits: 310, Ops: []loadOp{{Service: "dynamodb", Caller: "ScoreFunction", Op: "PutItem lead", Requests: 10,
		CapacityUnits: 30, ByIndex: map[string]float64{"table": 10, "stage-index": 20}}}}
	l.AccountDelay.N, l.AccountDelay.P50, l.AccountDelay.P99 = 40, 9500, 13900
	paced := LoadRun{Label: "paced", Accepted: 100, EventsPerS: 100, Rate: 100}
	r := Report{
		Machine: Machine{CPUs: 2, CPUModel: "Test CPU", GoVersion: "go1.26", OS: "linux/amd64", LoadAvg: "1.00 1.00 1.00", Date: "2026-03-10"},
		Loads:   []LoadRun{l, paced},
		Functions: []FunctionFigures{
			{LogicalID: "ScoreFunction", BootstrapBytes: 10 << 20, InitMs: []float64{4, 6, 80}, BatchPeakRSSKB: 70 * 1024, BatchNote: "100 events"},
			{LogicalID: "IngestFunction", BootstrapBytes: 15_200_000, InitMs: []float64{5}},
		},
	}
	md := string(r.markdown())
	if strings.Contains(md, "events/s locally (paced)") {
		t.Errorf("a paced run got a throughput verdict:\n%s", md)
	}
	for _, want := range []string{
		"| 500 accepted events/s locally (max) | 420 events/s | **no** |",
		"| speed to lead p99 < 1 s (max) | 900 ms (n=10) | yes |",
		"| <= 1.5 DynamoDB RU per accepted event (max) | 1.40 | yes |",
		"| < 0.3 DynamoDB RU per accepted event for accounts (max) | 0.31 | **no** |",
		"| lead to account delay, p50 / p99 (max) | 9.50 s / 13.90 s (n=40) | reported |",
		"| ScoreFunction cold init < 50 ms | median 6.0 ms, max 80.0 ms | yes |",
		"| ScoreFunction 100-message batch < 64 MB (100 events) | 70.0 MiB peak RSS | **no** |",
		"| IngestFunction bootstrap < 15 MB | 14.5 MiB (15.2 MB) | yes (under 15 MiB, over 15 * 10^6 bytes) |",
		"2 CPUs (Test CPU)",
		"go run ./infra/load -stack",
		"| ... Score PutItem lead | 0.03 RU/event (30 units, 10 requests, 3.00 per request; per event: stage-index 0.02, table 0.01) |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}
