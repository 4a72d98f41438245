// Package signals is the closed-loop report of docs/scoring.md section 6:
// which rules and fit attribute values go with won deals, and what point
// values a model fitted on won/lost history would suggest, with the ranking
// quality (AUC) of the current rules against the suggestion on held-out
// leads.
//
// Build is pure: no clock, no I/O, no AWS. The report is a pure function of
// the SET of leads, the published points and the options: the input order
// does not matter. Two readers feed it: ReadOutcomesReport (outcomes.go),
// what GET /v1/reports/signals serves, reads only the leads with a decided
// outcome through the table's outcome index, and RunBuild runs the same
// read in the background when there are too many for a request;
// ReadReport (leads.go) is the full scan behind `infra/report -scan`. Both
// turn each lead into a Lead with LeadFromState and call Build. See
// README.md for the method and the figures that validate it.
package signals

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// Outcome is what sales decided about a lead.
type Outcome string

// Outcomes. Rejected (sales_rejected) is a decision against the lead: it
// counts as an outcome and as not converted, like Lost, because a lead sales
// would not even work is the clearest "not a buyer" signal we get.
const (
	Open     Outcome = "open" // no decision yet: counted, but never in rates or the model
	Won      Outcome = "won"
	Lost     Outcome = "lost"
	Rejected Outcome = "rejected"
)

func (o Outcome) decided() bool { return o == Won || o == Lost || o == Rejected }

// Kinds of rule in RuleSignal.Kind.
const (
	KindEngagement = "engagement" // engagement rules and bursts
	KindFit        = "fit"
	// KindAccountFit is an account fit rule (docs/scoring.md section 7),
	// counted for each lead whose account attributes match it; its Rule is
	// AccountRuleID(id), as account fit ids are their own namespace.
	KindAccountFit = "account_fit"
)

// AccountRuleID is how the report names account fit rule id: apart from a
// lead fit rule of the same id.
func AccountRuleID(id string) string { return "account:" + id }

// Lead is one lead the report considers.
type Lead struct {
	LeadID string
	// Engagement maps engagement rule or burst ids to the raw points the lead
	// earned from them before decay (scoring.Contribution.RawPoints). Fit
	// maps fit rule ids to their points (contributions of Kind "fit").
	//
	// A rule counts as fired for the lead when its entry is non-zero, or when
	// it is present and the rule is published at 0 points (such a rule can
	// only ever show 0). So a breakdown that lists every rule, fired or not,
	// with 0 for the ones that did not fire, can be passed as it is.
	Engagement map[string]float64
	Fit        map[string]float64
	// AccountFit maps the ids of the account fit rules the lead's account
	// attributes match (scoring.AccountFitMatches) to their points.
	AccountFit map[string]float64
	// Attributes are fit attribute values as the report groups them: use
	// Attributes(state.Attributes()) to build it (it buckets company_size and
	// annual_revenue). Keys naming a person (email, names, phone) are ignored.
	Attributes map[string]string
	// Score is the lead's total score (fit + engagement) under the CURRENT
	// rules: the ranking the suggestion is compared against.
	Score   float64
	Outcome Outcome
	// Milestones, zero when never reached.
	MQLAt, SQLAt, WonAt, LostAt time.Time
}

// Options tune Build. The zero value gives the defaults.
type Options struct {
	// MinOutcomes is how many decided leads (won, lost, rejected) are needed
	// before the report fits a model and suggests points. Default 30.
	MinOutcomes int
	// HoldoutFraction of the decided leads (stratified: that fraction of the
	// won and of the others) is kept out of the fit and used to measure AUC.
	// Default 0.3; values outside (0, 1) give the default.
	HoldoutFraction float64
	// Seed picks the held-out leads. The same seed on the same leads gives the
	// same split, whatever the input order.
	Seed uint64
	// L2 is the ridge penalty on the coefficients (log-odds per signal); the
	// intercept is not penalized. Default 1, which is a Normal(0, 1) prior: it
	// tames rules seen on few leads and barely moves well-supported ones.
	L2 float64
}

