package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/metrics"
	"github.com/leadscore/leadscore/shared/scoring"
	"github.com/leadscore/leadscore/shared/webhook"
)

func ms(xs ...int) []time.Duration {
	out := make([]time.Duration, len(xs))
	for i, x := range xs {
		out[i] = time.Duration(x) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // reversed: Percentile must sort
	}
	tests := []struct {
		name string
		xs   []time.Duration
		p    float64
		want time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value", ms(7), 99, 7 * time.Millisecond},
		{"median of odd count", ms(3, 1, 2), 50, 2 * time.Millisecond},
		{"nearest rank rounds up", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p51 of four", ms(1, 2, 3, 4), 51, 3 * time.Millisecond},
		{"p99 of 1..100", ms(hundred...), 99, 99 * time.Millisecond},
		{"p100 is the max", ms(hundred...), 100, 100 * time.Millisecond},
		{"tiny p is the min", ms(5, 9, 1), 0.1, 1 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]time.Duration(nil), tt.xs...)
			if got := Percentile(tt.xs, tt.p); got != tt.want {
				t.Errorf("Percentile(%v, %v) = %v, want %v", tt.xs, tt.p, got, tt.want)
			}
			for i := range in {
				if in[i] != tt.xs[i] {
					t.Fatalf("Percentile modified its input")
				}
			}
		})
	}
}

func TestGenerateFollowsTheFunnel(t *testing.T) {
	rules := scoring.DefaultRules()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	cfg := DefaultWorkload(20000)
	cfg.RunID = "t1"
	js := Generate(cfg, rules, now)
	mix := MixOf(js)

	if mix.Events != cfg.Events {
		t.Errorf("planned %d events, want exactly %d", mix.Events, cfg.Events)
	}
	share := func(n int) float64 { return float64(n) / float64(len(js)) }
	if s := share(mix.ByPersona[PersonaHandRaiser]); s < 0.07 || s > 0.13 {
		t.Errorf("hand-raiser share %.3f, want about %.2f", s, cfg.HandRaiserShare)
	}
	for _, p := range []string{PersonaEvaluator, PersonaResearcher, PersonaBrowser, PersonaJobSeeker} {
		if mix.ByPersona[p] == 0 {
			t.Errorf("no %s in %d journeys", p, len(js))
		}
	}
	if s := float64(mix.Resent) / float64(mix.Events); s < 0.02 || s > 0.09 {
		t.Errorf("resent share %.3f, want about %.2f", s, cfg.DuplicateShare)
	}
	if mix.Anonymous == 0 {
		t.Error("no anonymous events")
	}
	for _, typ := range []string{"page_view", "content_download", "webinar_register", "webinar_attend", "trial_signup",
		"newsletter_signup", "ad_click", "demo_request", "form_submit", "email_open"} {
		if mix.ByType[typ] == 0 {
			t.Errorf("no %s event in the mix", typ)
		}
	}
	if mix.ByType["page_view"] < mix.Events/3 {
		t.Errorf("page views are %d of %d events; the top of the funnel should dominate", mix.ByType["page_view"], mix.Events)
	}

	ids := map[string]bool{}
	for _, j := range js {
		seen := map[string]bool{}
		identified := false
		for i, s := range j.Steps {
			if len(s.Events) == 0 {
				t.Fatalf("%s step %d has no event", j.Email, i)
			}
			for _, e := range s.Events {
				if !rules.KnownEventType(e.Type) {
					t.Errorf("event type %q is not known to the default rules", e.Type)
				}
				if s.Resend != seen[e.EventID] {
					t.Errorf("%s step %d: resend=%v but event %s seen before=%v", j.Email, i, s.Resend, e.EventID, seen[e.EventID])
				}
				if !s.Resend && ids[e.EventID] {
					t.Errorf("event id %s used by two journeys or steps", e.EventID)
				}
				seen[e.EventID], ids[e.EventID] = true, true
				if e.Email == "" && identified && !s.Resend {
					t.Errorf("%s step %d: anonymous event after identification", j.Email, i)
				}
				if e.Email != "" {
					identified = true
					if e.Email != j.Email {
						t.Errorf("event email %q in journey of %q", e.Email, j.Email)
					}
				}
				if e.Email == "" && e.AnonymousID == "" {
					t.Errorf("%s step %d: event with neither email nor anonymous_id", j.Email, i)
				}
			}
		}
		if j.LeadID != leadscore.LeadID(leadscore.NormalizeEmail(j.Email)) {
			t.Errorf("lead id %s does not match %s", j.LeadID, j.Email)
		}
		switch j.Persona {
		case PersonaHandRaiser:
			// The qualifying step is the hand-raise itself (instant_on), or an
			// earlier one when pricing visits already made the lead an MQL.
			raise := -1
			for i, s := range j.Steps {
				if typ := s.Events[0].Type; raise < 0 && (typ == "demo_request" || typ == "contact_request" || typ == "quote_request") {
					raise = i
				}
			}
			if raise >= 0 && (j.MQLStep < 0 || j.MQLStep > raise) {
				t.Errorf("hand-raiser %s predicted MQL at step %d, want at or before its hand-raise (step %d)", j.Email, j.MQLStep, raise)
			}
		case PersonaJobSeeker:
			if j.MQLStep >= 0 {
				t.Errorf("job seeker %s predicted MQL", j.Email)
			}
		}
	}

	again := Generate(cfg, rules, now)
	if len(again) != len(js) || again[len(js)/2].Email != js[len(js)/2].Email || again[7].Steps[0].Events[0].Type != js[7].Steps[0].Events[0].Type {
		t.Error("the same seed made a different workload")
	}
}

