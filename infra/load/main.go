// Command load drives leadscore with a realistic generated workload and
// measures what the product promises: accepted events per second, speed to
// lead (from the POST of the event that makes a lead an MQL to the arrival
// of its signed webhook at the tool's own receiver), and the DynamoDB request
// units and SQS requests each accepted event costs.
//
//	go run ./infra/load -stack              # starts the local stack itself, runs, prints, stops it
//	go run ./infra/load                     # against `make run` on 127.0.0.1:3000
//	go run ./infra/load -url https://... -api-key ... -allow-remote -listen 0.0.0.0:8089
//
// Against a running stack the webhooks reach the tool only if the stack's
// WEBHOOK_URL_SALES points at -listen and WEBHOOK_SECRET is -webhook-secret;
// request units and SQS requests are measured with -stack only (the stack's
// request meter), elsewhere read them from CloudWatch.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/leadscore/leadscore/infra/template"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

type options struct {
	url, apiKey, secret, listen, jsonOut, logLevel string
	stack, allowRemote, quiet                      bool
	events, concurrency, stackSQS, batch           int
	rate                                           float64
	duration, drain                                time.Duration
	wl                                             WorkloadConfig
	// batching is -stack-batching, handed to the local stack's -batching.
	batching stringList
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var o options
	flag.StringVar(&o.url, "url", "http://127.0.0.1:3000", "base URL of the HTTP API (ignored with -stack)")
	flag.StringVar(&o.apiKey, "api-key", "local-dev-key", "x-api-key for POST /v1/events")
	flag.StringVar(&o.secret, "webhook-secret", "", "secret to verify the webhooks' X-Signature (default: the local stack's, or a fresh one with -stack)")
	flag.StringVar(&o.listen, "listen", "127.0.0.1:0", "address of the webhook receiver")
	flag.BoolVar(&o.stack, "stack", false, "start the local stack (with -meter, webhooks to this tool), run, print, stop it")
	flag.BoolVar(&o.allowRemote, "allow-remote", false, "allow a -url that is not a loopback address")
	flag.BoolVar(&o.quiet, "q", false, "no progress bar")
	flag.IntVar(&o.events, "events", 5000, "events to send, resends included (at most 1,000,000)")
	flag.IntVar(&o.concurrency, "c", 32, "concurrent requests")
	flag.IntVar(&o.batch, "batch", 1, `leads per request: 1 posts each step alone (a browser tracker); more posts {"events":[...]} with the next step of that many leads (a server-side integration)`)
	flag.Float64Var(&o.rate, "rate", 0, "events per second to send at most (0: as fast as answered)")
	flag.DurationVar(&o.duration, "duration", 2*time.Minute, "stop sending after this long")
	flag.DurationVar(&o.drain, "drain", time.Minute, "after sending, wait at most this long for predicted MQL webhooks and empty queues")
	flag.Float64Var(&o.wl.HandRaiserShare, "hand-raisers", 0.10, "share of leads that ask for a demo, a call or a quote with a good fit")
	flag.Float64Var(&o.wl.DuplicateShare, "duplicates", 0.05, "share of requests resent with the same event ids")
	flag.Float64Var(&o.wl.AnonymousShare, "anonymous", 0.20, "share of leads that start anonymous and identify on a form")
	flag.Uint64Var(&o.wl.Seed, "seed", 1, "workload seed")
	flag.StringVar(&o.jsonOut, "json", "", "also write the results as JSON to this file")
	flag.StringVar(&o.logLevel, "log-level", "info", "LOG_LEVEL of the functions with -stack")
	flag.Var(&o.batching, "stack-batching", "with -stack: Event=BatchSize/WindowSeconds overriding an SQS event source's batching for this run, e.g. ScoreQueueEvents=10/0 (repeatable; make tradeoff)")
	flag.IntVar(&o.stackSQS, "stack-sqs-concurrency", 2, "with -stack: environments per SQS-triggered function (score, handoff)")
	flag.Usage = func() {
		fmt.Fprint(flag.CommandLine.Output(), `load drives leadscore's HTTP API with a generated workload (the default
rules' funnel: page views, content by funnel stage, webinars, trials, ad clicks,
bursts, resent event ids, hand-raisers) and prints accepted events/s, speed to
lead p50/p95/p99 (POST of the qualifying event to the signed MQL webhook),
DynamoDB request units and SQS requests per accepted event, and errors.

  go run ./infra/load -stack                  start the local stack, run, print, stop it
  WEBHOOK_URL_SALES=http://127.0.0.1:8089/sales make run   # then, in another shell:
  go run ./infra/load -listen 127.0.0.1:8089  against make run (no cost figures)

Flags:
`)
		flag.PrintDefaults()
	}
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	printReport(os.Stdout, res)
	if o.jsonOut != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(o.jsonOut, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(1)
		}
	}
}