// Defaults of Options.
const (
	DefaultMinOutcomes     = 30
	DefaultHoldoutFraction = 0.3
	DefaultL2              = 1.0
	// SmallCell: a rate measured on fewer decided leads than this is flagged,
	// and a rule seen on fewer training outcomes than this (or missing from
	// fewer) gets no coefficient and no suggestion.
	SmallCell = 5
	// defaultPointsPerLogOdds scales coefficients when the published rules
	// give no scale to match (all points zero).
	defaultPointsPerLogOdds = 10
)

func (o Options) withDefaults() Options {
	if o.MinOutcomes <= 0 {
		o.MinOutcomes = DefaultMinOutcomes
	}
	if !(o.HoldoutFraction > 0 && o.HoldoutFraction < 1) {
		o.HoldoutFraction = DefaultHoldoutFraction
	}
	if !(o.L2 > 0) || math.IsInf(o.L2, 0) {
		o.L2 = DefaultL2
	}
	return o
}

// Report is the closed-loop report. Every float is finite (it is served as
// JSON); undefined values are nil pointers.
type Report struct {
	Leads    int `json:"leads"`
	Outcomes int `json:"outcomes"` // won + lost + rejected
	Won      int `json:"won"`
	Lost     int `json:"lost"`
	Rejected int `json:"rejected"`
	// BaseRate is Won / Outcomes (0 when there are no outcomes).
	BaseRate   float64           `json:"base_rate"`
	Rules      []RuleSignal      `json:"rules"`
	Attributes []AttributeSignal `json:"attributes"`
	// Model is nil when there are fewer than MinOutcomes outcomes or too few
	// of either class to fit and test a model (Message says which).
	Model   *ModelReport `json:"model"`
	Funnel  Funnel       `json:"funnel"`
	Message string       `json:"message,omitempty"`
}

// Conversion is the win rate of the leads with a signal, with its 95% Wilson
// interval, and the lift: rate / base rate (the interval divided likewise,
// treating the base rate as known). Nil when undefined (no decided lead with
// the signal, or a base rate of 0).
type Conversion struct {
	Rate     *float64 `json:"rate,omitempty"`
	RateLow  *float64 `json:"rate_low,omitempty"`
	RateHigh *float64 `json:"rate_high,omitempty"`
	Lift     *float64 `json:"lift,omitempty"`
	LiftLow  *float64 `json:"lift_low,omitempty"`
	LiftHigh *float64 `json:"lift_high,omitempty"`
	// Small is true when the rate rests on fewer than SmallCell decided
	// leads: shown, but not to be read into.
	Small bool `json:"small_sample"`
}

// RuleSignal is one rule's line in the report.
type RuleSignal struct {
	Rule string `json:"rule"`
	// Kind is KindEngagement or KindFit; "" for a published rule no lead
	// has fired.
	Kind string `json:"kind,omitempty"`
	// Published is true when the rule is in the current rules (currentPoints);
	// a rule only seen in old breakdowns is reported with Published false.
	Published     bool    `json:"published"`
	CurrentPoints float64 `json:"current_points"`
	LeadsWith     int     `json:"leads_with"`     // leads that fired it, decided or not
	OutcomesWith  int     `json:"outcomes_with"`  // of those, decided
	ConvertedWith int     `json:"converted_with"` // of those, won
	Conversion
	// Coefficient is the model's log-odds effect of the rule having fired,
	// with its approximate standard error; nil when the rule was left out of
	// the model (too few leads with or without it) or there is no model.
	Coefficient   *float64 `json:"coefficient,omitempty"`
	CoefficientSE *float64 `json:"coefficient_se,omitempty"`
	// SuggestedPoints is the coefficient on the rules' own scale, in whole
	// points; nil when there is no coefficient.
	SuggestedPoints *float64 `json:"suggested_points,omitempty"`
	// Effect is the model's verdict: "raises" or "lowers" (coefficient at
	// least 1.96 standard errors from 0 and at least 0.25 log-odds),
	// "slightly raises"/"slightly lowers" (clear of noise but smaller),
	// "unclear", or "" without a coefficient.
	Effect string `json:"effect,omitempty"`
}