func TestPredictMQLMatchesTheScoringModule(t *testing.T) {
	rules := scoring.DefaultRules()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	good := map[string]any{"job_title": "VP Marketing", "company_size": 800.0, "industry": "software", "country": "US"}
	ev := func(id, typ string, props map[string]any, lead map[string]any) *scoring.Event {
		return &scoring.Event{EventID: id, Type: typ, Email: "a@acme.example.com", Properties: props, Lead: lead}
	}
	tests := []struct {
		name  string
		steps []Step
		want  int
	}{
		{"demo request with a good fit", []Step{{Events: []*scoring.Event{ev("1", "page_view", pv("/"), good)}}, {Events: []*scoring.Event{ev("2", "demo_request", nil, nil)}}}, 1},
		{"demo request with a poor fit", []Step{{Events: []*scoring.Event{ev("1", "demo_request", nil, map[string]any{"job_title": "Student"})}}}, -1},
		{"engagement over 50 in one burst", []Step{
			{Events: []*scoring.Event{ev("1", "content_download", map[string]any{"funnel_stage": "bottom"}, good)}},
			{Events: []*scoring.Event{ev("2", "page_view", pv("/pricing"), nil), ev("3", "page_view", pv("/pricing"), nil), ev("4", "page_view", pv("/pricing"), nil)}},
		}, 1},
		{"a resent id counts once", []Step{
			{Events: []*scoring.Event{ev("1", "trial_signup", nil, good)}},
			{Events: []*scoring.Event{ev("1", "trial_signup", nil, good)}, Resend: true},
		}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := predictMQL(&Journey{Steps: tt.steps}, rules, now); got != tt.want {
				t.Errorf("predictMQL = %d, want %d", got, tt.want)
			}
		})
	}
}

func signed(t *testing.T, secret string, ts int64, h leadscore.Handoff) *http.Request {
	t.Helper()
	body, _ := json.Marshal(h)
	req := httptest.NewRequest(http.MethodPost, "/sales", bytes.NewReader(body))
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(webhook.HeaderSignature, webhook.Sign([]byte(secret), ts, body))
	return req
}

