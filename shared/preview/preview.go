// Package preview is the dry run of a draft rules document (docs/api.md
// "Accounts, preview, console"): what publishing it would do to every lead
// and every account, computed without writing anything.
//
// It is pure, like shared/scoring: Lead is what the bulk rescore of a
// published draft does to one lead (rebuild from the event history, evaluate
// at now), applied to a copy that is never stored; Summarize adds the leads
// up into the answer of GET /v1/rules/preview/{id}, and Accounts evaluates
// the accounts from the leads' summaries under the draft (accounts.go).
// Reading leads, fanning the work out through the score queue and keeping
// the tallies is the job of shared/score and shared/dynamodb.
package preview

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/leadscore/leadscore/shared/scoring"
)

// Snapshot is a lead's scores and stage at one moment.
type Snapshot struct {
	Fit        float64       `json:"fit"`
	Engagement float64       `json:"engagement"`
	Grade      string        `json:"grade"`
	Stage      scoring.Stage `json:"stage"`
}

// Outcome is the dry run of one lead: as it is (Before: its stage, and its
// scores under the published rules at the preview's clock) and as the
// draft would leave it (After).
type Outcome struct {
	LeadID string   `json:"lead_id"`
	Email  string   `json:"email,omitempty"`
	Before Snapshot `json:"before"`
	After  Snapshot `json:"after"`
	// Account is the lead's summary for its account under the draft at the
	// preview's clock, nil when it belongs to none; AccountBefore is the
	// account it belongs to under the published rules, "" for none. The
	// accounts' dry run (Accounts) reads them; the lead lists of a Summary
	// leave them out.
	Account       *scoring.AccountMember `json:"account,omitempty"`
	AccountBefore string                 `json:"account_before,omitempty"`
}

// Lead runs the draft on one lead. st is the lead's stored state, which it
// changes (pass a state read for the purpose and never written back);
// history is the lead's full event history. It does exactly what the score
// function does to a lead when a published version is rescored
// (State.Rebuild with the new rules, then State.Evaluate at now), so its
// After stage is the stage publishing the draft at now would give, and its
// Account the summary the lead's account would then be scored with.
func Lead(id, email string, st *scoring.State, history []scoring.Event, published, draft *scoring.Rules, now time.Time) Outcome {
	before, _ := st.Scores(published, now)
	o := Outcome{LeadID: id, Email: email, AccountBefore: st.AccountID(published),
		Before: Snapshot{Fit: before.Fit, Engagement: before.Engagement, Grade: before.Grade, Stage: st.Stage()}}
	st.Rebuild(history, draft)
	res := st.Evaluate(draft, now)
	o.After = Snapshot{Fit: res.Score.Fit, Engagement: res.Score.Engagement, Grade: res.Score.Grade, Stage: res.Stage}
	if m := st.AccountMember(id, draft, now); m.AccountID != "" {
		o.Account = &m
	}
	return o
}

// Bar is a rules document's MQL threshold (docs/scoring.md section 4).
type Bar struct {
	FitMin        float64 `yaml:"fit_min"`
	EngagementMin float64 `yaml:"engagement_min"`
}

// Meets says whether a snapshot's scores reach the bar.
func (b Bar) Meets(s Snapshot) bool { return s.Fit >= b.FitMin && s.Engagement >= b.EngagementMin }

// BarOf reads the mql section of a rules document (JSON or YAML alike).
func BarOf(r *scoring.Rules) (Bar, error) {
	var doc struct {
		MQL Bar `yaml:"mql"`
	}
	if err := yaml.Unmarshal(r.Document(), &doc); err != nil {
		return Bar{}, fmt.Errorf("read the mql section of rules version %d: %w", r.Version, err)
	}
	return doc.MQL, nil
}

// Kind says which list of the answer an outcome belongs in.
type Kind int

// The kinds of outcome.
const (
	// Unchanged: neither list.
	Unchanged Kind = iota
	// Qualifies: the draft moves the lead into mql.
	Qualifies
	// Unqualifies: the draft moves the lead out of mql, or the lead is an
	// MQL that meets the published bar but would not meet the draft's. It
	// stays mql when published (a score falling back under a threshold moves
	// nothing, docs/scoring.md section 4): it is listed so the marketer sees
	// the MQLs the draft would not have qualified.
	Unqualifies
)

// Classify sorts an outcome into a list, given the published and the
// draft's bars.
func Classify(o Outcome, published, draft Bar) Kind {
	wasMQL, isMQL := o.Before.Stage == scoring.StageMQL, o.After.Stage == scoring.StageMQL
	switch {
	case !wasMQL && isMQL:
		return Qualifies
	case wasMQL && !isMQL:
		return Unqualifies
	case wasMQL && published.Meets(o.Before) && !draft.Meets(o.After):
		return Unqualifies
	}
	return Unchanged
}