// AttributeSignal is one (attribute, value) segment.
type AttributeSignal struct {
	Attribute string `json:"attribute"`
	Value     string `json:"value"`
	Leads     int    `json:"leads"`
	Outcomes  int    `json:"outcomes"`
	Won       int    `json:"won"`
	Conversion
}

// ModelReport describes the fitted model and how well it ranks.
type ModelReport struct {
	Method string `json:"method"`
	// Features is how many rules entered the model.
	Features     int     `json:"features"`
	TrainLeads   int     `json:"train_leads"`
	TrainWon     int     `json:"train_won"`
	HoldoutLeads int     `json:"holdout_leads"`
	HoldoutWon   int     `json:"holdout_won"`
	L2           float64 `json:"l2"`
	Intercept    float64 `json:"intercept"`
	// PointsPerLogOdds is the scale that turned coefficients into points.
	PointsPerLogOdds float64 `json:"points_per_log_odds"`
	// AUCs on the same held-out leads: of the current Score, of the suggested
	// whole points, and of the unrounded model (rounding's cost). The SEs are
	// Hanley–McNeil approximations.
	AUCCurrent     float64 `json:"auc_current"`
	AUCCurrentSE   float64 `json:"auc_current_se"`
	AUCSuggested   float64 `json:"auc_suggested"`
	AUCSuggestedSE float64 `json:"auc_suggested_se"`
	AUCModel       float64 `json:"auc_model"`
	// ROCCurrent and ROCSuggested are the ROC curves behind AUCCurrent and
	// AUCSuggested (at most MaxROCPoints points each), for the console's
	// chart.
	ROCCurrent   []ROCPoint `json:"roc_current,omitempty"`
	ROCSuggested []ROCPoint `json:"roc_suggested,omitempty"`
	Iterations   int        `json:"iterations"`
	Converged    bool       `json:"converged"`
	Notes        []string   `json:"notes,omitempty"`
}

// Method is ModelReport.Method.
const Method = "L2-regularized logistic regression (Newton/IRLS), features = rule fired 0/1"

// Funnel is the stage-to-stage conversion. Rates count every lead that
// reached the earlier stage, including those still in it, so they are lower
// bounds while the pipeline is young.
type Funnel struct {
	MQLs         int      `json:"mqls"`
	MQLToSQL     int      `json:"mql_to_sql"` // of the MQLs, reached SQL
	MQLToSQLRate *float64 `json:"mql_to_sql_rate,omitempty"`
	SQLs         int      `json:"sqls"`
	SQLToWon     int      `json:"sql_to_won"` // of the SQLs, won
	SQLToWonRate *float64 `json:"sql_to_won_rate,omitempty"`
	// Medians over leads with both dates in order; nil when there is none.
	MedianDaysMQLToSQL *float64 `json:"median_days_mql_to_sql,omitempty"`
	PairsMQLToSQL      int      `json:"pairs_mql_to_sql"`
	MedianDaysSQLToWon *float64 `json:"median_days_sql_to_won,omitempty"`
	PairsSQLToWon      int      `json:"pairs_sql_to_won"`
}

// ruleKey identifies a rule: fit and engagement ids live in separate
// namespaces in the rules document, so the kind is part of the key.
type ruleKey struct{ kind, id string }

func (k ruleKey) less(o ruleKey) int {
	return cmp.Or(cmp.Compare(kindOrder(k.kind), kindOrder(o.kind)), strings.Compare(k.id, o.id))
}