func TestReceiverVerifiesAndRecords(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	mql := func(tr, lead string) leadscore.Handoff {
		return leadscore.Handoff{TransitionID: tr, Type: "lead.mql", Lead: leadscore.LeadView{LeadID: lead}}
	}
	tests := []struct {
		name       string
		req        func() *http.Request
		wantStatus int
		wantLead   string
	}{
		{"signed by the secret", func() *http.Request { return signed(t, "s3cret", now.Unix(), mql("tr_1", "ld_1")) }, http.StatusNoContent, "ld_1"},
		{"signed by another secret", func() *http.Request { return signed(t, "other", now.Unix(), mql("tr_2", "ld_2")) }, http.StatusUnauthorized, ""},
		{"replayed after the window", func() *http.Request {
			return signed(t, "s3cret", now.Add(-webhook.DefaultMaxAge-time.Minute).Unix(), mql("tr_3", "ld_3"))
		}, http.StatusUnauthorized, ""},
		{"body changed after signing", func() *http.Request {
			req := signed(t, "s3cret", now.Unix(), mql("tr_4", "ld_4"))
			req.Body = io.NopCloser(strings.NewReader(`{"transition_id":"tr_4","type":"lead.mql","lead":{"lead_id":"ld_evil"}}`))
			return req
		}, http.StatusUnauthorized, ""},
		{"no signature", func() *http.Request {
			return httptest.NewRequest(http.MethodPost, "/sales", strings.NewReader(`{}`))
		}, http.StatusUnauthorized, ""},
		{"signed but not a handoff", func() *http.Request { return signed(t, "s3cret", now.Unix(), leadscore.Handoff{}) }, http.StatusBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReceiver("s3cret")
			r.now = func() time.Time { return now }
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, tt.req())
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tt.wantStatus, rec.Body)
			}
			leads := r.Leads("lead.mql")
			if tt.wantLead == "" && len(leads) != 0 || tt.wantLead != "" && (len(leads) != 1 || leads[0] != tt.wantLead) {
				t.Errorf("recorded MQL leads %v, want %q", leads, tt.wantLead)
			}
		})
	}

	t.Run("a redelivery keeps the first arrival", func(t *testing.T) {
		r := NewReceiver("s3cret")
		at := now
		r.now = func() time.Time { return at }
		r.ServeHTTP(httptest.NewRecorder(), signed(t, "s3cret", now.Unix(), mql("tr_9", "ld_9")))
		at = now.Add(3 * time.Second)
		r.ServeHTTP(httptest.NewRecorder(), signed(t, "s3cret", now.Unix(), mql("tr_9", "ld_9")))
		a, ok := r.First("ld_9", "lead.mql")
		if !ok || !a.At.Equal(now) || a.TransitionID != "tr_9" {
			t.Errorf("first arrival %+v %v, want tr_9 at %v", a, ok, now)
		}
		if c := r.Counts(); c.Deliveries != 2 || c.Redeliveries != 1 {
			t.Errorf("counts %+v, want 2 deliveries, 1 redelivery", c)
		}
	})
}

// TestEMFKeepsTheAccountDelays: the lead-to-account delays the score
// function reports come back as quantiles, each value counted once.
func TestEMFKeepsTheAccountDelays(t *testing.T) {
	var buf bytes.Buffer
	m := metrics.New(&buf, "leadscore-ScoreFunction-1A2B")
	for i := 1; i <= 100; i++ {
		m.Milliseconds("AccountUpdateDelay", time.Duration(i)*100*time.Millisecond)
		if i%7 == 0 {
			m.Flush()
		}
	}
	m.Flush()
	var e EMF
	for _, line := range bytes.Split(buf.Bytes(), []byte("\n")) {
		e.AddLine(line)
	}
	q := e.Quantiles("ScoreFunction", "AccountUpdateDelay")
	if q.N != 100 || q.P50 != 5000 || q.P99 != 9900 || q.Max != 10000 {
		t.Errorf("quantiles %+v, want n=100, p50 5 s, p99 9.9 s, max 10 s", q)
	}
	if q := e.Quantiles("IngestFunction", "AccountUpdateDelay"); q.N != 0 {
		t.Errorf("another function's quantiles %+v, want none", q)
	}
}

