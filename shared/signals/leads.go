package signals

import (
	"context"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// This file turns stored leads into the report. ReadReport is the pass
// over every lead (the command under infra/report with -scan, and the
// measurement that compares it with the outcome index); the API reads
// only the leads with an outcome (outcomes.go). Build stays pure; both
// read through leadscore interfaces only.

// LeadsReport is the report over a store's leads and what it was computed
// from: the report part of the body of GET /v1/reports/signals.
type LeadsReport struct {
	Report
	RulesVersion int       `json:"rules_version"`
	GeneratedAt  time.Time `json:"generated_at"`
	// LeadsRead is how many identified leads were read; Truncated is true
	// when the read stopped at the bound before the table's end, so the
	// report covers a sample (the first leads in scan order, which is by
	// hash of the lead id: an unbiased one).
	LeadsRead int  `json:"leads_read"`
	Truncated bool `json:"truncated"`
	// Population is which leads the report covers: PopulationOutcomes
	// (the API: leads with a sales outcome, so leads, leads_with, an
	// attribute's leads and the funnel count only those) or PopulationAll.
	Population string `json:"population"`
	// Computed says where: ComputedInRequest or ComputedBackground (then
	// GeneratedAt is when the build ran).
	Computed string `json:"computed"`
}

// ReadOptions bound one read.
type ReadOptions struct {
	// MaxLeads stops the read after this many leads (DefaultMaxLeads when
	// zero): the report then covers a sample.
	MaxLeads int
	// Model tunes the model (zero: the defaults).
	Model Options
}

// DefaultMaxLeads bounds a full scan when the caller names no bound.
const DefaultMaxLeads = 50_000

// scanPageLeads is the leads asked of one ScanLeads call.
const scanPageLeads = 500

// deadlineReserve is the time kept back from the caller's deadline to build
// and send the report: past it, the read stops and the report says it is
// truncated rather than the function timing out.
const deadlineReserve = 3 * time.Second

func nearDeadline(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < deadlineReserve
}

// ReadReport reads every identified lead of src (up to opt.MaxLeads),
// re-scores each with rules at now without writing anything, and builds the
// closed-loop report (docs/scoring.md section 6).
func ReadReport(ctx context.Context, src leadscore.LeadScanner, rules *scoring.Rules, now time.Time, opt ReadOptions) (LeadsReport, error) {
	maxLeads := opt.MaxLeads
	if maxLeads <= 0 {
		maxLeads = DefaultMaxLeads
	}
	points, err := CurrentPoints(rules)
	if err != nil {
		return LeadsReport{}, err
	}
	var leads []Lead
	cursor := ""
	truncated := false
	for {
		// At the bound, one more lead is asked for only to tell whether
		// the report is truncated.
		page, next, err := src.ScanLeads(ctx, cursor, max(1, min(scanPageLeads, maxLeads-len(leads))))
		if err != nil {
			return LeadsReport{}, fmt.Errorf("read leads for the signals report: %w", err)
		}
		for _, l := range page {
			if l.State == nil || !l.State.Identified() {
				continue
			}
			if len(leads) == maxLeads {
				truncated = true
				break
			}
			leads = append(leads, LeadFromState(l.ID, l.State, rules, now))
		}
		cursor = next
		if next == "" || truncated {
			break
		}
		if nearDeadline(ctx) {
			truncated = true
			break
		}
	}
	return LeadsReport{Report: Build(leads, points, opt.Model), RulesVersion: rules.Version,
		GeneratedAt: now.UTC(), LeadsRead: len(leads), Truncated: truncated,
		Population: PopulationAll, Computed: ComputedInRequest}, nil
}

// LeadFromState is one lead as the report sees it: scored with the current
// rules at now (State.Scores decides no stage and changes nothing), the
// outcome from its stage history.
func LeadFromState(id string, st *scoring.State, rules *scoring.Rules, now time.Time) Lead {
	score, breakdown := st.Scores(rules, now)
	l := Lead{LeadID: id, Engagement: map[string]float64{}, Fit: map[string]float64{},
		Attributes: Attributes(st.Attributes()), Score: score.Fit + score.Engagement, Outcome: Open}
	for _, c := range breakdown {
		switch c.Kind {
		case "fit":
			l.Fit[c.Rule] = c.Points
		case "engagement", "burst":
			if c.Events > 0 {
				l.Engagement[c.Rule] = c.RawPoints
			}
		}
	}
	l.AccountFit = accountFit(id, st, rules, now)
	l.Outcome, l.WonAt, l.LostAt = OutcomeFromHistory(st.History())
	ms := st.Milestones()
	l.MQLAt, l.SQLAt = ms.MQLAt, ms.SQLAt
	if l.WonAt.IsZero() {
		l.WonAt = ms.CustomerAt
	}
	return l
}

// accountFit lists the account fit rules the lead's account attributes
// (what its own events say of its company) match, with their points. A lead
// in no account matches none.
func accountFit(id string, st *scoring.State, rules *scoring.Rules, now time.Time) map[string]float64 {
	m := st.AccountMember(id, rules, now)
	if m.AccountID == "" {
		return nil
	}
	attrs := map[string]any{}
	for _, a := range m.Attributes {
		attrs[a.Key] = a.Value
	}
	if _, ok := attrs["domain"]; !ok && m.Domain != "" {
		attrs["domain"] = m.Domain
	}
	points := scoring.AccountFitPoints(rules)
	out := map[string]float64{}
	for _, rid := range scoring.AccountFitMatches(rules, attrs) {
		out[rid] = points[rid]
	}
	return out
}

// OutcomeFromHistory is a lead's latest sales outcome from its stage
// history: the lifecycle records a sales move with the event type as its
// reason (sql→customer "deal_won", sql→nurture "deal_lost", →disqualified
// "sales_rejected"). A lead sales accepted and nothing after is Open.
func OutcomeFromHistory(history []scoring.Transition) (o Outcome, wonAt, lostAt time.Time) {
	o = Open
	for _, t := range history {
		switch t.Reason {
		case scoring.TypeDealWon:
			o, wonAt = Won, t.At
		case scoring.TypeDealLost:
			o, lostAt = Lost, t.At
		case scoring.TypeSalesRejected:
			o, lostAt = Rejected, t.At
		case scoring.TypeSalesAccepted:
			// Back in play (a disqualified or lost lead accepted again):
			// its earlier outcome no longer describes it.
			o = Open
		}
	}
	return o, wonAt, lostAt
}

// HasOutcome reports whether a lead's latest sales outcome is decided (won,
// lost or rejected): the leads the report's rates, lifts and model use, and
// the ones the store keeps in its outcome index.
func HasOutcome(history []scoring.Transition) bool {
	o, _, _ := OutcomeFromHistory(history)
	return o.decided()
}

// CurrentPoints lists every published rule id (fit, engagement, burst, and
// account fit as AccountRuleID) with
// its points, read from the rules document (JSON or YAML alike).
func CurrentPoints(rules *scoring.Rules) (map[string]float64, error) {
	type rule struct {
		ID     string  `yaml:"id"`
		Points float64 `yaml:"points"`
	}
	var doc struct {
		Fit        []rule `yaml:"fit"`
		Engagement struct {
			Rules  []rule `yaml:"rules"`
			Bursts []rule `yaml:"bursts"`
		} `yaml:"engagement"`
	}
	if err := yaml.Unmarshal(rules.Document(), &doc); err != nil {
		return nil, fmt.Errorf("read the points of rules version %d: %w", rules.Version, err)
	}
	out := map[string]float64{}
	for _, rs := range [][]rule{doc.Fit, doc.Engagement.Rules, doc.Engagement.Bursts} {
		for _, r := range rs {
			out[r.ID] = r.Points
		}
	}
	for id, p := range scoring.AccountFitPoints(rules) {
		out[AccountRuleID(id)] = p
	}
	return out, nil
}