// Result is everything the report prints (and -json writes).
type Result struct {
	Target      string    `json:"target"`
	Command     string    `json:"command"`
	Stack       bool      `json:"stack"`
	Concurrency int       `json:"concurrency"`
	Leads       int       `json:"leads"`
	Planned     int       `json:"planned_events"`
	Mix         Mix       `json:"mix"`
	Requests    int64     `json:"requests"`
	Throttled   int64     `json:"throttled"`
	Batch       int       `json:"batch"`
	Accepted    int64     `json:"accepted_events"`
	Unique      int64     `json:"accepted_unique_events"`
	SendSeconds float64   `json:"send_seconds"`
	EventsPerS  float64   `json:"accepted_events_per_second"`
	PostLatency Quantiles `json:"post_latency"`
	SpeedToLead Quantiles `json:"speed_to_lead"`
	// ToDecision is the qualifying POST until the score batch that decided
	// the MQL began (ingest, score queue, batching window); ToWebhook from
	// then until the webhook arrived (scoring the batch, the outbox, the
	// handoff queue and its window, the signed POST).
	ToDecision Quantiles `json:"to_decision"`
	ToWebhook  Quantiles `json:"to_webhook"`
	// ByTrigger splits speed to lead by what qualified the lead: a
	// hand-raise (an instant_on event in the qualifying step) or
	// engagement crossing the threshold.
	ByTrigger map[string]Quantiles `json:"speed_to_lead_by_trigger"`
	Rate      float64              `json:"rate"`
	StackSQS  int                  `json:"stack_sqs_concurrency,omitempty"`
	// Batching lists the -stack-batching overrides of the run (none: the
	// template's settings).
	Batching []string       `json:"stack_batching,omitempty"`
	MQL      MQLCounts      `json:"mql"`
	Webhooks ReceiverCounts `json:"webhooks"`
	Errors   map[string]int `json:"errors"`
	Cost     *Cost          `json:"cost,omitempty"`
	// ScoreEMF is what the score function itself reported (EMF).
	ScoreEMF map[string]float64 `json:"score_emf,omitempty"`
	// AccountDelay is the delay from a lead's evaluation to its account's
	// write (the score function's AccountUpdateDelay).
	AccountDelay Quantiles `json:"account_update_delay"`
	LoadAvg      [2]string `json:"load_average"`
	DrainedIn    float64   `json:"drain_seconds"`
	Backlog      int       `json:"backlog_left"`
	Truncated    bool      `json:"stopped_by_duration"`
}

// MQLCounts compare the predicted MQLs with the webhooks that arrived.
type MQLCounts struct {
	Predicted  int `json:"predicted"`
	Arrived    int `json:"arrived"`
	Missing    int `json:"missing"`
	Unexpected int `json:"unexpected"`
}