func TestEMFSumsTheMetricsWriterOutput(t *testing.T) {
	var buf bytes.Buffer
	m := metrics.New(&buf, "leadscore-ScoreFunction-1A2B")
	m.Count("EventsScored", 40)
	m.Add("DynamoDBCapacityUnits", metrics.UnitCount, 12.5)
	m.Milliseconds("BatchLatency", 300*time.Millisecond)
	m.Flush()
	m.Count("EventsScored", 2)
	m.Add("DynamoDBCapacityUnits", metrics.UnitCount, 1)
	m.Add("DynamoDBCapacityUnits", metrics.UnitCount, 2)
	m.Flush()
	other := metrics.New(&buf, "leadscore-IngestFunction-3C4D")
	other.Count("EventsScored", 1000)
	other.Flush()

	var e EMF
	lines := 0
	for _, line := range bytes.Split(buf.Bytes(), []byte("\n")) {
		if e.AddLine(line) {
			lines++
		}
	}
	if !e.AddLine([]byte(`{"level":"info","msg":"batch scored"}`)) == false {
		t.Error("a log line was taken for EMF")
	}
	if lines != 3 {
		t.Fatalf("%d EMF lines read, want 3:\n%s", lines, buf.String())
	}
	if got := e.Sum("ScoreFunction", "EventsScored"); got != 42 {
		t.Errorf("score EventsScored = %v, want 42", got)
	}
	if got := e.Sum("ScoreFunction", "DynamoDBCapacityUnits"); got != 15.5 {
		t.Errorf("score DynamoDBCapacityUnits = %v, want 15.5", got)
	}
	if got := e.Sum("ScoreFunction", "BatchLatency"); got != 300 {
		t.Errorf("score BatchLatency = %v, want 300", got)
	}
	if got := e.Invocations("ScoreFunction"); got != 2 {
		t.Errorf("score invocations = %d, want 2", got)
	}
	e.Reset()
	if got := e.Sum("ScoreFunction", "EventsScored"); got != 0 {
		t.Errorf("after Reset EventsScored = %v", got)
	}
}

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		url  string
		want bool
	}{
		{"http://127.0.0.1:3000", true},
		{"http://localhost:3000", true},
		{"http://[::1]:3000", true},
		{"http://127.9.9.9", true},
		{"https://abc.execute-api.us-east-1.amazonaws.com", false},
		{"http://10.0.0.5:3000", false},
		{"http://localhost.evil.com", false},
		{"not a url", false},
	}
	for _, tt := range tests {
		if got := isLoopback(tt.url); got != tt.want {
			t.Errorf("isLoopback(%q) = %v, want %v", tt.url, got, tt.want)
		}
	}
}

// TestDriverSendsEachLeadsStepsInOrder drives an HTTP server that records
// what it receives: every step is posted, a lead's steps in their order,
// several leads per request with -batch, 429s retried, and the 202 answers
// are counted.
func TestDriverSendsEachLeadsStepsInOrder(t *testing.T) {
	tests := []struct {
		name       string
		batch      int
		throttleNo int // answer every n-th request 429 (0: never)
	}{
		{"one step per request", 1, 0},
		{"five leads per request", 5, 0},
		{"throttled every third request", 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var arrivals []string // event ids in arrival order
			maxPerRequest, calls := 0, 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("x-api-key") != "k" || r.URL.Path != "/v1/events" {
					http.Error(w, "bad request", http.StatusBadRequest)
					return
				}
				mu.Lock()
				calls++
				throttle := tt.throttleNo > 0 && calls%tt.throttleNo == 0
				mu.Unlock()
				if throttle {
					http.Error(w, `{"message":"Too Many Requests"}`, http.StatusTooManyRequests)
					return
				}
				var body struct {
					Events []scoring.Event `json:"events"`
				}
				b, _ := io.ReadAll(r.Body)
				if !bytes.HasPrefix(b, []byte(`{"events"`)) {
					var one scoring.Event
					_ = json.Unmarshal(b, &one)
					body.Events = []scoring.Event{one}
				} else {
					_ = json.Unmarshal(b, &body)
				}
				var acc []string
				mu.Lock()
				for _, e := range body.Events {
					arrivals = append(arrivals, e.EventID)
					acc = append(acc, fmt.Sprintf(`{"event_id":%q,"lead_id":"x"}`, e.EventID))
				}
				maxPerRequest = max(maxPerRequest, len(body.Events))
				mu.Unlock()
				w.WriteHeader(http.StatusAccepted)
				fmt.Fprintf(w, `{"accepted":[%s],"duplicates":0}`, strings.Join(acc, ","))
			}))
			defer srv.Close()

			cfg := DefaultWorkload(600)
			cfg.RunID = "drv"
			js := Generate(cfg, scoring.DefaultRules(), time.Now())
			d := &driver{client: srv.Client(), url: srv.URL, apiKey: "k", errs: map[string]int{}}
			d.send(t.Context(), js, 8, tt.batch)

			if d.accepted.Load() != 600 || len(d.errs) != 0 {
				t.Fatalf("accepted %d, errors %v; want 600 and none", d.accepted.Load(), d.errs)
			}
			if tt.batch > 1 && maxPerRequest < 2 {
				t.Errorf("batch %d but no request carried more than one event", tt.batch)
			}
			if tt.throttleNo > 0 && d.throttled.Load() == 0 {
				t.Error("no request was counted as throttled")
			}
			for _, j := range js {
				var want []string
				mine := map[string]bool{}
				for _, s := range j.Steps {
					for _, e := range s.Events {
						if e.OccurredAt.IsZero() {
							t.Errorf("event %s sent without occurred_at", e.EventID)
						}
						want = append(want, e.EventID)
						mine[e.EventID] = true
					}
				}
				var have []string
				mu.Lock()
				for _, id := range arrivals {
					if mine[id] {
						have = append(have, id)
					}
				}
				mu.Unlock()
				if strings.Join(have, ",") != strings.Join(want, ",") {
					t.Errorf("%s: server got %v, want %v in order", j.Email, have, want)
				}
				if len(d.sent[j]) != len(j.Steps) {
					t.Errorf("%s: %d steps recorded as sent, want %d", j.Email, len(d.sent[j]), len(j.Steps))
				}
			}
		})
	}
}