func kindOrder(k string) int {
	switch k {
	case KindEngagement:
		return 0
	case KindFit:
		return 1
	case KindAccountFit:
		return 2
	}
	return 3
}

// Build computes the report. currentPoints maps rule ids (engagement, burst
// and fit) to their points in the published rules.
func Build(leads []Lead, currentPoints map[string]float64, opt Options) Report {
	r, _ := build(leads, currentPoints, opt)
	return r
}

// build also returns the held-out lead ids, for tests that score the same
// leads with a known true model.
func build(in []Lead, currentPoints map[string]float64, opt Options) (Report, []string) {
	opt = opt.withDefaults()
	leads := sortedLeads(in)
	fired := firedRules(leads, currentPoints)

	rep := Report{Leads: len(leads)}
	for _, l := range leads {
		switch l.Outcome {
		case Won:
			rep.Won++
		case Lost:
			rep.Lost++
		case Rejected:
			rep.Rejected++
		}
	}
	rep.Outcomes = rep.Won + rep.Lost + rep.Rejected
	if rep.Outcomes > 0 {
		rep.BaseRate = float64(rep.Won) / float64(rep.Outcomes)
	}

	rep.Rules = ruleSignals(leads, fired, currentPoints, rep.BaseRate)
	rep.Attributes = attributeSignals(leads, rep.BaseRate)
	rep.Funnel = funnel(leads)

	var holdoutIDs []string
	switch {
	case rep.Outcomes < opt.MinOutcomes:
		rep.Message = fmt.Sprintf("not enough outcomes: %d of %d needed for suggestions (counts and lifts above are descriptive only)", rep.Outcomes, opt.MinOutcomes)
	case rep.Won < SmallCell || rep.Outcomes-rep.Won < SmallCell:
		rep.Message = fmt.Sprintf("not enough of both outcomes: %d won and %d lost or rejected, at least %d of each needed for suggestions", rep.Won, rep.Outcomes-rep.Won, SmallCell)
	default:
		rep.Model, holdoutIDs = fitModel(leads, fired, rep.Rules, currentPoints, opt)
		if rep.Model == nil {
			rep.Message = "the model could not be fitted; no suggestions"
		}
	}
	return rep, holdoutIDs
}

// sortedLeads copies the leads in a canonical order, so that every sum below
// (floating point addition is not associative) and the split are independent
// of the caller's order.
func sortedLeads(in []Lead) []Lead {
	leads := slices.Clone(in)
	slices.SortStableFunc(leads, func(a, b Lead) int {
		if c := strings.Compare(a.LeadID, b.LeadID); c != 0 {
			return c
		}
		// Duplicate ids (a caller's mistake) still need a total order.
		return strings.Compare(canonical(a), canonical(b))
	})
	return leads
}

func canonical(l Lead) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v|%s|%d|%d|%d|%d|", l.Score, l.Outcome, l.MQLAt.UnixNano(), l.SQLAt.UnixNano(), l.WonAt.UnixNano(), l.LostAt.UnixNano())
	for _, m := range []map[string]float64{l.Engagement, l.Fit} {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			fmt.Fprintf(&b, "%s=%v,", k, m[k])
		}
		b.WriteByte('|')
	}
	for _, k := range slices.Sorted(maps.Keys(l.Attributes)) {
		fmt.Fprintf(&b, "%s=%s,", k, l.Attributes[k])
	}
	return b.String()
}

// firedRules lists, per lead, the rules it fired, sorted.
func firedRules(leads []Lead, currentPoints map[string]float64) [][]ruleKey {
	out := make([][]ruleKey, len(leads))
	for i, l := range leads {
		var ks []ruleKey
		for kind, m := range map[string]map[string]float64{KindEngagement: l.Engagement, KindFit: l.Fit, KindAccountFit: l.AccountFit} {
			for id, v := range m {
				if kind == KindAccountFit {
					id = AccountRuleID(id)
				}
				cur, published := currentPoints[id]
				if v != 0 || (published && cur == 0) {
					ks = append(ks, ruleKey{kind, id})
				}
			}
		}
		slices.SortFunc(ks, ruleKey.less)
		out[i] = ks
	}
	return out
}

