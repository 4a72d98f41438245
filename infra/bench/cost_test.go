package main

import (
	"encoding/xml"
	"math"
	"strings"
	"testing"
)

// meteredRun is a load run of 1,000 accepted events with one of each kind
// of metered request.
func meteredRun() LoadRun {
	run := LoadRun{Label: "paced", Accepted: 1000, Requests: 800}
	run.Cost = &loadCost{CapacityUnits: 2500, Ops: []loadOp{
		{Service: "lambda", Caller: "IngestFunction", Op: "Invoke", Requests: 800, BilledMs: 8000, MemoryMB: 256},
		{Service: "lambda", Caller: "ScoreFunction", Op: "Invoke", Requests: 100, BilledMs: 20000, MemoryMB: 512},
		{Service: "sqs", Caller: "IngestFunction", Op: "SendMessageBatch", Requests: 800, BilledRequests: 800},
		{Service: "sqs", Caller: "EventSourceMapping", Op: "ReceiveMessage", Requests: 150, BilledRequests: 152},
		{Service: "dynamodb", Caller: "ScoreFunction", Op: "PutItem event", Requests: 1000, CapacityUnits: 1000, ConditionalFailed: 50},
		{Service: "dynamodb", Caller: "ScoreFunction", Op: "PutItem lead", Requests: 800, CapacityUnits: 1100},
		{Service: "dynamodb", Caller: "ScoreFunction", Op: "GetItem lead", Requests: 800, CapacityUnits: 400},
	}}
	return run
}

func TestCostLinesPriceWhatWasMeasured(t *testing.T) {
	lines := costLines(meteredRun(), USEast1)
	want := map[string]float64{
		// 0.8 requests per event at $1.00 per million.
		"API Gateway HTTP API requests": 0.80,
		// 2,100 write units and 50 failed conditional puts per 1,000 events.
		"DynamoDB write request units": 2.15 * 0.625,
		"DynamoDB read request units":  0.4 * 0.125,
		// 952 billed chunks per 1,000 events.
		"SQS requests (64 KB chunks)": 0.952 * 0.40,
		"Lambda Ingest invocations":   0.8 * 0.20,
		// 20 s at 0.5 GB per 1,000 events = 0.01 GB-s per event.
		"Lambda Score duration (512 MB, mean 200 ms)": 0.01 * 0.0000133334 * 1e6,
	}
	got := map[string]float64{}
	for i, l := range lines {
		got[l.Item] = l.PerMillion
		if i > 0 && l.PerMillion > lines[i-1].PerMillion {
			t.Errorf("line %q ($%.3f) after a cheaper one", l.Item, l.PerMillion)
		}
	}
	for item, w := range want {
		if g, ok := got[item]; !ok || math.Abs(g-w) > 1e-9 {
			t.Errorf("%s: $%v per million events, want $%v (lines %v)", item, g, w, got)
		}
	}
	if total := totalCost(lines); math.Abs(total-2.915) > 0.001 {
		t.Errorf("total $%.3f per million events, want the lines' sum, $2.915", total)
	}
	if costLines(LoadRun{Accepted: 10}, USEast1) != nil {
		t.Error("a run without meter figures was priced")
	}
}

func TestTargetsIncludeDollarsAndWhatDominates(t *testing.T) {
	var b strings.Builder
	md := Report{Loads: []LoadRun{meteredRun()}}.perfMarkdown()
	b.Write(md)
	for _, want := range []string{
		"| <= $2.50 per million accepted events (paced) | $2.91 (most: DynamoDB write request units 46%, API Gateway HTTP API requests 27%) | **no** |",
		"| **total** | | | **$2.91** | |",
		"us-east-1",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("performance section lacks %q:\n%s", want, b.String())
		}
	}
}