func TestProgressBar(t *testing.T) {
	tests := []struct {
		done, total int
		want        string
	}{
		{0, 10, "[>         ]   0% 0/10 x"},
		{5, 10, "[=====>    ]  50% 5/10 x"},
		{10, 10, "[==========] 100% 10/10 x"},
		{12, 10, "[==========] 100% 12/10 x"},
	}
	for _, tt := range tests {
		if got := progressBar(tt.done, tt.total, 10, "x"); got != tt.want {
			t.Errorf("progressBar(%d, %d) = %q, want %q", tt.done, tt.total, got, tt.want)
		}
	}
}

func TestBreakdownSplitsByIndex(t *testing.T) {
	ops := []OpStats{
		{Service: "dynamodb", Caller: "ScoreFunction", Op: "PutItem lead", Requests: 10, CapacityUnits: 30, ByIndex: map[string]float64{"table": 10, "stage-index": 12, "due-index": 8}},
		{Service: "dynamodb", Caller: "ScoreFunction", Op: "PutItem event", Requests: 12, CapacityUnits: 12, ByIndex: map[string]float64{"table": 12}},
		{Service: "dynamodb", Caller: "ScoreFunction", Op: "GetItem lead", Requests: 5, CapacityUnits: 0},
		{Service: "sqs", Caller: "IngestFunction", Op: "SendMessageBatch", Requests: 40},
	}
	got := strings.Join(breakdown(ops, "dynamodb", func(o OpStats) float64 { return o.CapacityUnits }), " | ")
	want := "Score PutItem lead 30 (10 req; table 10, due-index 8, stage-index 12) | Score PutItem event 12"
	if got != want {
		t.Errorf("breakdown = %q\nwant        %q", got, want)
	}
	c := costOf(ops)
	if c.CapacityUnits != 42 || c.DynamoDBRequests != 27 || c.SQSRequests != 40 {
		t.Errorf("costOf = %+v", c)
	}
}

func TestTriggerNamesHandRaises(t *testing.T) {
	rules := scoring.DefaultRules()
	tests := []struct {
		types []string
		want  string
	}{
		{[]string{"demo_request"}, TriggerHandRaise},
		{[]string{"page_view", "quote_request"}, TriggerHandRaise},
		{[]string{"page_view", "page_view", "page_view"}, TriggerEngagement},
		{[]string{"content_download"}, TriggerEngagement},
	}
	for _, tt := range tests {
		var s Step
		for _, typ := range tt.types {
			s.Events = append(s.Events, &scoring.Event{Type: typ})
		}
		if got := trigger(s, rules); got != tt.want {
			t.Errorf("trigger(%v) = %s, want %s", tt.types, got, tt.want)
		}
	}
}
