package scoring

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

var benchNow = time.Date(2026, 11, 22, 15, 0, 0, 0, time.UTC)

// typicalEvents is a realistic lead: n events over `days` days before
// benchNow, mostly page views, some downloads, emails and a webinar.
func typicalEvents(n, days int, seed uint64) []Event {
	rng := rand.New(rand.NewPCG(seed, 1))
	urls := []string{"/", "/pricing", "/blog/post", "/product", "/careers", "/docs/start", "/pricing/enterprise"}
	stages := []string{"top", "middle", "bottom"}
	evs := make([]Event, 0, n)
	for i := range n {
		at := benchNow.Add(-time.Duration(rng.IntN(days*24*60)) * time.Minute)
		e := Event{EventID: "ev-" + strconv.Itoa(i), OccurredAt: at, Email: "ada@acme.io"}
		switch k := rng.IntN(20); {
		case k < 12:
			e.Type = "page_view"
			e.Properties = map[string]any{"url": urls[rng.IntN(len(urls))], "duration_s": float64(rng.IntN(120))}
		case k < 14:
			e.Type = "content_download"
			e.Properties = map[string]any{"funnel_stage": stages[rng.IntN(3)]}
		case k < 17:
			e.Type = "email_open"
		case k < 19:
			e.Type = "email_click"
		default:
			e.Type = "webinar_attend"
		}
		if i == 0 {
			e.Lead = map[string]any{"job_title": "Head of Marketing", "company_size": 800.0, "industry": "Software", "country": "DE"}
		}
		evs = append(evs, e)
	}
	return evs
}

func BenchmarkApplyOne(b *testing.B) {
	r := DefaultRules()
	s := NewState()
	s.Apply(typicalEvents(300, 90, 1), r)
	s.Evaluate(r, benchNow)
	one := []Event{{EventID: "x", Type: "page_view", OccurredAt: benchNow.Add(-time.Hour), Email: "ada@acme.io",
		Properties: map[string]any{"url": "/pricing", "duration_s": 75.0}}}
	s.Apply(one, r)
	b.ReportAllocs()
	for b.Loop() {
		s.Apply(one, r)
	}
}

func BenchmarkApplyEvaluateOne(b *testing.B) {
	r := DefaultRules()
	s := NewState()
	s.Apply(typicalEvents(300, 90, 1), r)
	s.Evaluate(r, benchNow)
	one := []Event{{EventID: "x", Type: "page_view", OccurredAt: benchNow.Add(-time.Hour), Email: "ada@acme.io",
		Properties: map[string]any{"url": "/pricing", "duration_s": 75.0}}}
	b.ReportAllocs()
	for b.Loop() {
		s.Apply(one, r)
		s.Evaluate(r, benchNow)
	}
}

func BenchmarkEvaluate1000Events(b *testing.B) {
	r := DefaultRules()
	s := NewState()
	s.Apply(typicalEvents(1000, 365, 2), r)
	s.Evaluate(r, benchNow)
	b.ReportAllocs()
	for b.Loop() {
		s.Evaluate(r, benchNow)
	}
}

func BenchmarkParseDefaultRules(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRules(defaultRulesYAML); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalState(b *testing.B) {
	r := DefaultRules()
	s := NewState()
	s.Apply(typicalEvents(1000, 365, 2), r)
	s.Evaluate(r, benchNow)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.MarshalBinary(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvaluate1000EventsCold is the first evaluation after loading the
// state (no cached per-rule sums), as in the score function.
func BenchmarkEvaluate1000EventsCold(b *testing.B) {
	r := DefaultRules()
	s := NewState()
	s.Apply(typicalEvents(1000, 365, 2), r)
	s.Evaluate(r, benchNow)
	b.ReportAllocs()
	for b.Loop() {
		clear(s.sums)
		clear(s.bdays)
		s.fitFor = nil
		s.Evaluate(r, benchNow)
	}
}

// TestApplyAllocatesNothing pins the target: zero heap allocations
// per applied event in steady state (rule and day already present, same
// email, no new attribute).
func TestApplyAllocatesNothing(t *testing.T) {
	r := DefaultRules()
	s := NewState()
	s.Apply(typicalEvents(300, 90, 1), r)
	batch := []Event{
		{EventID: "x", Type: "page_view", OccurredAt: benchNow.Add(-time.Hour), Email: "ada@acme.io", Properties: map[string]any{"url": "/pricing", "duration_s": 75.0}},
		{EventID: "y", Type: "content_download", OccurredAt: benchNow.Add(-time.Hour), Email: "ada@acme.io", Properties: map[string]any{"funnel_stage": "bottom"}},
		{EventID: "z", Type: "email_click", OccurredAt: benchNow.Add(-time.Hour), Email: "ada@acme.io", Lead: map[string]any{"job_title": "Head of Marketing"}},
	}
	s.Apply(batch, r)
	if n := testing.AllocsPerRun(1000, func() { s.Apply(batch, r) }); n != 0 {
		t.Errorf("Apply allocates %v times per call in steady state", n)
	}
}
