package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"gopkg.in/yaml.v3"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
	"github.com/leadscore/leadscore/shared/signals"
)

// SignalsBody is the answer to GET /v1/reports/signals: the closed-loop
// report (shared/signals) and what it was computed from.
type SignalsBody struct {
	signals.Report
	RulesVersion int       `json:"rules_version"`
	GeneratedAt  time.Time `json:"generated_at"`
	// LeadsRead is how many identified leads were read; Truncated is true
	// when the read stopped at the bound before the table's end, so the
	// report covers a sample (the first leads in scan order, which is by
	// hash of the lead id: an unbiased one).
	LeadsRead int  `json:"leads_read"`
	Truncated bool `json:"truncated"`
}

// ReportOptions bound one report.
type ReportOptions struct {
	// MaxLeads stops the read after this many leads (DefaultReportMaxLeads
	// when zero). A report is a pass over every lead: the route bounds it so
	// it stays inside API Gateway's 30 s; the command under infra/report can
	// read far more.
	MaxLeads int
	// Signals tunes the model (zero: signals' defaults).
	Signals signals.Options
}

// DefaultReportMaxLeads keeps the route's Scan inside API Gateway's 30 s:
// DynamoDB Local reads ~10,000 lead items a second through this path.
const DefaultReportMaxLeads = 50_000

// scanPageLeads is the leads asked of one ScanLeads call.
const scanPageLeads = 500

// reportReserve is the time kept back from the invocation's deadline to
// build and send the report: past it, the read stops and the report says it
// is truncated rather than the function timing out.
const reportReserve = 3 * time.Second

func nearDeadline(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < reportReserve
}

// BuildSignalsReport reads every identified lead (up to opt.MaxLeads),
// re-scores each with rules at now without writing anything, and builds the
// closed-loop report (SCORING.md section 6).
func BuildSignalsReport(ctx context.Context, src leadscore.LeadScanner, rules *scoring.Rules, now time.Time, opt ReportOptions) (SignalsBody, error) {
	maxLeads := opt.MaxLeads
	if maxLeads <= 0 {
		maxLeads = DefaultReportMaxLeads
	}
	points, err := CurrentPoints(rules)
	if err != nil {
		return SignalsBody{}, err
	}
	var leads []signals.Lead
	cursor := ""
	truncated := false
	for {
		// At the bound, one more lead is asked for only to tell whether
		// the report is truncated.
		page, next, err := src.ScanLeads(ctx, cursor, max(1, min(scanPageLeads, maxLeads-len(leads))))
		if err != nil {
			return SignalsBody{}, fmt.Errorf("read leads for the signals report: %w", err)
		}
		for _, l := range page {
			if l.State == nil || !l.State.Identified() {
				continue
			}
			if len(leads) == maxLeads {
				truncated = true
				break
			}
			leads = append(leads, SignalsLead(l.ID, l.State, rules, now))
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
	return SignalsBody{Report: signals.Build(leads, points, opt.Signals), RulesVersion: rules.Version,
		GeneratedAt: now.UTC(), LeadsRead: len(leads), Truncated: truncated}, nil
}

// SignalsLead is one lead as the report sees it: scored with the current
// rules at now (State.Scores decides no stage and changes nothing), the
// outcome from its stage history.
func SignalsLead(id string, st *scoring.State, rules *scoring.Rules, now time.Time) signals.Lead {
	score, breakdown := st.Scores(rules, now)
	l := signals.Lead{LeadID: id, Engagement: map[string]float64{}, Fit: map[string]float64{},
		Attributes: signals.Attributes(st.Attributes()), Score: score.Fit + score.Engagement, Outcome: signals.Open}
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
	l.Outcome, l.WonAt, l.LostAt = Outcome(st.History())
	ms := st.Milestones()
	l.MQLAt, l.SQLAt = ms.MQLAt, ms.SQLAt
	if l.WonAt.IsZero() {
		l.WonAt = ms.CustomerAt
	}
	return l
}

// Outcome is a lead's latest sales outcome from its stage history: the
// lifecycle records a sales move with the event type as its reason
// (sql→customer "deal_won", sql→nurture "deal_lost", →disqualified
// "sales_rejected"). A lead sales accepted and nothing after is Open.
func Outcome(history []scoring.Transition) (o signals.Outcome, wonAt, lostAt time.Time) {
	o = signals.Open
	for _, t := range history {
		switch t.Reason {
		case scoring.TypeDealWon:
			o, wonAt = signals.Won, t.At
		case scoring.TypeDealLost:
			o, lostAt = signals.Lost, t.At
		case scoring.TypeSalesRejected:
			o, lostAt = signals.Rejected, t.At
		case scoring.TypeSalesAccepted:
			// Back in play (a disqualified or lost lead accepted again):
			// its earlier outcome no longer describes it.
			o = signals.Open
		}
	}
	return o, wonAt, lostAt
}

// CurrentPoints lists every published rule id (fit, engagement, burst) with
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
	return out, nil
}

// SignalsReportRoute answers GET /v1/reports/signals with the report built
// from every identified lead and the current rules. Add it with
// Options.Routes under SignalsReportRouteKey.
func SignalsReportRoute(src leadscore.LeadScanner, rules leadscore.RulesStore, now func() time.Time, opt ReportOptions, log *slog.Logger) RouteFunc {
	return func(ctx context.Context, _ events.APIGatewayV2HTTPRequest, _ map[string]string) events.APIGatewayV2HTTPResponse {
		r, err := rules.CurrentRules(ctx)
		if err != nil {
			log.Error("reading the current rules for the report failed", "error", err.Error())
			return errorResponse(storeUnavailable())
		}
		body, err := BuildSignalsReport(ctx, src, r, now(), opt)
		if err != nil {
			log.Error("building the signals report failed", "error", err.Error())
			return errorResponse(storeUnavailable())
		}
		return jsonResponse(http.StatusOK, body)
	}
}