// StageChange names a move as the answer's stage_changes counts it:
// "lead->mql".
func StageChange(o Outcome) string {
	if o.Before.Stage == o.After.Stage {
		return ""
	}
	return string(o.Before.Stage) + "->" + string(o.After.Stage)
}

// ListMax bounds would_qualify and would_unqualify.
const ListMax = 100

// Summary is what GET /v1/rules/preview/{id} answers once the dry run is
// done.
type Summary struct {
	Leads          int            `json:"leads"`
	StageChanges   map[string]int `json:"stage_changes"`
	WouldQualify   []Outcome      `json:"would_qualify"`
	WouldUnqualify []Outcome      `json:"would_unqualify"`
	// The lists hold at most ListMax leads each, those with the highest
	// engagement after; the counts are of every lead.
	WouldQualifyCount   int `json:"would_qualify_count"`
	WouldUnqualifyCount int `json:"would_unqualify_count"`
	// Histograms are of "fit" and "engagement", before and after.
	Histograms map[string]Histogram `json:"histograms"`
	// Accounts is what the draft would do to accounts (Accounts); nil when
	// the preview could not read accounts.
	Accounts *AccountSummary `json:"accounts,omitempty"`
}

// Histogram counts leads by score, before and after, in bins of equal
// width from the lowest score's bin to the highest's.
type Histogram struct {
	BinWidth float64 `json:"bin_width"`
	Bins     []Bin   `json:"bins"`
}

// Bin counts the leads whose score is in [From, From+BinWidth).
type Bin struct {
	From   float64 `json:"from"`
	Before int     `json:"before"`
	After  int     `json:"after"`
}

// Summarize adds up the outcomes of every lead. The result depends on the
// set of outcomes, not their order.
func Summarize(outcomes []Outcome, published, draft Bar) Summary {
	s := Summary{Leads: len(outcomes), StageChanges: map[string]int{}, WouldQualify: []Outcome{}, WouldUnqualify: []Outcome{}}
	for _, o := range outcomes {
		if k := StageChange(o); k != "" {
			s.StageChanges[k]++
		}
		listed := o
		listed.Account, listed.AccountBefore = nil, ""
		switch Classify(o, published, draft) {
		case Qualifies:
			s.WouldQualify = append(s.WouldQualify, listed)
		case Unqualifies:
			s.WouldUnqualify = append(s.WouldUnqualify, listed)
		}
	}
	s.WouldQualifyCount, s.WouldUnqualifyCount = len(s.WouldQualify), len(s.WouldUnqualify)
	s.WouldQualify, s.WouldUnqualify = top(s.WouldQualify), top(s.WouldUnqualify)
	s.Histograms = map[string]Histogram{
		"engagement": histogram(outcomes, func(x Snapshot) float64 { return x.Engagement }),
		"fit":        histogram(outcomes, func(x Snapshot) float64 { return x.Fit }),
	}
	return s
}

// top keeps the ListMax outcomes with the highest engagement after (ties:
// lead id), so the lists are the same whatever order leads were read in.
func top(os []Outcome) []Outcome {
	return topBy(os, func(o Outcome) (float64, string) { return o.After.Engagement, o.LeadID })
}

// topBy keeps the ListMax of xs with the highest engagement (ties: the
// lower id), as key gives them.
func topBy[T any](xs []T, key func(T) (engagement float64, id string)) []T {
	slices.SortFunc(xs, func(a, b T) int {
		ea, ia := key(a)
		eb, ib := key(b)
		return cmp.Or(cmp.Compare(eb, ea), strings.Compare(ia, ib))
	})
	return xs[:min(len(xs), ListMax)]
}

// maxBins bounds a histogram: the bin width grows (10, 20, 50, 100, ...)
// until the scores fit.
const maxBins = 60

func histogram(outcomes []Outcome, score func(Snapshot) float64) Histogram {
	if len(outcomes) == 0 {
		return Histogram{BinWidth: 10, Bins: []Bin{}}
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, o := range outcomes {
		for _, v := range []float64{score(o.Before), score(o.After)} {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	width := 10.0
	for steps := []float64{2, 2.5, 2}; ; {
		if (math.Floor(hi/width)-math.Floor(lo/width))+1 <= maxBins {
			break
		}
		width *= steps[0]
		steps = append(steps[1:], steps[0])
	}
	first := math.Floor(lo / width)
	bins := make([]Bin, int(math.Floor(hi/width)-first)+1)
	for i := range bins {
		bins[i].From = (first + float64(i)) * width
	}
	for _, o := range outcomes {
		bins[int(math.Floor(score(o.Before)/width)-first)].Before++
		bins[int(math.Floor(score(o.After)/width)-first)].After++
	}
	return Histogram{BinWidth: width, Bins: bins}
}
