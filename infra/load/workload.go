package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// WorkloadConfig shapes a generated workload. The persona weights follow the
// default rules' funnel (shared/scoring/default_rules.yaml): most people
// browse and read, fewer evaluate (pricing, bottom-of-funnel content,
// trials), some hand-raise, a few are job seekers.
type WorkloadConfig struct {
	// Events is the number of events to send, resends included.
	Events int
	// HandRaiserShare of the leads ask for a demo, a call or a quote with a
	// good fit, so they become MQL on that event (instant_on).
	HandRaiserShare float64
	// DuplicateShare of the requests are sent a second time with the same
	// event ids, as a client retrying after a timeout does.
	DuplicateShare float64
	// AnonymousShare of the non-hand-raising leads start as anonymous
	// visitors (anonymous_id only) and identify themselves later on a form,
	// which stitches their history into the lead.
	AnonymousShare float64
	// Seed makes the workload reproducible; RunID keeps event ids and emails
	// of separate runs apart, so a second run against the same stack is not
	// deduplicated away.
	Seed  uint64
	RunID string
}

// DefaultWorkload is the mix `make bench` runs.
func DefaultWorkload(events int) WorkloadConfig {
	return WorkloadConfig{Events: events, HandRaiserShare: 0.10, DuplicateShare: 0.05, AnonymousShare: 0.20, Seed: 1}
}

// Persona names, as the final table reports them.
const (
	PersonaHandRaiser = "hand-raiser"
	PersonaEvaluator  = "evaluator"
	PersonaResearcher = "researcher"
	PersonaBrowser    = "browser"
	PersonaJobSeeker  = "job-seeker"
)

// Step is one HTTP request of a journey: one event (a tracker's page view),
// or several of one lead at once (a burst flushed together, or an email
// platform's sync), or the resend of an earlier step.
type Step struct {
	Events []*scoring.Event
	// Resend is true when the step repeats an earlier step's events (same
	// event ids, same occurred_at).
	Resend bool
}

// Journey is one person's requests, sent in order (each after the previous
// one was answered).
type Journey struct {
	Persona string
	Email   string
	// LeadID is what the API will answer for Email.
	LeadID string
	Steps  []Step
	// MQLStep is the step after which the lead is predicted to be MQL
	// (scoring the events sent so far with the rules), or -1. Speed to lead
	// is measured from that step's POST.
	MQLStep int
}

// Events counts the journey's events, resends included.
func (j *Journey) Events() int {
	n := 0
	for _, s := range j.Steps {
		n += len(s.Events)
	}
	return n
}

// Generate builds journeys until cfg.Events events are planned, and predicts
// each lead's qualifying step with rules at now.
func Generate(cfg WorkloadConfig, rules *scoring.Rules, now time.Time) []*Journey {
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	g := &generator{cfg: cfg, rng: rng, now: now}
	var out []*Journey
	total := 0
	for total < cfg.Events {
		j := g.journey(len(out))
		// The last journey is cut to the budget, whole steps only.
		if left := cfg.Events - total; j.Events() > left {
			var kept []Step
			n := 0
			for _, s := range j.Steps {
				if n+len(s.Events) > left {
					break
				}
				kept = append(kept, s)
				n += len(s.Events)
			}
			if len(kept) == 0 {
				break
			}
			j.Steps = kept
		}
		total += j.Events()
		out = append(out, j)
	}
	for _, j := range out {
		j.MQLStep = predictMQL(j, rules, now)
	}
	return out
}

type generator struct {
	cfg WorkloadConfig
	rng *rand.Rand
	now time.Time
	seq int
}

func (g *generator) pick(xs ...string) string { return xs[g.rng.IntN(len(xs))] }
func (g *generator) chance(p float64) bool    { return g.rng.Float64() < p }

func (g *generator) persona() string {
	r := g.rng.Float64()
	if r < g.cfg.HandRaiserShare {
		return PersonaHandRaiser
	}
	// The rest split 25/35/28/12.
	r = (r - g.cfg.HandRaiserShare) / (1 - g.cfg.HandRaiserShare)
	switch {
	case r < 0.25:
		return PersonaEvaluator
	case r < 0.60:
		return PersonaResearcher
	case r < 0.88:
		return PersonaBrowser
	default:
		return PersonaJobSeeker
	}
}