func conversion(won, outcomes int, baseRate float64) Conversion {
	c := Conversion{Small: outcomes < SmallCell}
	if outcomes == 0 {
		return c
	}
	rate := float64(won) / float64(outcomes)
	lo, hi := wilson(won, outcomes)
	c.Rate, c.RateLow, c.RateHigh = &rate, &lo, &hi
	if baseRate > 0 {
		lift, liftLo, liftHi := rate/baseRate, lo/baseRate, hi/baseRate
		c.Lift, c.LiftLow, c.LiftHigh = &lift, &liftLo, &liftHi
	}
	return c
}

func ruleSignals(leads []Lead, fired [][]ruleKey, currentPoints map[string]float64, baseRate float64) []RuleSignal {
	type counts struct{ leads, outcomes, won int }
	byRule := map[ruleKey]*counts{}
	for i, l := range leads {
		for _, k := range fired[i] {
			c := byRule[k]
			if c == nil {
				c = &counts{}
				byRule[k] = c
			}
			c.leads++
			if l.Outcome.decided() {
				c.outcomes++
				if l.Outcome == Won {
					c.won++
				}
			}
		}
	}
	seen := map[string]bool{}
	for k := range byRule {
		seen[k.id] = true
	}
	for id := range currentPoints {
		if !seen[id] {
			byRule[ruleKey{"", id}] = &counts{}
		}
	}
	keys := slices.SortedFunc(maps.Keys(byRule), ruleKey.less)
	out := make([]RuleSignal, 0, len(keys))
	for _, k := range keys {
		c := byRule[k]
		cur, published := currentPoints[k.id]
		out = append(out, RuleSignal{
			Rule: k.id, Kind: k.kind, Published: published, CurrentPoints: finite(cur),
			LeadsWith: c.leads, OutcomesWith: c.outcomes, ConvertedWith: c.won,
			Conversion: conversion(c.won, c.outcomes, baseRate),
		})
	}
	return out
}

func attributeSignals(leads []Lead, baseRate float64) []AttributeSignal {
	type key struct{ attr, value string }
	type counts struct{ leads, outcomes, won int }
	by := map[key]*counts{}
	for _, l := range leads {
		for a, v := range l.Attributes {
			if v == "" || personalAttributes[a] {
				continue
			}
			c := by[key{a, v}]
			if c == nil {
				c = &counts{}
				by[key{a, v}] = c
			}
			c.leads++
			if l.Outcome.decided() {
				c.outcomes++
				if l.Outcome == Won {
					c.won++
				}
			}
		}
	}
	out := make([]AttributeSignal, 0, len(by))
	for k, c := range by {
		out = append(out, AttributeSignal{
			Attribute: k.attr, Value: k.value, Leads: c.leads, Outcomes: c.outcomes, Won: c.won,
			Conversion: conversion(c.won, c.outcomes, baseRate),
		})
	}
	// Within an attribute the biggest segments first: that is where a
	// marketer looks, and where the rates mean something.
	slices.SortFunc(out, func(a, b AttributeSignal) int {
		return cmp.Or(strings.Compare(a.Attribute, b.Attribute), cmp.Compare(b.Leads, a.Leads), strings.Compare(a.Value, b.Value))
	})
	return out
}

