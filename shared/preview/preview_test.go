package preview

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/leadscore/leadscore/shared/scoring"
)

var now = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// randomHistory is a lead's events over the last 60 days: page views
// (pricing, careers), downloads, forms, and sometimes a demo request or a
// sales outcome, with fit attributes that vary.
func randomHistory(rng *rand.Rand, id int) []scoring.Event {
	email := fmt.Sprintf("p%d@co%d.example", id, id%7)
	titles := []string{"VP Engineering", "Student", "Marketing Manager", "Engineer", "CEO"}
	sizes := []float64{10, 80, 400, 9000}
	var evs []scoring.Event
	for i := range 1 + rng.IntN(25) {
		e := scoring.Event{EventID: fmt.Sprintf("e%d-%d", id, i), Email: email,
			OccurredAt: now.Add(-time.Duration(rng.IntN(60*24)) * time.Hour),
			Lead:       map[string]any{"job_title": titles[rng.IntN(len(titles))], "company_size": sizes[rng.IntN(len(sizes))]}}
		switch r := rng.IntN(20); {
		case r < 8:
			e.Type, e.Properties = "page_view", map[string]any{"url": []string{"/pricing", "/blog/x", "/careers"}[rng.IntN(3)], "duration_s": float64(rng.IntN(120))}
		case r < 12:
			e.Type, e.Properties = "content_download", map[string]any{"funnel_stage": []string{"top", "middle", "bottom"}[rng.IntN(3)]}
		case r < 16:
			e.Type = "form_submit"
		case r < 18:
			e.Type = "demo_request"
		case r < 19:
			e.Type = "sales_accepted"
		default:
			e.Type = "trial_signup"
		}
		evs = append(evs, e)
	}
	return evs
}

// stored is a lead as the score function leaves it: its history applied
// under rules and evaluated at each event's time, then at now.
func stored(history []scoring.Event, rules *scoring.Rules) *scoring.State {
	st := scoring.NewLeadState()
	for _, e := range history {
		st.Apply([]scoring.Event{e}, rules)
		st.Evaluate(rules, e.OccurredAt)
	}
	st.Evaluate(rules, now)
	return st
}

// draftOf raises or lowers the points of some engagement rules and the MQL
// bar of the default rules, by editing the YAML text.
func draftOf(t *testing.T, rng *rand.Rand) *scoring.Rules {
	doc := string(scoring.DefaultRulesYAML())
	for _, id := range []string{"pricing-visit", "form-fill", "content-bottom", "demo-request"} {
		i := strings.Index(doc, "- id: "+id)
		j := i + strings.Index(doc[i:], "points: ")
		k := j + strings.Index(doc[j:], "\n")
		doc = doc[:j] + fmt.Sprintf("points: %d", rng.IntN(60)-10) + doc[k:]
	}
	doc = strings.Replace(doc, "fit_min: 40", fmt.Sprintf("fit_min: %d", rng.IntN(50)), 1)
	r, err := scoring.ParseRules([]byte(doc))
	if err != nil {
		t.Fatalf("draft: %v", err)
	}
	return r
}

// TestPublishedRulesPreviewAsNoChange: a dry run of the rules a lead was
// scored with changes neither its scores nor its stage.
func TestPublishedRulesPreviewAsNoChange(t *testing.T) {
	rules := scoring.DefaultRules()
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range 300 {
		h := randomHistory(rng, i)
		o := Lead("ld", "", stored(h, rules), h, rules, rules, now)
		if o.Before != o.After {
			t.Fatalf("lead %d: previewing the published rules moves it from %+v to %+v", i, o.Before, o.After)
		}
	}
}

// TestLeadIsTheRescore: the dry run's after stage is what the
// rescore does, and it is a function of the state and history only: two
// dry runs of fresh copies agree, and the before scores are the published
// ones at now.
func TestLeadIsTheRescore(t *testing.T) {
	rules := scoring.DefaultRules()
	rng := rand.New(rand.NewPCG(2, 1))
	moved := 0
	for i := range 300 {
		h := randomHistory(rng, i)
		draft := draftOf(t, rng)
		o := Lead("ld", "", stored(h, rules), h, rules, draft, now)
		// The rescore of a published draft, as shared/score does it.
		st := stored(h, rules)
		st.Rebuild(h, draft)
		res := st.Evaluate(draft, now)
		if o.After.Stage != res.Stage || o.After.Engagement != res.Score.Engagement || o.After.Fit != res.Score.Fit {
			t.Fatalf("lead %d: dry run %+v, rescore %v %+v", i, o.After, res.Stage, res.Score)
		}
		score, _ := stored(h, rules).Scores(rules, now)
		if o.Before.Engagement != score.Engagement || o.Before.Stage != stored(h, rules).Stage() {
			t.Fatalf("lead %d: before %+v, published scores %+v", i, o.Before, score)
		}
		if o.Before.Stage != o.After.Stage {
			moved++
		}
	}
	if moved == 0 {
		t.Fatal("no draft moved any lead: the test exercises nothing")
	}
}

