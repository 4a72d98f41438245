package main

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// GoBench is one line of `go test -bench` output.
type GoBench struct {
	Pkg, Name string
	N         int64
	// Metrics by unit: "ns/op", "B/op", "allocs/op" and any custom unit a
	// benchmark reports with b.ReportMetric.
	Metrics map[string]float64
	Units   []string // in the order printed
}

// parseGoBench reads `go test -bench` output; "pkg:" lines name the package
// of the benchmarks that follow.
func parseGoBench(r io.Reader) ([]GoBench, error) {
	var out []GoBench
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		b := GoBench{Pkg: pkg, Name: f[0], N: n, Metrics: map[string]float64{}}
		ok := true
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				ok = false
				break
			}
			b.Metrics[f[i+1]] = v
			b.Units = append(b.Units, f[i+1])
		}
		if ok {
			out = append(out, b)
		}
	}
	return out, sc.Err()
}

// Markers delimit the generated part of README.md's Benchmarks section.
const (
	MarkerStart = "<!-- bench:start -->"
	MarkerEnd   = "<!-- bench:end -->"
)

// replaceBetweenMarkers puts body between the markers of doc, keeping
// everything outside them. A document without markers gets them (with body)
// appended under a "## Benchmarks" heading.
func replaceBetweenMarkers(doc, body []byte) ([]byte, error) {
	start := bytes.Index(doc, []byte(MarkerStart))
	end := bytes.Index(doc, []byte(MarkerEnd))
	switch {
	case start < 0 && end < 0:
		out := bytes.TrimRight(doc, "\n")
		out = append(out, "\n\n## Benchmarks\n\n"+MarkerStart+"\n"...)
		out = append(out, body...)
		return append(out, "\n"+MarkerEnd+"\n"...), nil
	case start < 0 || end < 0:
		return nil, errors.New("README has only one of the markers " + MarkerStart + " and " + MarkerEnd)
	case end < start:
		return nil, errors.New("README's " + MarkerEnd + " comes before " + MarkerStart)
	case bytes.Count(doc, []byte(MarkerStart)) > 1 || bytes.Count(doc, []byte(MarkerEnd)) > 1:
		return nil, errors.New("README has the bench markers more than once")
	}
	var out []byte
	out = append(out, doc[:start+len(MarkerStart)]...)
	out = append(out, '\n')
	out = append(out, bytes.Trim(body, "\n")...)
	out = append(out, '\n')
	out = append(out, doc[end:]...)
	return out, nil
}

// LoadRun is the part of infra/load's -json output the report uses.
type LoadRun struct {
	Label       string  `json:"-"`
	Command     string  `json:"command"`
	Leads       int     `json:"leads"`
	Concurrency int     `json:"concurrency"`
	Requests    int64   `json:"requests"`
	Throttled   int64   `json:"throttled"`
	Batch       int     `json:"batch"`
	Accepted    int64   `json:"accepted_events"`
	Unique      int64   `json:"accepted_unique_events"`
	SendSeconds float64 `json:"send_seconds"`
	EventsPerS  float64 `json:"accepted_events_per_second"`
	PostLatency struct {
		P50 float64 `json:"p50_ms"`
		P99 float64 `json:"p99_ms"`
	} `json:"post_latency"`
	SpeedToLead quantiles            `json:"speed_to_lead"`
	ToDecision  quantiles            `json:"to_decision"`
	ToWebhook   quantiles            `json:"to_webhook"`
	ByTrigger   map[string]quantiles `json:"speed_to_lead_by_trigger"`
	// AccountDelay is from a lead's evaluation to its account's write.
	AccountDelay quantiles `json:"account_update_delay"`
	Rate         float64   `json:"rate"`
	MQL          struct {
		Predicted, Arrived, Missing, Unexpected int
	} `json:"mql"`
	Errors    map[string]int     `json:"errors"`
	Cost      *loadCost          `json:"cost"`
	ScoreEMF  map[string]float64 `json:"score_emf"`
	LoadAvg   [2]string          `json:"load_average"`
	DrainedIn float64            `json:"drain_seconds"`
	// Batching are the run's -stack-batching overrides; StackSQS its
	// environments per SQS consumer.
	Batching []string `json:"stack_batching"`
	StackSQS int      `json:"stack_sqs_concurrency"`
}