func funnel(leads []Lead) Funnel {
	var f Funnel
	var mqlToSQL, sqlToWon []float64
	for _, l := range leads {
		if !l.MQLAt.IsZero() {
			f.MQLs++
			if !l.SQLAt.IsZero() {
				f.MQLToSQL++
				if !l.SQLAt.Before(l.MQLAt) {
					mqlToSQL = append(mqlToSQL, l.SQLAt.Sub(l.MQLAt).Hours()/24)
				}
			}
		}
		if !l.SQLAt.IsZero() {
			f.SQLs++
			if l.Outcome == Won {
				f.SQLToWon++
				if !l.WonAt.IsZero() && !l.WonAt.Before(l.SQLAt) {
					sqlToWon = append(sqlToWon, l.WonAt.Sub(l.SQLAt).Hours()/24)
				}
			}
		}
	}
	if f.MQLs > 0 {
		f.MQLToSQLRate = ptr(float64(f.MQLToSQL) / float64(f.MQLs))
	}
	if f.SQLs > 0 {
		f.SQLToWonRate = ptr(float64(f.SQLToWon) / float64(f.SQLs))
	}
	f.PairsMQLToSQL, f.PairsSQLToWon = len(mqlToSQL), len(sqlToWon)
	if m, ok := median(mqlToSQL); ok {
		f.MedianDaysMQLToSQL = ptr(m)
	}
	if m, ok := median(sqlToWon); ok {
		f.MedianDaysSQLToWon = ptr(m)
	}
	return f
}

// split picks the held-out decided leads: within the won and within the
// others, leads are ordered by a hash of (seed, lead id) and the first
// fraction is held out. Stratifying keeps the held-out base rate equal to the
// training one, and hashing (rather than shuffling) keeps a lead on the same
// side when other leads are added, so successive reports are comparable.
func split(leads []Lead, seed uint64, fraction float64) (holdout []bool) {
	holdout = make([]bool, len(leads))
	var won, other []int
	for i, l := range leads {
		switch {
		case l.Outcome == Won:
			won = append(won, i)
		case l.Outcome.decided():
			other = append(other, i)
		}
	}
	for _, class := range [][]int{won, other} {
		hashes := make(map[int]uint64, len(class))
		for _, i := range class {
			hashes[i] = splitHash(seed, leads[i].LeadID)
		}
		// class is in canonical lead order already; a stable sort keeps
		// duplicate ids in that order.
		slices.SortStableFunc(class, func(a, b int) int { return cmp.Compare(hashes[a], hashes[b]) })
		k := int(math.Round(fraction * float64(len(class))))
		k = min(max(k, 1), len(class)-1)
		for _, i := range class[:max(k, 0)] {
			holdout[i] = true
		}
	}
	return holdout
}

