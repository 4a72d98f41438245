package signals

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

var day0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func days0(d float64) time.Time { return day0.Add(time.Duration(d * 24 * float64(time.Hour))) }

// handBuilt is small enough to count on paper; the expected numbers are in
// TestHandBuiltCounts.
func handBuilt() ([]Lead, map[string]float64) {
	current := map[string]float64{"pricing": 10, "careers": -15, "senior": 20, "watch": 0, "never": 3}
	leads := []Lead{
		{LeadID: "L01", Outcome: Won, Engagement: map[string]float64{"pricing": 30}, Fit: map[string]float64{"senior": 20},
			Attributes: map[string]string{"country": "de", "email": "ada@example.com"},
			MQLAt:      days0(0), SQLAt: days0(2), WonAt: days0(12)},
		{LeadID: "L02", Outcome: Won, Engagement: map[string]float64{"pricing": 10, "old-rule": 5},
			Attributes: map[string]string{"country": "de"},
			MQLAt:      days0(0), SQLAt: days0(4), WonAt: days0(24)},
		{LeadID: "L03", Outcome: Lost, Engagement: map[string]float64{"pricing": 10, "careers": -15},
			Attributes: map[string]string{"country": "us"}, MQLAt: days0(1), LostAt: days0(9)},
		{LeadID: "L04", Outcome: Lost, Engagement: map[string]float64{"careers": -30},
			Attributes: map[string]string{"country": "us"}},
		{LeadID: "L05", Outcome: Rejected, Fit: map[string]float64{"senior": 20},
			Attributes: map[string]string{"country": "us"}, SQLAt: days0(3)},
		{LeadID: "L06", Outcome: Won, Attributes: map[string]string{"country": "de"}},
		{LeadID: "L07", Outcome: Open, Engagement: map[string]float64{"pricing": 20},
			Attributes: map[string]string{"country": "de"}, MQLAt: days0(5)},
		{LeadID: "L08", Outcome: Open, Engagement: map[string]float64{"careers": -15}},
		// A published 0-point rule present with 0 counts as fired.
		{LeadID: "L09", Outcome: Lost, Engagement: map[string]float64{"watch": 0}},
		// A 10-point rule listed with 0 did not fire (a breakdown listing it).
		{LeadID: "L10", Outcome: Lost, Engagement: map[string]float64{"pricing": 0}},
	}
	return leads, current
}

