package signals

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// trueSignal is one signal of the synthetic history: how often leads have it,
// its TRUE effect on the log-odds of winning, and the points the "current"
// rules give it (deliberately miscalibrated, as real rules are).
type trueSignal struct {
	id         string
	kind       string
	prevalence float64
	weight     float64
	current    float64
}

const trueIntercept = -1.6

var trueSignals = []trueSignal{
	{"demo-request", KindEngagement, 0.15, 1.6, 40},
	{"pricing-visit", KindEngagement, 0.35, 1.0, 10},
	{"bofu-download", KindEngagement, 0.25, 0.6, 25},
	{"careers-visit", KindEngagement, 0.15, -1.3, -15},
	{"newsletter-signup", KindEngagement, 0.40, 0, 10}, // irrelevant, but the current rules pay for it
	{"email-open", KindEngagement, 0.50, 0, 3},         // irrelevant
	{"senior-title", KindFit, 0.30, 0.9, 20},
	{"mid-market", KindFit, 0.35, 0.4, 15},
}

// noiseSD is the spread of an unobserved per-lead effect on the log-odds
// (budget, timing, a champion leaving): no model of the signals can see it.
const noiseSD = 0.5

// synthetic generates n leads from the true model. 85% have a decision
// (won, or lost/rejected 4:1); the rest are open. Engagement rules fire 1-4
// times (raw points = points x count) so the current score, like a real one,
// rewards repetition that the truth does not.
func synthetic(n int, seed uint64) ([]Lead, map[string]float64) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	current := map[string]float64{}
	for _, s := range trueSignals {
		current[s.id] = s.current
	}
	countries := []string{"de", "us", "fr", "uk"}
	leads := make([]Lead, n)
	for i := range leads {
		l := Lead{LeadID: fmt.Sprintf("ld_%06d", i), Engagement: map[string]float64{}, Fit: map[string]float64{},
			Attributes: map[string]string{"country": countries[rng.IntN(len(countries))]}}
		eta := trueIntercept + rng.NormFloat64()*noiseSD
		for _, s := range trueSignals {
			if rng.Float64() >= s.prevalence {
				continue
			}
			eta += s.weight
			if s.kind == KindFit {
				l.Fit[s.id] = s.current
				l.Score += s.current
			} else {
				raw := s.current * float64(1+rng.IntN(4))
				l.Engagement[s.id] = raw
				l.Score += raw
			}
		}
		size := math.Exp(rng.Float64() * math.Log(20000))
		if l.Fit["mid-market"] != 0 {
			size = 200 + rng.Float64()*4800
		} else if size >= 200 && size < 5000 {
			size = 1 + rng.Float64()*198
		}
		l.Attributes["company_size"] = CompanySizeBucket(size)
		won := rng.Float64() < sigmoid(eta)
		decided := rng.Float64() < 0.85
		mql := day0.Add(time.Duration(rng.IntN(90*24)) * time.Hour)
		switch {
		case !decided:
			l.Outcome = Open
			if rng.Float64() < 0.5 {
				l.MQLAt = mql
			}
		case won:
			l.Outcome = Won
			l.MQLAt = mql
			l.SQLAt = mql.Add(time.Duration(24+rng.IntN(10*24)) * time.Hour)
			l.WonAt = l.SQLAt.Add(time.Duration(24+rng.IntN(40*24)) * time.Hour)
		case rng.Float64() < 0.2:
			l.Outcome = Rejected
			l.MQLAt = mql
		default:
			l.Outcome = Lost
			l.MQLAt = mql
			l.SQLAt = mql.Add(time.Duration(24+rng.IntN(10*24)) * time.Hour)
			l.LostAt = l.SQLAt.Add(time.Duration(24+rng.IntN(40*24)) * time.Hour)
		}
		leads[i] = l
	}
	return leads, current
}

// trueScore is the true model's log-odds without the unobservable noise:
// the best ranking any model of these signals can achieve.
func trueScore(l Lead) float64 {
	eta := trueIntercept
	for _, s := range trueSignals {
		if l.Engagement[s.id] != 0 || l.Fit[s.id] != 0 {
			eta += s.weight
		}
	}
	return eta
}