// loadCost is infra/load's request-meter summary.
type loadCost struct {
	Ops               []loadOp `json:"ops"`
	CapacityUnits     float64  `json:"capacity_units"`
	FailedConditional int      `json:"failed_conditional"`
	SQSRequests       int      `json:"sqs_requests"`
	SQSEmptyReceives  int      `json:"sqs_empty_receives"`
	AccountUnits      float64  `json:"account_capacity_units"`
}

type loadOp struct {
	Service           string             `json:"service"`
	Caller            string             `json:"caller"`
	Op                string             `json:"op"`
	Requests          int                `json:"requests"`
	CapacityUnits     float64            `json:"capacity_units"`
	ByIndex           map[string]float64 `json:"by_index"`
	ConditionalFailed int                `json:"conditional_failed"`
	BilledRequests    int                `json:"billed_requests"`
	BilledMs          float64            `json:"billed_ms"`
	MemoryMB          int                `json:"memory_mb"`
}

type quantiles struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P95 float64 `json:"p95_ms"`
	P99 float64 `json:"p99_ms"`
}

func (q quantiles) String() string {
	return fmt.Sprintf("p50 %s, p95 %s, p99 %s (n=%d)", secs(q.P50), secs(q.P95), secs(q.P99), q.N)
}

// Machine describes where the figures were made.
type Machine struct {
	CPUs      int
	CPUModel  string
	GoVersion string
	OS        string
	LoadAvg   string
	Date      string
}

// Report is everything the README section shows.
type Report struct {
	Machine   Machine
	Commands  []string
	Loads     []LoadRun
	Functions []FunctionFigures
	GoBench   []GoBench
	GoSkipped string
}