func TestHandBuiltCounts(t *testing.T) {
	leads, current := handBuilt()
	r := Build(leads, current, Options{})

	// Decided: won L01 L02 L06; lost L03 L04 L09 L10; rejected L05 -> 8.
	// Base rate 3/8 = 0.375.
	if r.Leads != 10 || r.Outcomes != 8 || r.Won != 3 || r.Lost != 4 || r.Rejected != 1 || r.BaseRate != 0.375 {
		t.Fatalf("headline = leads %d outcomes %d won %d lost %d rejected %d base %v; want 10 8 3 4 1 0.375",
			r.Leads, r.Outcomes, r.Won, r.Lost, r.Rejected, r.BaseRate)
	}

	type want struct {
		kind                 string
		published            bool
		leads, outcomes, won int
		rate, lift           float64 // NaN: nil expected
		small                bool
	}
	nan := math.NaN()
	wants := map[string]want{
		// L01 L02 L03 L07 (not L10): decided L01 L02 L03, won 2 -> 2/3; lift (2/3)/(3/8) = 16/9.
		"pricing": {KindEngagement, true, 4, 3, 2, 2.0 / 3, 16.0 / 9, true},
		// L03 L04 L08: decided L03 L04, won 0 -> rate 0, lift 0.
		"careers": {KindEngagement, true, 3, 2, 0, 0, 0, true},
		// L09 only: decided, lost.
		"watch": {KindEngagement, true, 1, 1, 0, 0, 0, true},
		// L02 only, not in the published rules.
		"old-rule": {KindEngagement, false, 1, 1, 1, 1, 8.0 / 3, true},
		// L01 L05: won 1 of 2 -> 0.5; lift 0.5/0.375 = 4/3.
		"senior": {KindFit, true, 2, 2, 1, 0.5, 4.0 / 3, true},
		// Published, fired by nobody: no rate.
		"never": {"", true, 0, 0, 0, nan, nan, true},
	}
	// Order: engagement rules by id, then fit, then never-fired.
	wantOrder := []string{"careers", "old-rule", "pricing", "watch", "senior", "never"}
	var gotOrder []string
	for _, s := range r.Rules {
		gotOrder = append(gotOrder, s.Rule)
		w, ok := wants[s.Rule]
		if !ok {
			t.Errorf("unexpected rule %q", s.Rule)
			continue
		}
		if s.Kind != w.kind || s.Published != w.published || s.LeadsWith != w.leads || s.OutcomesWith != w.outcomes ||
			s.ConvertedWith != w.won || s.Small != w.small {
			t.Errorf("%s: got kind %q published %v leads %d outcomes %d won %d small %v; want %+v",
				s.Rule, s.Kind, s.Published, s.LeadsWith, s.OutcomesWith, s.ConvertedWith, s.Small, w)
		}
		checkPtr(t, s.Rule+" rate", s.Rate, w.rate)
		checkPtr(t, s.Rule+" lift", s.Lift, w.lift)
		if s.Rate != nil {
			lo, hi := wilson(w.won, w.outcomes)
			checkPtr(t, s.Rule+" lift_low", s.LiftLow, lo/0.375)
			checkPtr(t, s.Rule+" lift_high", s.LiftHigh, hi/0.375)
		}
		if s.SuggestedPoints != nil || s.Coefficient != nil {
			t.Errorf("%s: suggestion with 8 outcomes", s.Rule)
		}
	}
	if !reflect.DeepEqual(gotOrder, wantOrder) {
		t.Errorf("rule order %v, want %v", gotOrder, wantOrder)
	}

	// country=de: L01 L02 L06 L07; decided 3, all won -> rate 1, lift 8/3.
	// country=us: L03 L04 L05; decided 3, none won.
	// The email attribute on L01 is never reported.
	if len(r.Attributes) != 2 {
		t.Fatalf("attributes = %+v, want country de and us only", r.Attributes)
	}
	de, us := r.Attributes[0], r.Attributes[1]
	if de.Value != "de" || de.Leads != 4 || de.Outcomes != 3 || de.Won != 3 || !de.Small {
		t.Errorf("country=de: %+v", de)
	}
	checkPtr(t, "de lift", de.Lift, 8.0/3)
	if us.Value != "us" || us.Leads != 3 || us.Outcomes != 3 || us.Won != 0 {
		t.Errorf("country=us: %+v", us)
	}
	checkPtr(t, "us rate", us.Rate, 0)

	// Funnel: MQLs L01 L02 L03 L07 -> 4; of them SQL L01 L02 -> 2 (0.5),
	// days 2 and 4 -> median 3. SQLs L01 L02 L05 -> 3; won L01 L02 -> 2/3,
	// days 10 and 20 -> median 15.
	f := r.Funnel
	if f.MQLs != 4 || f.MQLToSQL != 2 || f.SQLs != 3 || f.SQLToWon != 2 || f.PairsMQLToSQL != 2 || f.PairsSQLToWon != 2 {
		t.Errorf("funnel counts %+v", f)
	}
	checkPtr(t, "mql->sql rate", f.MQLToSQLRate, 0.5)
	checkPtr(t, "sql->won rate", f.SQLToWonRate, 2.0/3)
	checkPtr(t, "median mql->sql", f.MedianDaysMQLToSQL, 3)
	checkPtr(t, "median sql->won", f.MedianDaysSQLToWon, 15)

	if r.Model != nil {
		t.Errorf("model with 8 outcomes: %+v", r.Model)
	}
	if !strings.Contains(r.Message, "not enough outcomes: 8 of 30") {
		t.Errorf("message %q does not say there is not enough data", r.Message)
	}
}

func checkPtr(t *testing.T, what string, got *float64, want float64) {
	t.Helper()
	switch {
	case math.IsNaN(want) && got != nil:
		t.Errorf("%s = %v, want nil", what, *got)
	case !math.IsNaN(want) && got == nil:
		t.Errorf("%s = nil, want %v", what, want)
	case got != nil && math.Abs(*got-want) > 1e-12:
		t.Errorf("%s = %v, want %v", what, *got, want)
	}
}

// outcomesSet makes n decided leads (won every third) with two rules, one of
// which goes with winning.
func outcomesSet(n, won int) []Lead {
	var leads []Lead
	for i := range n {
		l := Lead{LeadID: fmt.Sprintf("ld_%03d", i), Outcome: Lost, Engagement: map[string]float64{}}
		if i < won {
			l.Outcome = Won
		}
		if i%2 == 0 {
			l.Engagement["pricing"] = 10
		}
		if i%3 == 0 {
			l.Engagement["newsletter"] = 5
		}
		l.Score = l.Engagement["pricing"] + l.Engagement["newsletter"]
		leads = append(leads, l)
	}
	return leads
}