func TestClassify(t *testing.T) {
	pub, draft := Bar{FitMin: 40, EngagementMin: 50}, Bar{FitMin: 40, EngagementMin: 80}
	snap := func(stage scoring.Stage, fit, eng float64) Snapshot {
		return Snapshot{Fit: fit, Engagement: eng, Stage: stage}
	}
	cases := []struct {
		name string
		o    Outcome
		want Kind
	}{
		{"enters mql", Outcome{Before: snap("lead", 50, 40), After: snap("mql", 50, 90)}, Qualifies},
		{"leaves mql", Outcome{Before: snap("mql", 50, 60), After: snap("nurture", 50, 60)}, Unqualifies},
		{"mql below the draft's bar", Outcome{Before: snap("mql", 50, 60), After: snap("mql", 50, 60)}, Unqualifies},
		{"mql above both bars", Outcome{Before: snap("mql", 50, 90), After: snap("mql", 50, 90)}, Unchanged},
		{"mql by a hand-raise, under both bars", Outcome{Before: snap("mql", 50, 10), After: snap("mql", 50, 10)}, Unchanged},
		{"lead stays lead", Outcome{Before: snap("lead", 10, 10), After: snap("lead", 10, 90)}, Unchanged},
		{"sql stays sql", Outcome{Before: snap("sql", 50, 90), After: snap("sql", 50, 0)}, Unchanged},
	}
	for _, c := range cases {
		if got := Classify(c.o, pub, draft); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// TestSummarize: counts agree with the outcomes, lists are bounded and
// sorted, every score lands in the bin that holds it, and the summary does
// not depend on the order of the outcomes.
func TestSummarize(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 1))
	stages := []scoring.Stage{"lead", "mql", "sql", "nurture"}
	for trial := range 50 {
		var os []Outcome
		for i := range rng.IntN(400) {
			os = append(os, Outcome{LeadID: fmt.Sprintf("ld_%03d", i),
				Before: Snapshot{Fit: float64(rng.IntN(90) - 30), Engagement: math.Round(rng.NormFloat64()*80*100) / 100, Stage: stages[rng.IntN(4)]},
				After:  Snapshot{Fit: float64(rng.IntN(90) - 30), Engagement: float64(rng.IntN(5000) - 100), Stage: stages[rng.IntN(4)]}})
		}
		pub, draft := Bar{40, 50}, Bar{30, 70}
		s := Summarize(append([]Outcome(nil), os...), pub, draft)
		shuffled := append([]Outcome(nil), os...)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if s2 := Summarize(shuffled, pub, draft); !reflect.DeepEqual(s, s2) {
			t.Fatalf("trial %d: the summary depends on the order of the leads", trial)
		}
		var q, u, moves int
		for _, o := range os {
			switch Classify(o, pub, draft) {
			case Qualifies:
				q++
			case Unqualifies:
				u++
			}
			if o.Before.Stage != o.After.Stage {
				moves++
			}
		}
		total := 0
		for _, n := range s.StageChanges {
			total += n
		}
		if s.Leads != len(os) || s.WouldQualifyCount != q || s.WouldUnqualifyCount != u || total != moves {
			t.Fatalf("trial %d: leads %d qualify %d unqualify %d moves %d; want %d %d %d %d", trial, s.Leads, s.WouldQualifyCount, s.WouldUnqualifyCount, total, len(os), q, u, moves)
		}
		if len(s.WouldQualify) != min(q, ListMax) || len(s.WouldUnqualify) != min(u, ListMax) {
			t.Fatalf("trial %d: lists of %d and %d", trial, len(s.WouldQualify), len(s.WouldUnqualify))
		}
		for i := 1; i < len(s.WouldQualify); i++ {
			if s.WouldQualify[i].After.Engagement > s.WouldQualify[i-1].After.Engagement {
				t.Fatalf("trial %d: would_qualify not by engagement", trial)
			}
		}
		for field, h := range s.Histograms {
			if len(h.Bins) > maxBins {
				t.Fatalf("trial %d: %s has %d bins", trial, field, len(h.Bins))
			}
			var b, a int
			for _, bin := range h.Bins {
				b, a = b+bin.Before, a+bin.After
			}
			if b != len(os) || a != len(os) {
				t.Fatalf("trial %d: %s histogram holds %d before and %d after of %d leads", trial, field, b, a, len(os))
			}
		}
		for _, o := range os {
			h := s.Histograms["engagement"]
			i := int(math.Floor((o.After.Engagement - h.Bins[0].From) / h.BinWidth))
			if bin := h.Bins[i]; o.After.Engagement < bin.From || o.After.Engagement >= bin.From+h.BinWidth {
				t.Fatalf("trial %d: engagement %v is not in bin [%v, %v)", trial, o.After.Engagement, bin.From, bin.From+h.BinWidth)
			}
		}
	}
}

func TestBarOf(t *testing.T) {
	b, err := BarOf(scoring.DefaultRules())
	if err != nil || b.FitMin != 40 || b.EngagementMin <= 0 {
		t.Errorf("BarOf(default rules) = %+v, %v", b, err)
	}
}