func splitHash(seed uint64, id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	// splitmix64 finalizer: fnv alone barely mixes the seed into the high bits.
	z := h.Sum64() ^ (seed * 0x9e3779b97f4a7c15)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// fitModel fits on the training leads, fills the rules' coefficients and
// suggestions in place, and measures AUCs on the held-out leads. Its
// steps: split the decided leads, choose the features, fit, scale the
// coefficients to points, compare the rankings on the held-out leads, and
// write the notes.
func fitModel(leads []Lead, fired [][]ruleKey, rules []RuleSignal, currentPoints map[string]float64, opt Options) (*ModelReport, []string) {
	train, test := splitDecided(leads, opt)
	m := &ModelReport{Method: Method, L2: opt.L2, TrainLeads: len(train), HoldoutLeads: len(test)}
	d, excluded := chooseFeatures(train, fired, rules)
	m.Features = len(d.features)
	x := make([]float64, len(train)*m.Features)
	y := make([]bool, len(train))
	for r, i := range train {
		d.row(i, x[r*m.Features:(r+1)*m.Features])
		y[r] = leads[i].Outcome == Won
		if y[r] {
			m.TrainWon++
		}
	}
	fit, err := fitLogistic(x, y, m.Features, opt.L2)
	if err != nil {
		return nil, nil
	}
	m.Intercept = fit.Beta[0]
	m.Iterations, m.Converged = fit.Iterations, fit.Converged
	suggested := suggestPoints(m, d, &fit, currentPoints)
	for ri := range rules {
		j, ok := d.index[ruleKey{rules[ri].Kind, rules[ri].Rule}]
		if !ok {
			continue
		}
		b, se := fit.Beta[1+j], fit.StdErr[1+j]
		rules[ri].Coefficient, rules[ri].CoefficientSE = ptr(b), ptr(se)
		rules[ri].SuggestedPoints = ptr(suggested[j])
		rules[ri].Effect = effect(b, se)
	}
	ids := compareOnHoldout(m, leads, test, d, &fit, suggested)
	addModelNotes(m, len(test), excluded, &fit)
	return m, ids
}

// splitDecided splits the leads with a decided outcome into training and
// held-out leads (indexes into leads).
func splitDecided(leads []Lead, opt Options) (train, test []int) {
	holdout := split(leads, opt.Seed, opt.HoldoutFraction)
	for i, l := range leads {
		if !l.Outcome.decided() {
			continue
		}
		if holdout[i] {
			test = append(test, i)
		} else {
			train = append(train, i)
		}
	}
	return train, test
}

// design is the model's features and how a lead's fired rules become a row.
type design struct {
	features []ruleKey
	index    map[ruleKey]int
	fired    [][]ruleKey
}

// row writes lead i's 0/1 features into dst.
func (d *design) row(i int, dst []float64) {
	clear(dst)
	for _, k := range d.fired[i] {
		if j, ok := d.index[k]; ok {
			dst[j] = 1
		}
	}
}

// chooseFeatures keeps the rules fired by at least SmallCell training
// leads and not fired by at least SmallCell. Rarer rules would get a
// coefficient that is mostly penalty; near-universal ones are confounded
// with the intercept. It returns the left-out rules for the notes.
func chooseFeatures(train []int, fired [][]ruleKey, rules []RuleSignal) (*design, []string) {
	withCount := map[ruleKey]int{}
	for _, i := range train {
		for _, k := range fired[i] {
			withCount[k]++
		}
	}
	d := &design{fired: fired}
	var excluded []string
	for _, rs := range rules {
		k := ruleKey{rs.Kind, rs.Rule}
		n := withCount[k]
		if n >= SmallCell && len(train)-n >= SmallCell {
			d.features = append(d.features, k)
		} else if rs.Kind != "" {
			excluded = append(excluded, fmt.Sprintf("%s (%d of %d training leads)", rs.Rule, n, len(train)))
		}
	}
	d.index = make(map[ruleKey]int, len(d.features))
	for j, k := range d.features {
		d.index[k] = j
	}
	return d, excluded
}

// suggestPoints turns the coefficients into points. The suggestion spreads
// as many points over these rules as the published rules do, so it reads on
// the marketer's own scale and the MQL thresholds keep roughly their
// meaning.
func suggestPoints(m *ModelReport, d *design, fit *logisticFit, currentPoints map[string]float64) []float64 {
	var sumCur, sumCoef float64
	for j, k := range d.features {
		sumCur += math.Abs(finite(currentPoints[k.id]))
		sumCoef += math.Abs(fit.Beta[1+j])
	}
	switch {
	case sumCoef == 0:
		m.PointsPerLogOdds = 0
	case sumCur == 0:
		m.PointsPerLogOdds = defaultPointsPerLogOdds
		m.Notes = append(m.Notes, fmt.Sprintf("the published rules give these signals no points, so 1 log-odds is shown as %d points", defaultPointsPerLogOdds))
	default:
		m.PointsPerLogOdds = sumCur / sumCoef
	}
	suggested := make([]float64, len(d.features))
	for j := range d.features {
		suggested[j] = math.Round(fit.Beta[1+j] * m.PointsPerLogOdds)
		if suggested[j] == 0 {
			suggested[j] = 0 // no "-0" in the table
		}
	}
	return suggested
}

// compareOnHoldout ranks the held-out leads by their current score, by the
// suggested points and by the model, and records the AUCs. It returns the
// held-out leads' ids.
func compareOnHoldout(m *ModelReport, leads []Lead, test []int, d *design, fit *logisticFit, suggested []float64) []string {
	cur := make([]float64, len(test))
	sug := make([]float64, len(test))
	mod := make([]float64, len(test))
	pos := make([]bool, len(test))
	ids := make([]string, len(test))
	buf := make([]float64, len(d.features))
	for r, i := range test {
		d.row(i, buf)
		cur[r] = finite(leads[i].Score)
		mod[r] = linearPredictor(buf, fit.Beta)
		for j, v := range buf {
			sug[r] += v * suggested[j]
		}
		pos[r] = leads[i].Outcome == Won
		if pos[r] {
			m.HoldoutWon++
		}
		ids[r] = leads[i].LeadID
	}
	nNeg := len(test) - m.HoldoutWon
	m.AUCCurrent, _ = AUC(cur, pos)
	m.AUCSuggested, _ = AUC(sug, pos)
	m.AUCModel, _ = AUC(mod, pos)
	m.ROCCurrent = ROC(cur, pos, MaxROCPoints)
	m.ROCSuggested = ROC(sug, pos, MaxROCPoints)
	m.AUCCurrentSE = aucStdErr(m.AUCCurrent, m.HoldoutWon, nNeg)
	m.AUCSuggestedSE = aucStdErr(m.AUCSuggested, m.HoldoutWon, nNeg)
	return ids
}

// addModelNotes says what the comparison means and what the fit left out.
func addModelNotes(m *ModelReport, heldOut int, excluded []string, fit *logisticFit) {
	diff := m.AUCSuggested - m.AUCCurrent
	noise := 1.96 * math.Hypot(m.AUCCurrentSE, m.AUCSuggestedSE)
	switch {
	case math.Abs(diff) <= noise:
		m.Notes = append(m.Notes, fmt.Sprintf("the suggested points and the current rules rank held-out leads alike: the AUC difference %+.3f is within the noise of %d held-out leads (±%.3f)", diff, heldOut, noise))
	case diff > 0:
		m.Notes = append(m.Notes, fmt.Sprintf("the suggested points rank held-out leads better than the current rules (AUC %+.3f)", diff))
	default:
		m.Notes = append(m.Notes, fmt.Sprintf("the current rules rank held-out leads better than the suggested points (AUC %+.3f): the score uses more than which rules fired (repeats, decay)", diff))
	}
	if len(excluded) > 0 {
		m.Notes = append(m.Notes, fmt.Sprintf("left out of the model (fewer than %d training leads with or without them): %s", SmallCell, strings.Join(excluded, ", ")))
	}
	if !fit.Converged {
		m.Notes = append(m.Notes, fmt.Sprintf("the fit did not fully converge in %d iterations", fit.Iterations))
	}
	m.Notes = append(m.Notes, "suggestions are per lead that fired the rule (not per event) and were fitted on the training leads only; publishing them is a rules change like any other")
}

// Effect thresholds: a coefficient must be both clear of noise (1.96
// standard errors, 95%) and large enough to matter (0.25 log-odds, odds x1.28)
// to be called a signal that raises or lowers the chance of a win. With tens
// of rules, some irrelevant rule will clear 1.96 SE by chance; the size bar
// keeps such flukes labelled "slightly", which is what they are.
const (
	effectZ    = 1.96
	effectSize = 0.25
)

func effect(b, se float64) string {
	switch {
	case math.Abs(b) < effectZ*se || b == 0:
		return "unclear"
	case b >= effectSize:
		return "raises"
	case b <= -effectSize:
		return "lowers"
	case b > 0:
		return "slightly raises"
	}
	return "slightly lowers"
}

func ptr(f float64) *float64 { return &f }

// finite maps NaN and ±Inf (which JSON cannot carry) to 0.
func finite(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}