// profile returns the lead's email and "lead" attributes. Hand-raisers get a
// good fit (senior, mid-market or larger, target industry and country: 50
// points or more, over fit_min 40); the others a realistic spread.
func (g *generator) profile(n int, persona string) (string, map[string]any) {
	first := g.pick("ada", "grace", "alan", "edsger", "barbara", "ken", "margaret", "linus", "radia", "dennis")
	last := g.pick("lovelace", "hopper", "turing", "dijkstra", "liskov", "thompson", "hamilton", "torvalds", "perlman", "ritchie")
	company := g.pick("acme", "initech", "globex", "umbrella", "hooli", "stark", "wayne", "cyberdyne", "tyrell", "soylent")
	domain := company + ".example.com"
	lead := map[string]any{"first_name": first, "last_name": last, "company": company}
	if persona == PersonaHandRaiser {
		lead["job_title"] = g.pick("VP Marketing", "Director of Sales", "Head of Growth", "CTO", "Chief Revenue Officer")
		lead["company_size"] = float64(g.pick2(250, 800, 1500, 4000, 12000))
		lead["industry"] = g.pick("software", "saas", "fintech", "e-commerce")
		lead["country"] = g.pick("US", "GB", "DE", "FR", "CA")
	} else {
		lead["job_title"] = g.pick("VP Engineering", "Director of IT", "Marketing Manager", "Team Lead", "Software Engineer",
			"Analyst", "Consultant", "Student", "Intern", "Head of Operations")
		lead["company_size"] = float64(g.pick2(5, 30, 80, 150, 300, 900, 2500, 7000))
		lead["industry"] = g.pick("software", "retail", "healthcare", "education", "manufacturing", "media", "government")
		lead["country"] = g.pick("US", "GB", "DE", "IN", "BR", "JP", "FR", "NG")
		switch r := g.rng.Float64(); {
		case r < 0.15:
			domain = g.pick("gmail.com", "outlook.com", "yahoo.com")
		case r < 0.20:
			domain = "uni.edu"
		}
	}
	if g.chance(0.2) {
		lead["phone"] = "+1 555 0100"
	}
	email := fmt.Sprintf("%s.%s.%s%d@%s", first, last, g.cfg.RunID, n, domain)
	return email, lead
}

func (g *generator) pick2(xs ...int) int { return xs[g.rng.IntN(len(xs))] }

func (g *generator) event(typ string, props map[string]any) *scoring.Event {
	g.seq++
	return &scoring.Event{EventID: fmt.Sprintf("load-%s-%d", g.cfg.RunID, g.seq), Type: typ, Properties: props}
}

func pv(url string) map[string]any { return map[string]any{"url": url} }

// journey builds one person's steps: a persona's funnel, identified on
// the way, then some resent steps.
func (g *generator) journey(n int) *Journey {
	persona := g.persona()
	email, lead := g.profile(n, persona)
	j := &Journey{Persona: persona, Email: email, LeadID: leadscore.LeadID(leadscore.NormalizeEmail(email)), MQLStep: -1}
	steps := g.funnel(persona)
	steps = g.identify(steps, persona, n, email, lead)
	j.Steps = g.withResends(steps)
	return j
}

func one(e *scoring.Event) Step { return Step{Events: []*scoring.Event{e}} }

// funnel is a persona's steps, without identity.
func (g *generator) funnel(persona string) []Step {
	var steps []Step
	switch persona {
	case PersonaHandRaiser:
		for range 1 + g.rng.IntN(3) {
			steps = append(steps, one(g.event("page_view", pv(g.pick("/", "/product", "/pricing", "/customers")))))
		}
		steps = append(steps, one(g.event(g.pick("demo_request", "demo_request", "contact_request", "quote_request"), map[string]any{"form_id": "demo"})))
		if g.chance(0.5) {
			steps = append(steps, one(g.event("page_view", pv("/thank-you"))))
		}
	case PersonaEvaluator:
		steps = append(steps, one(g.event("ad_click", map[string]any{"campaign": g.pick("search-brand", "linkedin-abm")})))
		steps = append(steps, one(g.event("page_view", pv("/product"))))
		// A pricing burst: three visits within seconds (pricing-urgency).
		burst := Step{}
		for i := range 2 + g.rng.IntN(3) {
			p := pv("/pricing")
			if i == 0 {
				p["duration_s"] = float64(30 + g.rng.IntN(120))
			}
			burst.Events = append(burst.Events, g.event("page_view", p))
		}
		steps = append(steps, burst)
		steps = append(steps, one(g.event("content_download", map[string]any{"asset_id": "roi-calculator", "funnel_stage": g.pick("bottom", "middle")})))
		if g.chance(0.6) {
			steps = append(steps, one(g.event("webinar_register", map[string]any{"campaign": "product-tour"})))
		}
		if g.chance(0.5) {
			steps = append(steps, one(g.event("trial_signup", nil)))
			steps = append(steps, one(g.event("demo_use", nil)))
		}
	case PersonaResearcher:
		for range 2 + g.rng.IntN(4) {
			steps = append(steps, one(g.event("page_view", pv(g.pick("/blog/lead-scoring-101", "/blog/mql-vs-sql", "/blog/intent-data", "/")))))
		}
		steps = append(steps, one(g.event("content_download", map[string]any{"asset_id": "ebook", "funnel_stage": g.pick("top", "top", "middle")})))
		if g.chance(0.5) {
			steps = append(steps, one(g.event("newsletter_signup", nil)))
		}
		if g.chance(0.4) {
			steps = append(steps, one(g.event("webinar_register", nil)), one(g.event("webinar_attend", map[string]any{"duration_s": float64(1800)})))
		}
		// The email platform syncs opens and clicks in one request.
		if g.chance(0.5) {
			steps = append(steps, Step{Events: []*scoring.Event{g.event("email_open", nil), g.event("email_open", nil), g.event("email_click", pv("/blog/intent-data"))}})
		}
	case PersonaBrowser:
		for range 1 + g.rng.IntN(5) {
			steps = append(steps, one(g.event("page_view", pv(g.pick("/", "/blog/mql-vs-sql", "/about", "/pricing")))))
		}
		if g.chance(0.3) {
			steps = append(steps, one(g.event("ad_click", map[string]any{"campaign": "display-retarget"})))
		}
	case PersonaJobSeeker:
		steps = append(steps, one(g.event("page_view", pv("/careers"))), one(g.event("page_view", pv("/jobs/backend-engineer"))))
		if g.chance(0.5) {
			steps = append(steps, one(g.event("page_view", pv("/about"))))
		}
	}

	return steps
}