func TestMinimumOutcomes(t *testing.T) {
	current := map[string]float64{"pricing": 10, "newsletter": 5}
	tests := []struct {
		name        string
		leads       []Lead
		opt         Options
		wantModel   bool
		wantMessage string
	}{
		{"29 outcomes", outcomesSet(29, 10), Options{}, false, "not enough outcomes: 29 of 30"},
		{"30 outcomes", outcomesSet(30, 10), Options{}, true, ""},
		{"custom minimum not met", outcomesSet(60, 20), Options{MinOutcomes: 61}, false, "not enough outcomes: 60 of 61"},
		{"open leads do not count", append(outcomesSet(29, 10), Lead{LeadID: "open", Outcome: Open}), Options{}, false, "not enough outcomes: 29 of 30"},
		{"all won", outcomesSet(40, 40), Options{}, false, "not enough of both outcomes: 40 won and 0 lost"},
		{"four won", outcomesSet(40, 4), Options{}, false, "not enough of both outcomes: 4 won"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Build(tc.leads, current, tc.opt)
			if (r.Model != nil) != tc.wantModel {
				t.Fatalf("model present = %v, want %v (message %q)", r.Model != nil, tc.wantModel, r.Message)
			}
			if tc.wantMessage == "" && r.Message != "" || !strings.Contains(r.Message, tc.wantMessage) {
				t.Fatalf("message %q, want it to contain %q", r.Message, tc.wantMessage)
			}
			var suggestions int
			for _, s := range r.Rules {
				if s.SuggestedPoints != nil {
					suggestions++
				}
			}
			if tc.wantModel != (suggestions > 0) {
				t.Fatalf("%d suggestions with model present = %v", suggestions, tc.wantModel)
			}
			var buf bytes.Buffer
			if err := r.WriteTable(&buf); err != nil {
				t.Fatal(err)
			}
			if !tc.wantModel && !strings.Contains(buf.String(), "no model: "+tc.wantMessage) {
				t.Fatalf("table does not say why there is no model:\n%s", buf.String())
			}
		})
	}
}

// randomLeads draws leads with random rules, attributes, outcomes, dates,
// duplicate ids and the odd NaN score: the inputs the properties must hold on.
func randomLeads(rng *rand.Rand, n int) []Lead {
	rules := []string{"a", "b", "c", "d", "e", "f"}
	leads := make([]Lead, n)
	for i := range leads {
		l := Lead{LeadID: fmt.Sprintf("ld_%d", rng.IntN(n+1)), Engagement: map[string]float64{}, Fit: map[string]float64{},
			Attributes: map[string]string{}}
		for j, r := range rules {
			if rng.Float64() < 0.4 {
				if j < 4 {
					l.Engagement[r] = float64(rng.IntN(5)) * 10
				} else {
					l.Fit[r] = 15
				}
			}
		}
		l.Attributes["country"] = []string{"de", "us", "fr", ""}[rng.IntN(4)]
		l.Attributes["company_size"] = CompanySizeBucket(float64(rng.IntN(8000)))
		l.Outcome = []Outcome{Open, Won, Lost, Rejected}[rng.IntN(4)]
		if l.Outcome == Won && rng.Float64() < 0.5 {
			l.Engagement["a"] += 10
		}
		l.Score = float64(rng.IntN(100))
		if rng.IntN(50) == 0 {
			l.Score = math.NaN()
		}
		if rng.Float64() < 0.5 {
			l.MQLAt = days0(rng.Float64() * 30)
			if rng.Float64() < 0.5 {
				l.SQLAt = days0(rng.Float64() * 60)
			}
		}
		if l.Outcome == Won {
			l.WonAt = days0(60 + rng.Float64()*30)
		}
		leads[i] = l
	}
	return leads
}

func TestPropertyDeterministicAndOrderIndependent(t *testing.T) {
	current := map[string]float64{"a": 10, "b": 5, "c": -5, "d": 0, "e": 15, "f": 15, "g": 1}
	for iter := range 60 {
		rng := rand.New(rand.NewPCG(uint64(iter), 7))
		leads := randomLeads(rng, 10+rng.IntN(300))
		opt := Options{Seed: uint64(iter), MinOutcomes: 1 + rng.IntN(60)}
		want := Build(leads, current, opt)

		again := Build(leads, current, opt)
		if !reflect.DeepEqual(want, again) {
			t.Fatalf("iteration %d: two builds of the same input differ", iter)
		}
		shuffled := append([]Lead(nil), leads...)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if got := Build(shuffled, current, opt); !reflect.DeepEqual(want, got) {
			a, _ := json.Marshal(want)
			b, _ := json.Marshal(got)
			t.Fatalf("iteration %d: shuffled input changes the report\nwant %s\ngot  %s", iter, a, b)
		}
		checkInvariants(t, iter, want, len(leads), opt)
	}
}