func TestSyntheticHistoryRecoversTrueWeights(t *testing.T) {
	for _, dataSeed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprintf("data seed %d", dataSeed), func(t *testing.T) {
			leads, current := synthetic(5000, dataSeed)
			r, holdoutIDs := build(leads, current, Options{Seed: 42})
			m := r.Model
			if m == nil {
				t.Fatalf("no model: %s", r.Message)
			}
			if r.Message != "" {
				t.Errorf("message %q with %d outcomes", r.Message, r.Outcomes)
			}

			byID := map[string]Lead{}
			for _, l := range leads {
				byID[l.LeadID] = l
			}
			var trueScores, curScores []float64
			var pos []bool
			for _, id := range holdoutIDs {
				l := byID[id]
				trueScores = append(trueScores, trueScore(l))
				curScores = append(curScores, l.Score)
				pos = append(pos, l.Outcome == Won)
			}
			if len(holdoutIDs) != m.HoldoutLeads {
				t.Fatalf("%d held-out ids, report says %d", len(holdoutIDs), m.HoldoutLeads)
			}
			aucTrue, ok := AUC(trueScores, pos)
			if !ok {
				t.Fatal("held-out set has a single class")
			}
			// The report's current-rules AUC must be measured on the very same
			// held-out leads as the suggestion.
			aucCur, _ := AUC(curScores, pos)
			if aucCur != m.AUCCurrent {
				t.Errorf("report's current AUC %.6f, the held-out leads' current scores give %.6f", m.AUCCurrent, aucCur)
			}

			t.Logf("leads %d, decided %d (won %d), train %d, held out %d (won %d), base rate %.3f, Newton iterations %d",
				r.Leads, r.Outcomes, r.Won, m.TrainLeads, m.HoldoutLeads, m.HoldoutWon, r.BaseRate, m.Iterations)
			t.Logf("held-out AUC: true model %.4f | suggested points %.4f ± %.4f | unrounded model %.4f | current rules %.4f ± %.4f",
				aucTrue, m.AUCSuggested, m.AUCSuggestedSE, m.AUCModel, m.AUCCurrent, m.AUCCurrentSE)
			t.Logf("intercept true %.2f fitted %.2f; 1 log-odds = %.1f points", trueIntercept, m.Intercept, m.PointsPerLogOdds)
			t.Logf("%-18s %6s %18s %8s %9s %8s", "signal", "true", "fitted ± se", "current", "suggested", "effect")

			if d := aucTrue - m.AUCSuggested; math.Abs(d) > 0.02 {
				t.Errorf("suggested AUC %.4f is %.4f from the true model's %.4f (limit 0.02)", m.AUCSuggested, d, aucTrue)
			}

			rules := map[string]RuleSignal{}
			for _, s := range r.Rules {
				rules[s.Rule] = s
			}
			var maxSuggested float64
			for _, s := range r.Rules {
				if s.SuggestedPoints != nil {
					maxSuggested = math.Max(maxSuggested, math.Abs(*s.SuggestedPoints))
				}
			}
			for _, ts := range trueSignals {
				s := rules[ts.id]
				if s.Coefficient == nil || s.SuggestedPoints == nil {
					t.Errorf("%s: no coefficient or suggestion", ts.id)
					continue
				}
				b, sug := *s.Coefficient, *s.SuggestedPoints
				t.Logf("%-18s %+6.2f %+9.2f ± %.2f %8g %+9g %8s", ts.id, ts.weight, b, *s.CoefficientSE, s.CurrentPoints, sug, s.Effect)
				switch {
				case math.Abs(ts.weight) >= 0.9: // strong: sign recovered and called out
					wantEffect := "raises"
					if ts.weight < 0 {
						wantEffect = "lowers"
					}
					if math.Signbit(b) != math.Signbit(ts.weight) || math.Signbit(sug) != math.Signbit(ts.weight) || s.Effect != wantEffect {
						t.Errorf("%s: true %+.2f, fitted %+.2f, suggested %+g, effect %q; want the same sign and %q", ts.id, ts.weight, b, sug, s.Effect, wantEffect)
					}
				case ts.weight == 0: // irrelevant: near zero, and not called a signal
					if math.Abs(b) > 0.2 || math.Abs(sug) > 0.2*maxSuggested || s.Effect == "raises" || s.Effect == "lowers" {
						t.Errorf("%s: irrelevant, yet fitted %+.2f, suggested %+g of at most %g, effect %q", ts.id, b, sug, maxSuggested, s.Effect)
					}
				}
				// Every coefficient within 3 standard errors (plus the
				// shrinkage and the attenuation the unobserved noise causes).
				if math.Abs(b-ts.weight) > 3**s.CoefficientSE+0.15*math.Abs(ts.weight) {
					t.Errorf("%s: fitted %+.2f ± %.2f, true %+.2f", ts.id, b, *s.CoefficientSE, ts.weight)
				}
			}
		})
	}
}

func BenchmarkBuild10000(b *testing.B) {
	leads, current := synthetic(10000, 1)
	b.ResetTimer()
	var r Report
	for b.Loop() {
		r = Build(leads, current, Options{Seed: 1})
	}
	b.ReportMetric(float64(len(leads))*float64(b.N)/b.Elapsed().Seconds(), "leads/s")
	if r.Model == nil {
		b.Fatal("no model")
	}
}