// identify puts the email, the cookie and the lead attributes on the steps'
// events.
func (g *generator) identify(steps []Step, persona string, n int, email string, lead map[string]any) []Step {
	// Identity: an anonymous start identifies on a form (newsletter or an
	// ebook), which stitches the cookie's history into the lead; otherwise
	// every event names the email, and the lead attributes come with the
	// first one and with every form-like event.
	anonymous := persona != PersonaHandRaiser && g.chance(g.cfg.AnonymousShare) && len(steps) > 1
	cookie := fmt.Sprintf("anon-%s-%d", g.cfg.RunID, n)
	identifyAt := 0
	if anonymous {
		identifyAt = 1 + g.rng.IntN(len(steps)-1)
		form := g.event("form_submit", map[string]any{"form_id": g.pick("newsletter", "ebook")})
		steps = append(steps[:identifyAt], append([]Step{one(form)}, steps[identifyAt:]...)...)
	}
	for i, s := range steps {
		for k, e := range s.Events {
			switch {
			case i < identifyAt:
				e.AnonymousID = cookie
			case i == identifyAt:
				e.Email = email
				if anonymous {
					e.AnonymousID = cookie
				}
			default:
				e.Email = email
			}
			if e.Email != "" && (i == identifyAt && k == 0 || isForm(e.Type)) {
				e.Lead = lead
			}
		}
	}
	return steps
}

// withResends adds resends: a client retrying a request it thinks failed,
// a little later.
func (g *generator) withResends(steps []Step) []Step {
	var out []Step
	var pending []Step
	for _, s := range steps {
		out = append(out, s)
		if len(pending) > 0 && g.chance(0.5) {
			out = append(out, pending[0])
			pending = pending[1:]
		}
		if g.chance(g.cfg.DuplicateShare) {
			pending = append(pending, Step{Events: s.Events, Resend: true})
		}
	}
	return append(out, pending...)
}

func isForm(typ string) bool {
	switch typ {
	case "form_submit", "content_download", "demo_request", "contact_request", "quote_request",
		"newsletter_signup", "webinar_register", "trial_signup":
		return true
	}
	return false
}

// predictMQL scores the journey's events step by step as the score function
// will (anonymous events join the lead when it identifies; resent ids count
// once) and returns the first step after which the lead is MQL, or -1.
func predictMQL(j *Journey, rules *scoring.Rules, now time.Time) int {
	st := scoring.NewState()
	seen := map[string]bool{}
	var anon []scoring.Event
	identified := false
	for i, s := range j.Steps {
		var batch []scoring.Event
		for _, e := range s.Events {
			if seen[e.EventID] {
				continue
			}
			seen[e.EventID] = true
			ev := *e
			if ev.OccurredAt.IsZero() {
				ev.OccurredAt = now
			}
			ev.Email = strings.ToLower(ev.Email)
			if ev.Email == "" {
				anon = append(anon, ev)
				continue
			}
			batch = append(batch, ev)
		}
		if len(batch) == 0 {
			continue
		}
		if !identified {
			identified = true
			batch = append(anon, batch...)
		}
		st.Apply(batch, rules)
		if st.Evaluate(rules, now).Stage == scoring.StageMQL {
			return i
		}
	}
	return -1
}

// Mix counts a workload's events by type and journeys by persona.
type Mix struct {
	Events      int
	Resent      int
	Anonymous   int
	ByType      map[string]int
	ByPersona   map[string]int
	PredictedMQ int
	Requests    int
}

// MixOf summarizes journeys.
func MixOf(js []*Journey) Mix {
	m := Mix{ByType: map[string]int{}, ByPersona: map[string]int{}}
	for _, j := range js {
		m.ByPersona[j.Persona]++
		if j.MQLStep >= 0 {
			m.PredictedMQ++
		}
		for _, s := range j.Steps {
			m.Requests++
			for _, e := range s.Events {
				m.Events++
				if s.Resend {
					m.Resent++
					continue
				}
				m.ByType[e.Type]++
				if e.Email == "" {
					m.Anonymous++
				}
			}
		}
	}
	return m
}