func checkInvariants(t *testing.T, iter int, r Report, n int, opt Options) {
	t.Helper()
	if _, err := json.Marshal(r); err != nil {
		t.Fatalf("iteration %d: report is not JSON: %v", iter, err)
	}
	if r.Leads != n || r.Outcomes != r.Won+r.Lost+r.Rejected || r.Outcomes > r.Leads {
		t.Fatalf("iteration %d: headline %d leads %d outcomes %d+%d+%d", iter, r.Leads, r.Outcomes, r.Won, r.Lost, r.Rejected)
	}
	for _, s := range r.Rules {
		if s.ConvertedWith > s.OutcomesWith || s.OutcomesWith > s.LeadsWith || s.LeadsWith > r.Leads || s.OutcomesWith > r.Outcomes {
			t.Fatalf("iteration %d: rule %s counts %d/%d/%d", iter, s.Rule, s.LeadsWith, s.OutcomesWith, s.ConvertedWith)
		}
		if s.Rate != nil && (*s.RateLow > *s.Rate || *s.Rate > *s.RateHigh) {
			t.Fatalf("iteration %d: rule %s rate %v outside its interval [%v, %v]", iter, s.Rule, *s.Rate, *s.RateLow, *s.RateHigh)
		}
		if (s.SuggestedPoints != nil) && r.Model == nil {
			t.Fatalf("iteration %d: rule %s suggested without a model", iter, s.Rule)
		}
	}
	if (r.Model == nil) != (r.Outcomes < opt.MinOutcomes || r.Won < SmallCell || r.Outcomes-r.Won < SmallCell) {
		t.Fatalf("iteration %d: model present %v with %d outcomes (%d won), minimum %d", iter, r.Model != nil, r.Outcomes, r.Won, opt.MinOutcomes)
	}
	if m := r.Model; m != nil {
		if m.TrainLeads+m.HoldoutLeads != r.Outcomes || m.TrainWon+m.HoldoutWon != r.Won {
			t.Fatalf("iteration %d: split %d+%d (won %d+%d) of %d outcomes (won %d)", iter, m.TrainLeads, m.HoldoutLeads, m.TrainWon, m.HoldoutWon, r.Outcomes, r.Won)
		}
		for _, a := range []float64{m.AUCCurrent, m.AUCSuggested, m.AUCModel} {
			if !(a >= 0 && a <= 1) {
				t.Fatalf("iteration %d: AUC %v out of [0,1]", iter, a)
			}
		}
		// The report's curves are those of its AUCs (held-out leads
		// have both classes whenever there is a model).
		for _, c := range [][]ROCPoint{m.ROCCurrent, m.ROCSuggested} {
			if len(c) < 2 || len(c) > MaxROCPoints || c[0] != (ROCPoint{0, 0}) || c[len(c)-1] != (ROCPoint{1, 1}) {
				t.Fatalf("iteration %d: ROC curve of %d points from %v", iter, len(c), c)
			}
		}
	}
}

// The split is stratified and a function of the seed.
func TestSplitStratifiedBySeed(t *testing.T) {
	leads := sortedLeads(outcomesSet(200, 50))
	a := split(leads, 1, 0.3)
	b := split(leads, 2, 0.3)
	var heldWon, heldLost int
	for i, h := range a {
		if h {
			if leads[i].Outcome == Won {
				heldWon++
			} else {
				heldLost++
			}
		}
	}
	// 30% of 50 won = 15, of 150 lost = 45.
	if heldWon != 15 || heldLost != 45 {
		t.Fatalf("held out %d won and %d lost, want 15 and 45", heldWon, heldLost)
	}
	if reflect.DeepEqual(a, b) {
		t.Fatal("seeds 1 and 2 hold out the same leads")
	}
	if !reflect.DeepEqual(a, split(leads, 1, 0.3)) {
		t.Fatal("the same seed gives a different split")
	}
}

func TestOptionsDefaults(t *testing.T) {
	got := Options{HoldoutFraction: 1.5, L2: math.Inf(1)}.withDefaults()
	want := Options{MinOutcomes: 30, HoldoutFraction: 0.3, L2: 1}
	if got != want {
		t.Fatalf("defaults %+v, want %+v", got, want)
	}
	kept := Options{MinOutcomes: 5, HoldoutFraction: 0.5, L2: 3, Seed: 9}
	if got := kept.withDefaults(); got != kept {
		t.Fatalf("valid options changed: %+v -> %+v", kept, got)
	}
}