// run is one load run: check the options, start the webhook receiver (and
// the local stack with -stack), generate the journeys, send them, wait for
// the predicted MQLs' webhooks, then measure.
func run(ctx context.Context, o options) (*Result, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	runID := randomHex(4)
	o.wl.Events, o.wl.RunID = o.events, runID

	recv := NewReceiver(o.secret)
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return nil, fmt.Errorf("webhook receiver on %s: %w", o.listen, err)
	}
	hookSrv := &http.Server{Handler: recv, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hookSrv.Serve(ln) }()
	defer hookSrv.Close()
	hookURL := "http://" + ln.Addr().String()

	res := &Result{Batch: o.batch, Rate: o.rate, Target: o.url, Command: strings.Join(append([]string{"go run ./infra/load"}, os.Args[1:]...), " "), Stack: o.stack, Concurrency: o.concurrency, Errors: map[string]int{}}
	st, err := o.startTarget(ctx, res, hookURL)
	if err != nil {
		return nil, err
	}
	if st != nil {
		defer func() {
			fmt.Fprintln(os.Stderr, "stopping the local stack ...")
			st.Stop()
		}()
	}

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.concurrency, MaxConnsPerHost: o.concurrency}}
	rules := fetchRules(ctx, client, o.url, o.apiKey)
	journeys := Generate(o.wl, rules, time.Now())
	res.Mix = MixOf(journeys)
	res.Leads, res.Planned = len(journeys), res.Mix.Events
	res.MQL.Predicted = res.Mix.PredictedMQ

	if st != nil {
		// One warm-up request per function path, then zero the meter so the
		// figures cover the load only.
		if err := warmUp(ctx, client, o.url, o.apiKey, runID); err != nil {
			return nil, err
		}
		time.Sleep(2 * time.Second)
		if err := st.resetMeter(ctx); err != nil {
			return nil, err
		}
	}
	res.LoadAvg[0] = loadAvg()

	d := &driver{client: client, url: o.url, apiKey: o.apiKey, rate: o.rate, errs: map[string]int{}}
	sendCtx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	start := time.Now()
	stopBar := d.progress(o.quiet, res.Mix.Events, recv)
	d.send(sendCtx, journeys, o.concurrency, o.batch)
	res.SendSeconds = time.Since(start).Seconds()
	res.Truncated = sendCtx.Err() != nil && ctx.Err() == nil
	stopBar()

	if err := drain(ctx, o, res, journeys, d, recv, st); err != nil {
		return nil, err
	}
	res.LoadAvg[1] = loadAvg()
	res.tally(d, recv)
	res.measureSpeedToLead(journeys, d, recv, rules, runID)
	if st != nil {
		if err := res.readCost(ctx, st); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// check refuses options out of range, and picks the webhook secret.
func (o *options) check() error {
	if o.events <= 0 || o.events > 1_000_000 {
		return fmt.Errorf("-events %d: must be 1..1000000", o.events)
	}
	if o.batch <= 0 || o.batch > 25 {
		// 25 leads' steps stay under the API's 100 events per request.
		return fmt.Errorf("-batch %d: must be 1..25", o.batch)
	}
	if o.concurrency <= 0 || o.concurrency > 1024 {
		return fmt.Errorf("-c %d: must be 1..1024", o.concurrency)
	}
	for name, v := range map[string]float64{"-hand-raisers": o.wl.HandRaiserShare, "-duplicates": o.wl.DuplicateShare, "-anonymous": o.wl.AnonymousShare} {
		if v < 0 || v > 1 {
			return fmt.Errorf("%s %v: must be a share between 0 and 1", name, v)
		}
	}
	if o.rate < 0 {
		return fmt.Errorf("-rate %v: must be 0 (unpaced) or more", o.rate)
	}
	if !o.stack && !isLoopback(o.url) && !o.allowRemote {
		return fmt.Errorf("-url %s is not a loopback address; add -allow-remote to drive it", o.url)
	}
	if o.secret == "" {
		o.secret = "local-dev-webhook-secret"
		if o.stack {
			o.secret = randomHex(16)
		}
	}
	return nil
}

// startTarget starts the local stack with -stack and points the run at it;
// without, it only says where the receiver listens.
func (o *options) startTarget(ctx context.Context, res *Result, hookURL string) (*localStack, error) {
	if !o.stack {
		fmt.Fprintf(os.Stderr, "webhook receiver on %s (point WEBHOOK_URL_SALES there to measure speed to lead)\n", hookURL)
		return nil, nil
	}
	root, err := template.RepoRoot()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(root, "build", "load", "stack.log")
	fmt.Fprintf(os.Stderr, "starting the local stack (build, emulators, functions); its output goes to %s ...\n", logPath)
	st, err := startStack(ctx, o.apiKey, o.secret, hookURL, o.logLevel, logPath, o.stackSQS, o.batching)
	if err != nil {
		return nil, err
	}
	o.url = st.APIURL
	res.StackSQS = o.stackSQS
	res.Batching = o.batching
	res.Target = st.APIURL + " (local stack, -stack)"
	return st, nil
}

// drain waits for the predicted MQLs' webhooks and, with -stack, for empty
// queues, up to -drain.
func drain(ctx context.Context, o options, res *Result, journeys []*Journey, d *driver, recv *Receiver, st *localStack) error {
	drainStart := time.Now()
	deadline := time.After(o.drain)
	defer func() {
		res.DrainedIn = time.Since(drainStart).Seconds()
		if !o.quiet {
			fmt.Fprintln(os.Stderr)
		}
	}()
	for ctx.Err() == nil {
		arrived := 0
		for _, j := range journeys {
			switch {
			case j.MQLStep < 0:
			case !d.sentStep(j, j.MQLStep):
				arrived++ // never sent (stopped by -duration): nothing to wait for
			default:
				if _, ok := recv.First(j.LeadID, "lead.mql"); ok {
					arrived++
				}
			}
		}
		backlog := 0
		if st != nil {
			var err error
			if backlog, err = st.backlog(ctx); err != nil {
				return err
			}
		}
		res.Backlog = backlog
		if arrived == res.MQL.Predicted && backlog == 0 {
			return nil
		}
		if !o.quiet {
			fmt.Fprintf(os.Stderr, "\rdraining: %d/%d predicted MQL webhooks, %d messages queued   ", arrived, res.MQL.Predicted, backlog)
		}
		select {
		case <-deadline:
			fmt.Fprintln(os.Stderr, "\ndrain timed out")
			return nil
		case <-ctx.Done():
			return nil
		case <-time.After(250 * time.Millisecond):
		}
	}
	return nil
}

// tally copies the driver's and the receiver's counts into the result.
func (res *Result) tally(d *driver, recv *Receiver) {
	res.Requests, res.Accepted, res.Unique, res.Throttled = d.requests.Load(), d.accepted.Load(), d.unique.Load(), d.throttled.Load()
	if res.SendSeconds > 0 {
		res.EventsPerS = float64(res.Accepted) / res.SendSeconds
	}
	res.PostLatency = quantiles(d.latency.all())
	res.Webhooks = recv.Counts()
	d.mu.Lock()
	maps.Copy(res.Errors, d.errs)
	d.mu.Unlock()

}

// measureSpeedToLead times the predicted MQLs from their qualifying POST to
// their webhook; an MQL the prediction did not expect counts as
// unexpected.
func (res *Result) measureSpeedToLead(journeys []*Journey, d *driver, recv *Receiver, rules *scoring.Rules, runID string) {
	var speeds, toDecision, toWebhook []time.Duration
	byTrigger := map[string][]time.Duration{}
	byLead := map[string]*Journey{}
	for _, j := range journeys {
		byLead[j.LeadID] = j
		if j.MQLStep < 0 || !d.sentStep(j, j.MQLStep) {
			continue
		}
		a, ok := recv.First(j.LeadID, "lead.mql")
		if !ok {
			res.MQL.Missing++
			continue
		}
		res.MQL.Arrived++
		sent := d.sentAt(j, j.MQLStep)
		speeds = append(speeds, a.At.Sub(sent))
		tr := trigger(j.Steps[j.MQLStep], rules)
		byTrigger[tr] = append(byTrigger[tr], a.At.Sub(sent))
		if !a.DecidedAt.IsZero() {
			toDecision = append(toDecision, max(a.DecidedAt.Sub(sent), 0))
			toWebhook = append(toWebhook, max(a.At.Sub(a.DecidedAt), 0))
		}
	}
	warmLead := leadscore.LeadID(warmUpEmail(runID))
	for _, id := range recv.Leads("lead.mql") {
		if j := byLead[id]; id != warmLead && (j == nil || j.MQLStep < 0) {
			res.MQL.Unexpected++
		}
	}
	res.SpeedToLead, res.ToDecision, res.ToWebhook = quantiles(speeds), quantiles(toDecision), quantiles(toWebhook)
	res.ByTrigger = map[string]Quantiles{}
	for k, v := range byTrigger {
		res.ByTrigger[k] = quantiles(v)
	}

}

// readCost reads the local stack's request meter and the score function's
// metrics.
func (res *Result) readCost(ctx context.Context, st *localStack) error {
	ops, err := st.meter(ctx)
	if err != nil {
		return err
	}
	c := costOf(ops)
	res.Cost = &c
	res.ScoreEMF = map[string]float64{}
	for _, m := range []string{"DynamoDBCapacityUnits", "EventsScored", "DuplicateEvents", "Transitions", "LeadWriteConflicts", "MessagesFailed", "HandoffSendFailures"} {
		res.ScoreEMF[m] = st.emf.Sum("ScoreFunction", m)
	}
	res.AccountDelay = st.emf.Quantiles("ScoreFunction", "AccountUpdateDelay")
	if n := st.emf.Invocations("ScoreFunction"); n > 0 {
		res.ScoreEMF["Batches"] = float64(n)
		res.ScoreEMF["MeanBatchLatencyMs"] = math.Round(st.emf.Sum("ScoreFunction", "BatchLatency") / float64(n))
	}
	return nil
}

// fetchRules reads the published rules, so the MQL prediction uses what the
// score function uses; the defaults when they cannot be read.
func fetchRules(ctx context.Context, client *http.Client, base, apiKey string) *scoring.Rules {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/rules", nil)
	req.Header.Set("x-api-key", apiKey)
	resp, err := client.Do(req)
	if err != nil {
		return scoring.DefaultRules()
	}
	defer resp.Body.Close()
	var doc struct {
		Version int             `json:"version"`
		Rules   json.RawMessage `json:"rules"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&doc) != nil {
		return scoring.DefaultRules()
	}
	r, err := scoring.ParseRules(doc.Rules)
	if err != nil {
		return scoring.DefaultRules()
	}
	return r.WithVersion(doc.Version)
}

// warmUp sends one event through ingest, score and handoff (a hand-raiser),
// so cold starts stay out of the figures.
func warmUp(ctx context.Context, client *http.Client, base, apiKey, runID string) error {
	body := fmt.Sprintf(`{"event_id":"warmup-%s","type":"demo_request","email":%q,
	 "lead":{"job_title":"CTO","company_size":500,"industry":"software","country":"US"}}`, runID, warmUpEmail(runID))
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/events", strings.NewReader(body))
	req.Header.Set("x-api-key", apiKey)
	req.Header.Set("content-type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("warm-up POST /v1/events: %w", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("warm-up POST /v1/events: %s %s", resp.Status, b)
	}
	return nil
}

// What qualified a lead, for the speed-to-lead split.
const (
	TriggerHandRaise  = "hand-raise"
	TriggerEngagement = "engagement"
)

// trigger names what made step qualify: a hand-raise when it carries one of
// the rules' instant_on event types, else engagement.
func trigger(step Step, rules *scoring.Rules) string {
	for _, e := range step.Events {
		if rules.InstantOn(e.Type) {
			return TriggerHandRaise
		}
	}
	return TriggerEngagement
}

func warmUpEmail(runID string) string { return "warm.up." + runID + "@acme.example.com" }

// driver sends the journeys: each lead's steps in order, many leads at once.
type driver struct {
	client *http.Client
	url    string
	apiKey string
	rate   float64

	requests, accepted, unique, sentEvents, throttled atomic.Int64
	latency                                           latencies

	mu   sync.Mutex
	errs map[string]int
	sent map[*Journey][]time.Time // POST start of each sent step
	pace time.Time
}

func (d *driver) sentStep(j *Journey, i int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return i < len(d.sent[j])
}

func (d *driver) sentAt(j *Journey, i int) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sent[j][i]
}

func (d *driver) fail(kind string) {
	d.mu.Lock()
	d.errs[kind]++
	d.mu.Unlock()
}

// wait paces sending to d.rate events per second.
func (d *driver) wait(ctx context.Context, n int) {
	if d.rate <= 0 {
		return
	}
	d.mu.Lock()
	now := time.Now()
	if d.pace.Before(now) {
		d.pace = now
	}
	at := d.pace
	d.pace = d.pace.Add(time.Duration(float64(n) / d.rate * float64(time.Second)))
	d.mu.Unlock()
	select {
	case <-time.After(time.Until(at)):
	case <-ctx.Done():
	}
}

// send posts every journey's steps, each lead's in order (a step only after
// the lead's previous one was answered), many leads at once. With batch > 1
// a request carries the next step of up to batch leads, as a server-side
// integration batches what it forwards.
func (d *driver) send(ctx context.Context, journeys []*Journey, workers, batch int) {
	d.sent = map[*Journey][]time.Time{}
	batch = max(batch, 1)
	ready := make(chan *Journey, len(journeys))
	for _, j := range journeys {
		ready <- j
	}
	var left sync.WaitGroup
	left.Add(len(journeys))
	go func() { left.Wait(); close(ready) }()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ready {
				group := []*Journey{j}
			more:
				for len(group) < batch {
					select {
					case k, ok := <-ready:
						if !ok {
							break more
						}
						group = append(group, k)
					default:
						break more
					}
				}
				if ctx.Err() != nil {
					for range group {
						left.Done()
					}
					continue
				}
				d.post(ctx, group)
				for _, k := range group {
					d.mu.Lock()
					n := len(d.sent[k])
					d.mu.Unlock()
					if n < len(k.Steps) {
						ready <- k
					} else {
						left.Done()
					}
				}
			}
		}()
	}
	wg.Wait()
}

// maxThrottleRetries bounds the resends of a request answered 429.
const maxThrottleRetries = 8

// post sends the next step of each journey in group in one request and
// records the answer. A 429 (API Gateway throttling) is retried with
// growing delays, as a well-behaved client does, and counted apart from
// errors; the step's POST time stays the first attempt's, so throttling
// counts against speed to lead.
func (d *driver) post(ctx context.Context, group []*Journey) {
	evs, unique := d.nextEvents(group)
	d.wait(ctx, len(evs))
	now := time.Now().UTC()
	for _, e := range evs {
		if e.OccurredAt.IsZero() {
			e.OccurredAt = now
		}
	}
	var body []byte
	if len(evs) == 1 {
		body, _ = json.Marshal(evs[0])
	} else {
		body, _ = json.Marshal(map[string]any{"events": evs})
	}
	first := time.Now()
	d.mu.Lock()
	for _, j := range group {
		d.sent[j] = append(d.sent[j], first)
	}
	d.mu.Unlock()
	d.sentEvents.Add(int64(len(evs)))
	for attempt := 0; ; attempt++ {
		status, rb, ok := d.attempt(ctx, body)
		if !ok {
			return
		}
		if status == http.StatusTooManyRequests {
			d.throttled.Add(1)
			if attempt == maxThrottleRetries {
				d.fail("HTTP 429 after retries")
				return
			}
			delay := min(25*time.Millisecond<<attempt, 2*time.Second)
			delay += time.Duration(mrand.Int64N(int64(delay)))
			select {
			case <-time.After(delay):
				continue
			case <-ctx.Done():
				return
			}
		}
		d.record(status, rb, len(evs), unique)
		return
	}
}

// nextEvents are the events of each journey's next step, and how many of
// them are not resends.
func (d *driver) nextEvents(group []*Journey) (evs []*scoring.Event, unique int) {
	d.mu.Lock()
	steps := make([]Step, len(group))
	for i, j := range group {
		steps[i] = j.Steps[len(d.sent[j])]
	}
	d.mu.Unlock()
	for _, s := range steps {
		evs = append(evs, s.Events...)
		if !s.Resend {
			unique += len(s.Events)
		}
	}
	return evs, unique
}

// attempt POSTs body once and returns the answer's status and body; ok is
// false when there is no answer (the failure is counted).
func (d *driver) attempt(ctx context.Context, body []byte) (status int, rb []byte, ok bool) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, d.url+"/v1/events", bytes.NewReader(body))
	req.Header.Set("x-api-key", d.apiKey)
	req.Header.Set("content-type", "application/json")
	start := time.Now()
	resp, err := d.client.Do(req)
	d.requests.Add(1)
	if err != nil {
		if ctx.Err() == nil {
			d.fail("transport: " + shortErr(err))
		}
		return 0, nil, false
	}
	rb, _ = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		d.latency.add(time.Since(start))
	}
	return resp.StatusCode, rb, true
}

// record counts a final answer: accepted events, or the error.
func (d *driver) record(status int, rb []byte, sent, unique int) {
	if status != http.StatusAccepted {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(rb, &e)
		d.fail(fmt.Sprintf("HTTP %d %s", status, e.Error))
		return
	}
	var ok struct {
		Accepted []struct {
			EventID string `json:"event_id"`
			LeadID  string `json:"lead_id"`
		} `json:"accepted"`
	}
	if err := json.Unmarshal(rb, &ok); err != nil {
		d.fail("unreadable 202")
		return
	}
	d.accepted.Add(int64(len(ok.Accepted)))
	if len(ok.Accepted) == sent {
		d.unique.Add(int64(unique))
	}
}

// progress draws the bar on stderr until the returned func is called.
func (d *driver) progress(quiet bool, total int, recv *Receiver) func() {
	if quiet {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	start := time.Now()
	go func() {
		defer wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			draw := func() {
				n := int(d.sentEvents.Load())
				rate := float64(d.accepted.Load()) / max(time.Since(start).Seconds(), 0.001)
				d.mu.Lock()
				errs := 0
				for _, v := range d.errs {
					errs += v
				}
				d.mu.Unlock()
				mqls := len(recv.Leads("lead.mql"))
				fmt.Fprintf(os.Stderr, "\r%s", progressBar(n, total, 30, fmt.Sprintf("events  %4.0f/s  %d MQL webhooks  %d errors ", rate, mqls, errs)))
			}
			select {
			case <-t.C:
				draw()
			case <-done:
				draw()
				fmt.Fprintln(os.Stderr)
				return
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func printReport(w io.Writer, r *Result) {
	fmt.Fprintf(w, "\nleadscore load against %s\n", r.Target)
	if r.StackSQS > 0 {
		fmt.Fprintf(w, "  local stack           %d environments per SQS consumer (-stack-sqs-concurrency)\n", r.StackSQS)
	}
	if len(r.Batching) > 0 {
		fmt.Fprintf(w, "  batching overrides    %s (-stack-batching)\n", strings.Join(r.Batching, ", "))
	}
	fmt.Fprintf(w, "  workload              %d leads, %d events in %d steps (%d resent, %d anonymous), %d concurrent, %d lead(s) per request\n",
		r.Leads, r.Mix.Events, r.Mix.Requests, r.Mix.Resent, r.Mix.Anonymous, r.Concurrency, r.Batch)
	fmt.Fprintf(w, "  personas              %s\n", mapLine(r.Mix.ByPersona))
	fmt.Fprintf(w, "  event types           %s\n", mapLine(r.Mix.ByType))
	fmt.Fprintf(w, "\n  %-26s %s\n", "metric", "value")
	fmt.Fprintf(w, "  %-26s %.0f events/s  (%d accepted, %d of them unique, in %.2f s; %d requests)\n",
		"accepted events/s", r.EventsPerS, r.Accepted, r.Unique, r.SendSeconds, r.Requests)
	fmt.Fprintf(w, "  %-26s %s\n", "POST /v1/events latency", r.PostLatency)
	fmt.Fprintf(w, "  %-26s %d requests answered 429 and retried (the API's throttling)\n", "throttled", r.Throttled)
	fmt.Fprintf(w, "  %-26s %s\n", "speed to lead", r.SpeedToLead)
	fmt.Fprintf(w, "  %-26s %s\n", "  POST to scoring", r.ToDecision)
	fmt.Fprintf(w, "  %-26s %s\n", "  scoring to webhook", r.ToWebhook)
	for _, k := range []string{TriggerHandRaise, TriggerEngagement} {
		if q, ok := r.ByTrigger[k]; ok {
			fmt.Fprintf(w, "  %-26s %s\n", "  qualified by "+k, q)
		}
	}
	fmt.Fprintf(w, "  %-26s %d predicted, %d arrived, %d missing, %d unexpected; %d deliveries, %d redelivered, %d bad signature\n",
		"MQL webhooks", r.MQL.Predicted, r.MQL.Arrived, r.MQL.Missing, r.MQL.Unexpected, r.Webhooks.Deliveries, r.Webhooks.Redeliveries, r.Webhooks.BadSignature)
	if c := r.Cost; c != nil && r.Accepted > 0 {
		acc := float64(r.Accepted)
		fmt.Fprintf(w, "  %-26s %.2f  (%.1f units for %d accepted events; %d DynamoDB requests)\n", "DynamoDB RU per event", c.CapacityUnits/acc, c.CapacityUnits, r.Accepted, c.DynamoDBRequests)
		if c.FailedConditional > 0 {
			fmt.Fprintf(w, "  %-26s %.2f  (+%d failed conditional writes, which AWS bills >= 1 WRU each and DynamoDB Local reports as 0)\n",
				"  with failed conditions", (c.CapacityUnits+float64(c.FailedConditional))/acc, c.FailedConditional)
		}
		fmt.Fprintf(w, "  %-26s %s\n", "  units by operation", strings.Join(breakdown(c.Ops, "dynamodb", func(o OpStats) float64 { return o.CapacityUnits }), "\n                               "))
		if c.AccountUnits > 0 {
			fmt.Fprintf(w, "  %-26s %.2f RU per event  (%.1f units: account items and member pages)\n", "  of it accounts", c.AccountUnits/acc, c.AccountUnits)
		}
		fmt.Fprintf(w, "  %-26s %.2f  (%d requests, %d of them empty long polls)\n", "SQS requests per event", float64(c.SQSRequests)/acc, c.SQSRequests, c.SQSEmptyReceives)
		fmt.Fprintf(w, "  %-26s %s\n", "  requests by caller", strings.Join(breakdown(c.Ops, "sqs", func(o OpStats) float64 { return float64(o.Requests) }), ", "))
		fmt.Fprintf(w, "  %-26s %s\n", "Lambda invocations", strings.Join(invocations(c.Ops), ", "))
	}
	if r.AccountDelay.N > 0 {
		fmt.Fprintf(w, "  %-26s %s\n", "lead -> account delay", r.AccountDelay)
	}
	if len(r.ScoreEMF) > 0 {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(r.ScoreEMF)) {
			parts = append(parts, fmt.Sprintf("%s %s", k, trimFloat(r.ScoreEMF[k])))
		}
		fmt.Fprintf(w, "  %-26s %s\n", "score function (EMF)", strings.Join(parts, ", "))
		if t := r.SendSeconds + r.DrainedIn; t > 0 {
			fmt.Fprintf(w, "  %-26s %.0f events/s over sending and draining (%.1f s)\n", "scored events/s", r.ScoreEMF["EventsScored"]/t, t)
		}
	}
	errs := 0
	for _, v := range r.Errors {
		errs += v
	}
	fmt.Fprintf(w, "  %-26s %d %s\n", "errors", errs, mapLine(r.Errors))
	fmt.Fprintf(w, "  %-26s drained in %.1f s, %d messages left; load average before %s, after %s\n", "", r.DrainedIn, r.Backlog, r.LoadAvg[0], r.LoadAvg[1])
	if r.Truncated {
		fmt.Fprintf(w, "  stopped by -duration before every event was sent\n")
	}
}

func mapLine(m map[string]int) string {
	keys := slices.Collect(maps.Keys(m))
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "n/a"
	}
	return strings.Join(f[:3], " ")
}

func shortErr(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
