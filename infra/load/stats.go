package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/leadscore/leadscore/infra/localapi"
)

// Percentile returns the p-th percentile (0 < p <= 100) of xs by the
// nearest-rank method: the smallest value with at least p% of the values at
// or below it. It returns 0 for no values. xs is not modified.
func Percentile(xs []time.Duration, p float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	rank = min(max(rank, 1), len(s))
	return s[rank-1]
}

// Quantiles are p50/p95/p99/max of a sample, in milliseconds in JSON.
type Quantiles struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P95 float64 `json:"p95_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

func quantiles(xs []time.Duration) Quantiles {
	ms := func(d time.Duration) float64 { return math.Round(float64(d.Microseconds())/10) / 100 }
	return Quantiles{N: len(xs), P50: ms(Percentile(xs, 50)), P95: ms(Percentile(xs, 95)), P99: ms(Percentile(xs, 99)), Max: ms(Percentile(xs, 100))}
}

func (q Quantiles) String() string {
	if q.N == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %s  p95 %s  p99 %s  max %s  (n=%d)", fmtMS(q.P50), fmtMS(q.P95), fmtMS(q.P99), fmtMS(q.Max), q.N)
}

func fmtMS(ms float64) string {
	if ms >= 1000 {
		return fmt.Sprintf("%.2f s", ms/1000)
	}
	return fmt.Sprintf("%.0f ms", ms)
}

// latencies collects durations from many goroutines.
type latencies struct {
	mu sync.Mutex
	xs []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.xs = append(l.xs, d)
	l.mu.Unlock()
}

func (l *latencies) all() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.xs)
}

// EMF sums the Embedded Metric Format lines the functions print, per
// function and metric (a value may be one number or a list of them).
type EMF struct {
	mu   sync.Mutex
	Sums map[string]map[string]float64 `json:"sums"`
	// Lines counts the EMF documents per function (one per invocation).
	Lines map[string]int `json:"lines"`
	// values keeps each value of the metrics whose distribution a run
	// reports (keptValues), per function.
	values map[string]map[string][]float64
}

// keptValues are the metrics whose every value EMF keeps, for quantiles.
var keptValues = []string{"AccountUpdateDelay"}

// AddLine adds one output line's metrics if it is an EMF document; other
// lines are ignored. It reports whether the line was EMF.
func (e *EMF) AddLine(line []byte) bool {
	if !strings.Contains(string(line), `"_aws"`) {
		return false
	}
	var doc map[string]json.RawMessage
	if json.Unmarshal(line, &doc) != nil {
		return false
	}
	var meta struct {
		CloudWatchMetrics []struct {
			Dimensions [][]string
			Metrics    []struct{ Name string }
		}
	}
	if json.Unmarshal(doc["_aws"], &meta) != nil || len(meta.CloudWatchMetrics) == 0 {
		return false
	}
	fn := "unknown"
	for _, dims := range meta.CloudWatchMetrics[0].Dimensions {
		for _, d := range dims {
			var v string
			if json.Unmarshal(doc[d], &v) == nil && v != "" {
				fn = v
			}
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.Sums == nil {
		e.Sums = map[string]map[string]float64{}
	}
	if e.Sums[fn] == nil {
		e.Sums[fn] = map[string]float64{}
	}
	if e.Lines == nil {
		e.Lines = map[string]int{}
	}
	e.Lines[fn]++
	for _, cm := range meta.CloudWatchMetrics {
		for _, m := range cm.Metrics {
			raw := doc[m.Name]
			var one float64
			var many []float64
			switch {
			case json.Unmarshal(raw, &one) == nil:
				many = []float64{one}
			case json.Unmarshal(raw, &many) != nil:
				continue
			}
			for _, v := range many {
				e.Sums[fn][m.Name] += v
			}
			if slices.Contains(keptValues, m.Name) {
				e.keep(fn, m.Name, many)
			}
		}
	}
	return true
}

// keep records values of metric for fn; the caller holds e.mu.
func (e *EMF) keep(fn, metric string, values []float64) {
	if e.values == nil {
		e.values = map[string]map[string][]float64{}
	}
	if e.values[fn] == nil {
		e.values[fn] = map[string][]float64{}
	}
	e.values[fn][metric] = append(e.values[fn][metric], values...)
}

// Quantiles returns the quantiles of a kept metric (milliseconds) over
// every function whose name contains fn.
func (e *EMF) Quantiles(fn, metric string) Quantiles {
	e.mu.Lock()
	defer e.mu.Unlock()
	var xs []time.Duration
	for name, ms := range e.values {
		if strings.Contains(strings.ToLower(name), strings.ToLower(fn)) {
			for _, v := range ms[metric] {
				xs = append(xs, time.Duration(v*float64(time.Millisecond)))
			}
		}
	}
	return quantiles(xs)
}

// Sum returns the sum of metric over every function whose name contains fn.
func (e *EMF) Sum(fn, metric string) float64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	total := 0.0
	for name, ms := range e.Sums {
		if strings.Contains(strings.ToLower(name), strings.ToLower(fn)) {
			total += ms[metric]
		}
	}
	return total
}

// Invocations counts the EMF documents of every function whose name
// contains fn.
func (e *EMF) Invocations(fn string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for name, c := range e.Lines {
		if strings.Contains(strings.ToLower(name), strings.ToLower(fn)) {
			n += c
		}
	}
	return n
}

// Reset forgets every sum (after warm-up).
func (e *EMF) Reset() {
	e.mu.Lock()
	e.Sums, e.Lines, e.values = nil, nil, nil
	e.mu.Unlock()
}

// OpStats are the local stack's request counts of one caller and operation.
type OpStats = localapi.OpStats

// indexSplit is "table 1, due-index 2" for an operation's units.
func indexSplit(by map[string]float64) string {
	if len(by) == 0 {
		return ""
	}
	keys := slices.Collect(maps.Keys(by))
	sort.Slice(keys, func(i, j int) bool { return keys[i] == "table" || keys[j] != "table" && keys[i] < keys[j] })
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+" "+trimFloat(by[k]))
	}
	return strings.Join(parts, ", ")
}

// Cost is the DynamoDB and SQS cost of a run, from the request meter.
type Cost struct {
	Ops []OpStats `json:"ops"`
	// CapacityUnits is what DynamoDB Local reported; FailedConditional the
	// conditional writes that failed, which AWS bills at least one write
	// unit each and DynamoDB Local reports no capacity for.
	CapacityUnits     float64 `json:"capacity_units"`
	FailedConditional int     `json:"failed_conditional"`
	DynamoDBRequests  int     `json:"dynamodb_requests"`
	SQSRequests       int     `json:"sqs_requests"`
	SQSEmptyReceives  int     `json:"sqs_empty_receives"`
	// AccountUnits are the request units of the calls on account items and
	// their member pages (the local stack's " account" operations): what
	// account scoring adds to the run.
	AccountUnits float64 `json:"account_capacity_units"`
}

func costOf(ops []OpStats) Cost {
	c := Cost{Ops: ops}
	for _, o := range ops {
		switch o.Service {
		case "dynamodb":
			c.CapacityUnits += o.CapacityUnits
			if strings.HasSuffix(o.Op, " account") {
				c.AccountUnits += o.CapacityUnits
			}
			c.FailedConditional += o.ConditionalFailed
			c.DynamoDBRequests += o.Requests
		case "sqs":
			c.SQSRequests += o.Requests
			c.SQSEmptyReceives += o.EmptyReceives
		}
	}
	return c
}

// breakdown lists "caller op value (requests; split by table and index)"
// for a service, largest value first.
func breakdown(ops []OpStats, service string, value func(OpStats) float64) []string {
	type kv struct {
		k     string
		v     float64
		reqs  int
		split string
	}
	var xs []kv
	for _, o := range ops {
		if o.Service == service && value(o) > 0 {
			split := ""
			if service == "dynamodb" {
				split = indexSplit(o.ByIndex)
			}
			xs = append(xs, kv{strings.TrimSuffix(o.Caller, "Function") + " " + o.Op, value(o), o.Requests, split})
		}
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i].v > xs[j].v || xs[i].v == xs[j].v && xs[i].k < xs[j].k })
	out := make([]string, len(xs))
	for i, x := range xs {
		var notes []string
		if x.v != float64(x.reqs) {
			notes = append(notes, fmt.Sprintf("%d req", x.reqs))
		}
		if x.split != "" && !strings.HasPrefix(x.split, "table ") || strings.Contains(x.split, ",") {
			notes = append(notes, x.split)
		}
		out[i] = fmt.Sprintf("%s %s", x.k, trimFloat(x.v))
		if len(notes) > 0 {
			out[i] += " (" + strings.Join(notes, "; ") + ")"
		}
	}
	return out
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.1f", v)
	return strings.TrimSuffix(s, ".0")
}

// isLoopback reports whether rawURL's host is a loopback address or
// localhost: the only targets the tool drives without -allow-remote.
func isLoopback(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return false
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// progressBar renders one line: a bar, counts and rates.
func progressBar(done, total int, width int, extra string) string {
	if total <= 0 {
		total = 1
	}
	frac := min(float64(done)/float64(total), 1)
	n := int(frac * float64(width))
	bar := strings.Repeat("=", n)
	if n < width {
		bar += ">" + strings.Repeat(" ", width-n-1)
	}
	return fmt.Sprintf("[%s] %3.0f%% %d/%d %s", bar, frac*100, done, total, extra)
}

// invocations lists "function n (mean ms, memory MB)" for every metered
// function.
func invocations(ops []OpStats) []string {
	var out []string
	for _, o := range ops {
		if o.Service == "lambda" && o.Requests > 0 {
			out = append(out, fmt.Sprintf("%s %d (mean %.0f ms at %d MB)", strings.TrimSuffix(o.Caller, "Function"), o.Requests, o.BilledMs/float64(o.Requests), o.MemoryMB))
		}
	}
	return out
}