type failingWriter struct{ after int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("disk full")
	}
	f.after--
	return len(p), nil
}

func TestWriteTable(t *testing.T) {
	leads, current := synthetic(2000, 11)
	r := Build(leads, current, Options{Seed: 3})
	var buf bytes.Buffer
	if err := r.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"CLOSED-LOOP REPORT",
		fmt.Sprintf("leads %d, decided %d", r.Leads, r.Outcomes),
		"demo-request", "careers-visit", "raises", "lowers",
		fmt.Sprintf("current rules     %.3f", r.Model.AUCCurrent),
		fmt.Sprintf("suggested points  %.3f", r.Model.AUCSuggested),
		"company_size", "MQL -> SQL",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	t.Logf("\n%s", out)
	for _, after := range []int{0, 3, 20} {
		if err := r.WriteTable(&failingWriter{after: after}); err == nil {
			t.Errorf("a writer failing after %d writes: no error", after)
		}
	}
}

func TestEffect(t *testing.T) {
	tests := []struct {
		b, se float64
		want  string
	}{
		{1.0, 0.1, "raises"},
		{-1.0, 0.1, "lowers"},
		{0.25, 0.1, "raises"},
		{0.17, 0.08, "slightly raises"},  // z 2.1, small
		{-0.17, 0.08, "slightly lowers"}, // z -2.1, small
		{1.0, 0.6, "unclear"},            // large but z 1.67
		{0, 0, "unclear"},
	}
	for _, tc := range tests {
		if got := effect(tc.b, tc.se); got != tc.want {
			t.Errorf("effect(%v, %v) = %q, want %q", tc.b, tc.se, got, tc.want)
		}
	}
}

func TestRareRulesGetNoSuggestion(t *testing.T) {
	leads := outcomesSet(80, 30)
	// "rare" fires on 3 leads only; "everyone" on every lead: neither can be
	// told apart from the intercept or the penalty.
	for i := range leads {
		leads[i].Fit = map[string]float64{"everyone": 5}
		if i < 3 {
			leads[i].Engagement["rare"] = 50
		}
	}
	r := Build(leads, map[string]float64{"pricing": 10, "newsletter": 5, "rare": 50, "everyone": 5}, Options{})
	if r.Model == nil {
		t.Fatalf("no model: %s", r.Message)
	}
	for _, s := range r.Rules {
		wantSuggestion := s.Rule == "pricing" || s.Rule == "newsletter"
		if (s.SuggestedPoints != nil) != wantSuggestion || (s.Coefficient != nil) != wantSuggestion {
			t.Errorf("%s: suggestion %v coefficient %v, want present = %v", s.Rule, s.SuggestedPoints, s.Coefficient, wantSuggestion)
		}
	}
	if r.Model.Features != 2 {
		t.Errorf("model has %d features, want 2", r.Model.Features)
	}
	notes := strings.Join(r.Model.Notes, "\n")
	if !strings.Contains(notes, "rare (") || !strings.Contains(notes, "everyone (") {
		t.Errorf("notes do not name the left-out rules:\n%s", notes)
	}
}

// Suggested points spread as many points as the published rules do, keep
// the coefficients' signs, and rank exactly as their own sum.
func TestSuggestedPointsScale(t *testing.T) {
	leads, current := synthetic(3000, 5)
	r := Build(leads, current, Options{Seed: 8})
	var sumCur, sumSug float64
	for _, s := range r.Rules {
		if s.SuggestedPoints == nil {
			t.Fatalf("%s: no suggestion", s.Rule)
		}
		sumCur += math.Abs(s.CurrentPoints)
		sumSug += math.Abs(*s.SuggestedPoints)
		if want := math.Round(*s.Coefficient * r.Model.PointsPerLogOdds); *s.SuggestedPoints != want {
			t.Errorf("%s: suggested %v, coefficient x scale rounds to %v", s.Rule, *s.SuggestedPoints, want)
		}
		if *s.SuggestedPoints != 0 && math.Signbit(*s.SuggestedPoints) != math.Signbit(*s.Coefficient) {
			t.Errorf("%s: suggestion %v has the opposite sign of coefficient %v", s.Rule, *s.SuggestedPoints, *s.Coefficient)
		}
	}
	// Rounding moves each of the 8 suggestions by at most 0.5.
	if math.Abs(sumCur-sumSug) > 4 {
		t.Errorf("suggested points spread %v, published %v", sumSug, sumCur)
	}
}