// mb prints a size in MiB (what Lambda's console calls MB) and in 10^6 bytes.
func mb(b int64) string {
	return fmt.Sprintf("%.1f MiB (%.1f MB)", float64(b)/(1<<20), float64(b)/1e6)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// bytesNote flags a size between 15 * 10^6 bytes and 15 MiB, where the
// answer depends on what "15 MB" means.
func bytesNote(b int64) string {
	if b >= 15e6 && b < 15<<20 {
		return " (under 15 MiB, over 15 * 10^6 bytes)"
	}
	return ""
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

// markdown renders the generated part of the Benchmarks section: the
// machine and commands, the targets, each load run, the functions and the
// Go benchmarks.
func (r Report) markdown() []byte {
	var b bytes.Buffer
	m := r.Machine
	fmt.Fprintf(&b, "_Generated by `make bench` on %s: %d CPUs (%s), %s, %s; load average when done: %s._\n\n", m.Date, m.CPUs, m.CPUModel, m.OS, m.GoVersion, m.LoadAvg)
	fmt.Fprintf(&b, "Commands:\n\n```sh\n%s\n```\n", strings.Join(r.Commands, "\n"))
	r.writeTargets(&b)
	for _, l := range r.Loads {
		writeLoad(&b, l)
	}
	r.writeFunctions(&b)
	r.writeGoBench(&b)
	return b.Bytes()
}

// writeTargets is the table of the targets, reported, not asserted.
func (r Report) writeTargets(b *bytes.Buffer) {
	// The project's performance targets (docs/architecture.md), each with
	// the figure that answers it.
	fmt.Fprintf(b, "\n#### Targets (reported, not asserted)\n\n| target | measured | met |\n|---|---|---|\n")
	for _, l := range r.Loads {
		if l.Rate == 0 {
			// A paced run sends at its -rate by design: no throughput verdict.
			fmt.Fprintf(b, "| 500 accepted events/s locally (%s) | %.0f events/s | %s |\n", l.Label, l.EventsPerS, yesNo(l.EventsPerS >= 500))
		}
		loadTargets(b, l)
	}
	for _, f := range r.Functions {
		fmt.Fprintf(b, "| %s bootstrap < 15 MB | %s | %s |\n", f.LogicalID, mb(f.BootstrapBytes), yesNo(f.BootstrapBytes < 15<<20)+bytesNote(f.BootstrapBytes))
		fmt.Fprintf(b, "| %s cold init < 50 ms | median %.1f ms, max %.1f ms | %s |\n", f.LogicalID, median(f.InitMs), slices.Max(append([]float64{0}, f.InitMs...)), yesNo(median(f.InitMs) < 50))
		if f.BatchPeakRSSKB > 0 {
			fmt.Fprintf(b, "| %s 100-message batch < 64 MB (%s) | %.1f MiB peak RSS | %s |\n", f.LogicalID, f.BatchNote, float64(f.BatchPeakRSSKB)/1024, yesNo(f.BatchPeakRSSKB < 64*1024))
		}
	}

}

// writeLoad is one load run's table.
func writeLoad(b *bytes.Buffer, l LoadRun) {
	fmt.Fprintf(b, "\n#### Load: %s\n\n`%s`\n\n", l.Label, l.Command)
	fmt.Fprintf(b, "| metric | value |\n|---|---|\n")
	fmt.Fprintf(b, "| workload | %d leads, %d accepted events (%d unique, the rest resent ids) in %d requests (%d of them answered 429 and retried), %d concurrent, the next step of up to %d lead(s) per request |\n",
		l.Leads, l.Accepted, l.Unique, l.Requests, l.Throttled, l.Concurrency, max(l.Batch, 1))
	fmt.Fprintf(b, "| accepted events/s | %.0f (%.1f s of sending) |\n", l.EventsPerS, l.SendSeconds)
	fmt.Fprintf(b, "| POST /v1/events latency | p50 %s, p99 %s |\n", secs(l.PostLatency.P50), secs(l.PostLatency.P99))
	fmt.Fprintf(b, "| speed to lead (POST of the qualifying event to the signed webhook) | %s |\n", l.SpeedToLead)
	fmt.Fprintf(b, "| ... POST until the deciding score batch began (ingest, score queue, batching window) | %s |\n", l.ToDecision)
	fmt.Fprintf(b, "| ... from then until the webhook arrived (scoring the batch, outbox, handoff queue and window, POST) | %s |\n", l.ToWebhook)
	for _, k := range []string{"hand-raise", "engagement"} {
		if q, ok := l.ByTrigger[k]; ok {
			fmt.Fprintf(b, "| speed to lead, qualified by %s | %s |\n", k, q)
		}
	}
	fmt.Fprintf(b, "| MQL webhooks | %d predicted, %d arrived, %d missing, %d unexpected |\n", l.MQL.Predicted, l.MQL.Arrived, l.MQL.Missing, l.MQL.Unexpected)
	writeLoadCost(b, l)
	if e := l.ScoreEMF; len(e) > 0 {
		fmt.Fprintf(b, "| score function | %.0f batches, mean %.0f ms each; %.0f events scored (%.0f/s over %.1f s of sending and draining), %.0f duplicates dropped, %.0f transitions, %.0f write conflicts retried |\n",
			e["Batches"], e["MeanBatchLatencyMs"], e["EventsScored"], e["EventsScored"]/max(l.SendSeconds+l.DrainedIn, 0.001), l.SendSeconds+l.DrainedIn,
			e["DuplicateEvents"], e["Transitions"], e["LeadWriteConflicts"])
	}
	errs := 0
	for _, v := range l.Errors {
		errs += v
	}
	fmt.Fprintf(b, "| errors | %d |\n| load average before / after | %s / %s |\n", errs, l.LoadAvg[0], l.LoadAvg[1])
	if t := costTable(l, USEast1); t != nil {
		fmt.Fprintf(b, "\nCost per million accepted events:\n\n%s", t)
	}
}

// writeLoadCost is a load run's DynamoDB and SQS rows: one row per
// operation, costliest first, with the units split by table and index, as
// this is what dominates the cost.
func writeLoadCost(b *bytes.Buffer, l LoadRun) {
	if c := l.Cost; c != nil && l.Accepted > 0 {
		acc := float64(l.Accepted)
		fmt.Fprintf(b, "| DynamoDB RU per accepted event | %.2f (%.0f units; +%d failed conditional puts AWS would bill, %.2f with them) |\n",
			c.CapacityUnits/acc, c.CapacityUnits, c.FailedConditional, (c.CapacityUnits+float64(c.FailedConditional))/acc)
		dynamoRows(b, l)
		ops := slices.Clone(c.Ops)
		fmt.Fprintf(b, "| SQS requests per accepted event | %.2f (%d requests, %d empty long polls) |\n", float64(c.SQSRequests)/acc, c.SQSRequests, c.SQSEmptyReceives)
		slices.SortStableFunc(ops, func(x, y loadOp) int { return cmp.Compare(y.Requests, x.Requests) })
		for _, o := range ops {
			if o.Service == "sqs" && o.Requests > 0 {
				fmt.Fprintf(b, "| ... %s %s | %.2f/event (%d requests) |\n", strings.TrimSuffix(o.Caller, "Function"), o.Op, float64(o.Requests)/acc, o.Requests)
			}
		}
	}
}

// writeFunctions is the functions' size, cold init and memory.
func (r Report) writeFunctions(b *bytes.Buffer) {
	if len(r.Functions) > 0 {
		fmt.Fprintf(b, "\n#### Functions\n\n| function | linux/arm64 bootstrap (stripped) | cold init, median / max (n) | peak RSS after init | 100-message batch: peak RSS, duration |\n|---|---|---|---|---|\n")
		for _, f := range r.Functions {
			batch := "not measured"
			if f.BatchPeakRSSKB > 0 {
				batch = fmt.Sprintf("%.1f MiB, %.0f ms (%s)", float64(f.BatchPeakRSSKB)/1024, f.BatchMs, f.BatchNote)
			}
			fmt.Fprintf(b, "| %s | %s, %d bytes | %.1f / %.1f ms (%d) | %.1f MiB | %s |\n", f.LogicalID, mb(f.BootstrapBytes), f.BootstrapBytes,
				median(f.InitMs), slices.Max(append([]float64{0}, f.InitMs...)), len(f.InitMs), float64(f.InitRSSKB)/1024, batch)
		}
	}

}

// writeGoBench is the Go benchmarks' table.
func (r Report) writeGoBench(b *bytes.Buffer) {
	if len(r.GoBench) > 0 {
		fmt.Fprintf(b, "\n#### Go benchmarks\n\n")
		if r.GoSkipped != "" {
			fmt.Fprintf(b, "%s\n\n", r.GoSkipped)
		}
		fmt.Fprintf(b, "| package | benchmark | ns/op | B/op | allocs/op | reported |\n|---|---|---:|---:|---:|---|\n")
		for _, g := range r.GoBench {
			var extra []string
			for _, u := range g.Units {
				if u != "ns/op" && u != "B/op" && u != "allocs/op" {
					extra = append(extra, strconv.FormatFloat(g.Metrics[u], 'g', 4, 64)+" "+u)
				}
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", strings.TrimPrefix(g.Pkg, "github.com/leadscore/leadscore/"), g.Name,
				num(g.Metrics, "ns/op"), num(g.Metrics, "B/op"), num(g.Metrics, "allocs/op"), strings.Join(extra, ", "))
		}
	}
}

func num(m map[string]float64, unit string) string {
	v, ok := m[unit]
	if !ok {
		return ""
	}
	if v == math.Trunc(v) {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func secs(ms float64) string {
	if ms >= 1000 {
		return fmt.Sprintf("%.2f s", ms/1000)
	}
	return fmt.Sprintf("%.0f ms", ms)
}

// loadTargets writes the target rows a load run answers: speed to lead
// (every MQL, hand-raisers, engagement), request units and dollars per
// accepted event.
func loadTargets(b *bytes.Buffer, l LoadRun) {
	fmt.Fprintf(b, "| speed to lead p99 < 1 s (%s) | %s (n=%d) | %s |\n", l.Label, secs(l.SpeedToLead.P99), l.SpeedToLead.N, yesNo(l.SpeedToLead.N > 0 && l.SpeedToLead.P99 < 1000))
	for _, k := range []string{"hand-raise", "engagement"} {
		if q, ok := l.ByTrigger[k]; ok {
			fmt.Fprintf(b, "| ... qualified by %s only (%s) | %s (n=%d) | %s |\n", k, l.Label, secs(q.P99), q.N, yesNo(q.N > 0 && q.P99 < 1000))
		}
	}
	if l.Cost != nil && l.Accepted > 0 {
		ru := l.Cost.CapacityUnits / float64(l.Accepted)
		fmt.Fprintf(b, "| <= 1.5 DynamoDB RU per accepted event (%s) | %.2f | %s |\n", l.Label, ru, yesNo(ru <= 1.5))
	}
	if l.Cost != nil && l.Accepted > 0 && l.Cost.AccountUnits > 0 {
		ru := l.Cost.AccountUnits / float64(l.Accepted)
		fmt.Fprintf(b, "| < 0.3 DynamoDB RU per accepted event for accounts (%s) | %.2f | %s |\n", l.Label, ru, yesNo(ru < 0.3))
	}
	if q := l.AccountDelay; q.N > 0 {
		fmt.Fprintf(b, "| lead to account delay, p50 / p99 (%s) | %s / %s (n=%d) | reported |\n", l.Label, secs(q.P50), secs(q.P99), q.N)
	}
	if lines := costLines(l, USEast1); len(lines) > 0 {
		total := totalCost(lines)
		fmt.Fprintf(b, "| <= $2.50 per million accepted events (%s) | $%.2f (%s) | %s |\n", l.Label, total, dominant(lines, total), yesNo(total <= 2.5))
	}
	floorRows(b, l)
}

// dominant names the costliest lines that make half the total.
func dominant(lines []CostLine, total float64) string {
	var parts []string
	sum := 0.0
	for _, l := range lines {
		parts = append(parts, fmt.Sprintf("%s %.0f%%", l.Item, 100*l.PerMillion/max(total, 1e-12)))
		if sum += l.PerMillion; sum >= total/2 {
			break
		}
	}
	return "most: " + strings.Join(parts, ", ")
}

// dynamoRows writes one row per DynamoDB operation of l, costliest first,
// with the units split by table and index: what dominates the cost.
func dynamoRows(b *bytes.Buffer, l LoadRun) {
	acc := float64(l.Accepted)
	ops := slices.Clone(l.Cost.Ops)
	slices.SortStableFunc(ops, func(x, y loadOp) int { return cmp.Compare(y.CapacityUnits, x.CapacityUnits) })
	for _, o := range ops {
		if o.Service != "dynamodb" || o.CapacityUnits == 0 {
			continue
		}
		split := ""
		if len(o.ByIndex) > 1 {
			var ks []string
			for k, v := range o.ByIndex {
				ks = append(ks, fmt.Sprintf("%s %.2f", k, v/acc))
			}
			slices.Sort(ks)
			split = "; per event: " + strings.Join(ks, ", ")
		}
		fmt.Fprintf(b, "| ... %s %s | %.2f RU/event (%.0f units, %d requests, %.2f per request%s) |\n", strings.TrimSuffix(o.Caller, "Function"), o.Op,
			o.CapacityUnits/acc, o.CapacityUnits, o.Requests, o.CapacityUnits/float64(max(o.Requests, 1)), split)
	}
}

// perfMarkdown is the generated part of docs/performance.md: the targets
// the load runs answer, and for each run its request units by operation
// and its cost per million accepted events.
func (r Report) perfMarkdown() []byte {
	var b bytes.Buffer
	m := r.Machine
	fmt.Fprintf(&b, "_Generated by `make bench` on %s: %d CPUs (%s), %s, %s; load average when done: %s._\n\n", m.Date, m.CPUs, m.CPUModel, m.OS, m.GoVersion, m.LoadAvg)
	fmt.Fprintf(&b, "| target | measured | met |\n|---|---|---|\n")
	for _, l := range r.Loads {
		loadTargets(&b, l)
	}
	for _, l := range r.Loads {
		if l.Cost == nil || l.Accepted == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n#### %s\n\n`%s`\n\n| DynamoDB | request units |\n|---|---|\n", l.Label, l.Command)
		fmt.Fprintf(&b, "| all, per accepted event | %.2f (+%d failed conditional writes AWS bills) |\n", l.Cost.CapacityUnits/float64(l.Accepted), l.Cost.FailedConditional)
		dynamoRows(&b, l)
		fmt.Fprintf(&b, "\nCost per million accepted events:\n\n%s", costTable(l, USEast1))
	}
	return b.Bytes()
}