func TestTradeoffLabel(t *testing.T) {
	for _, c := range []struct {
		batching []string
		want     string
	}{
		{nil, "template.yaml"},
		{[]string{"ScoreQueueEvents=10/0"}, "batch 10, no window"},
		{[]string{"UrgentScoreQueueEvents=5/0", "ScoreQueueEvents=100/2"}, "batch 100, window 2 s"},
	} {
		if got := tradeoffLabel(LoadRun{Batching: c.batching}); got != c.want {
			t.Errorf("tradeoffLabel(%v) = %q, want %q", c.batching, got, c.want)
		}
	}
}

func TestTradeoffSVGIsOneBarAndPointPerDesign(t *testing.T) {
	slow, fast := meteredRun(), meteredRun()
	slow.SpeedToLead.N, slow.SpeedToLead.P99 = 30, 2000
	fast.SpeedToLead.N, fast.SpeedToLead.P99 = 30, 400
	fast.Cost.CapacityUnits = 3000
	svg := tradeoffSVG([]TradeoffPoint{{Label: "batch 100, window 2 s", Run: slow}, {Label: "batch 10, no window", Run: fast}}, "t <&>")
	var doc struct {
		Rects []struct {
			Class  string  `xml:"class,attr"`
			Y      float64 `xml:"y,attr"`
			Height float64 `xml:"height,attr"`
		} `xml:"rect"`
		Polylines []struct {
			Class  string `xml:"class,attr"`
			Points string `xml:"points,attr"`
		} `xml:"polyline"`
	}
	if err := xml.Unmarshal(svg, &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, svg)
	}
	var bars []float64
	for _, r := range doc.Rects {
		if r.Class == "ru" {
			bars = append(bars, r.Height)
		}
	}
	if len(bars) != 2 || bars[1] <= bars[0] {
		t.Errorf("bars %v, want 2, the second (3.0 RU) taller than the first (2.5 RU)", bars)
	}
	if len(doc.Polylines) != 1 || strings.Count(doc.Polylines[0].Points, ",") != 2 {
		t.Fatalf("p99 lines %+v, want one (every MQL; no run has a trigger split) through 2 points", doc.Polylines)
	}
	// SVG y grows downwards: the 2 s point sits above the 400 ms one.
	pts := strings.Fields(doc.Polylines[0].Points)
	_, y0, _ := strings.Cut(pts[0], ",")
	_, y1, _ := strings.Cut(pts[1], ",")
	if y0 >= y1 {
		t.Errorf("p99 points %v: the slow design is not drawn higher", pts)
	}
	if !strings.Contains(string(svg), "batch 10") || !strings.Contains(string(svg), "t &lt;&amp;&gt;") {
		t.Errorf("labels or escaped title missing:\n%s", svg)
	}
}

func TestNiceMax(t *testing.T) {
	for _, c := range []struct{ v, want float64 }{{0, 1}, {0.7, 1}, {1.2, 2}, {3.3, 5}, {7, 10}, {23, 50}} {
		if got := niceMax(c.v); got != c.want {
			t.Errorf("niceMax(%v) = %v, want %v", c.v, got, c.want)
		}
	}
}

func TestTradeoffSVGDrawsRepeatsAsOneDesign(t *testing.T) {
	a, b := meteredRun(), meteredRun()
	a.SpeedToLead.N, a.SpeedToLead.P99 = 30, 400
	b.SpeedToLead.N, b.SpeedToLead.P99 = 30, 800
	svg := string(tradeoffSVG([]TradeoffPoint{{Label: "batch 10, no window", Run: a}, {Label: "batch 10, no window", Run: b}}, "t"))
	if n := strings.Count(svg, `class="ru"`); n != 1 {
		t.Errorf("%d bars for two runs of one design, want 1", n)
	}
	if n := strings.Count(svg, "<circle"); n != 2 {
		t.Errorf("%d dots, want one per run", n)
	}
	if !strings.Contains(svg, "(2 runs)") {
		t.Errorf("the design's label does not say it has 2 runs:\n%s", svg)
	}
}
