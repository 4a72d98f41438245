package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/leadscore/leadscore/shared/httpapi"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
	"github.com/leadscore/leadscore/shared/signals"
)

// seedOutcomeLeads writes n leads through the store, each with a form (fit
// attributes), and for decided ones the sales events, evaluated one step at
// a time as the score function would. Every second lead asked for a demo;
// most of those are won, most of the others lost or rejected.
func seedOutcomeLeads(t *testing.T, e *env, n, open int) {
	t.Helper()
	r := scoring.DefaultRules()
	base := testNow.Add(-30 * 24 * time.Hour)
	for i := range n + open {
		email := fmt.Sprintf("buyer%03d@example.com", i)
		id := leadscore.LeadID(email)
		rec := e.readLead(t, id)
		rec.Email = email
		title := "Director of IT"
		if i%3 == 0 {
			title = "Engineer"
		}
		mk := func(j int, typ string, day int) scoring.Event {
			return scoring.Event{EventID: fmt.Sprintf("o%d-%d", i, j), Type: typ, Email: email, OccurredAt: base.Add(time.Duration(day) * 24 * time.Hour),
				Properties: map[string]any{"url": "/pricing"}}
		}
		steps := [][]scoring.Event{{mk(0, "form_submit", 0), mk(1, "page_view", 0)}}
		steps[0][0].Lead = map[string]any{"job_title": title, "company_size": 500.0, "industry": "software", "country": "US"}
		demo := i%2 == 0
		if demo {
			steps[0] = append(steps[0], mk(2, "demo_request", 1))
		}
		if i < n {
			// Sales rejects a lead before accepting it (docs/scoring.md: from
			// lead, mql or nurture); won and lost deals go through sql.
			switch won := (demo && i%10 != 0) || (!demo && i%5 == 1); {
			case won:
				steps = append(steps, []scoring.Event{mk(3, "sales_accepted", 3)}, []scoring.Event{mk(4, "deal_won", 10)})
			case i%4 == 1:
				steps = append(steps, []scoring.Event{mk(4, "sales_rejected", 10)})
			default:
				steps = append(steps, []scoring.Event{mk(3, "sales_accepted", 3)}, []scoring.Event{mk(4, "deal_lost", 10)})
			}
		}
		var res scoring.Result
		for k, evs := range steps {
			rec.State.Apply(evs, r)
			res = rec.State.Evaluate(r, evs[0].OccurredAt.Add(time.Duration(k)*time.Minute))
		}
		rec.View = leadscore.BuildView(id, email, rec.State, res, 0, testNow)
		e.writeLead(t, rec)
	}
}

func getReport(t *testing.T, e *env) signals.LeadsReport {
	t.Helper()
	req := httpapi.Request{RawPath: "/v1/reports/signals", RouteKey: SignalsReportRouteKey,
		Headers: map[string]string{"x-api-key": testKey}}
	req.RequestContext.HTTP.Method = "GET"
	resp := e.do(t, req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/reports/signals: %d %s", resp.StatusCode, resp.Body)
	}
	var body signals.LeadsReport
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatalf("report %s: %v", resp.Body, err)
	}
	for _, k := range []string{`"rules"`, `"attributes"`, `"model"`, `"funnel"`, `"base_rate"`, `"rules_version"`, `"leads_read"`} {
		if !strings.Contains(resp.Body, k) {
			t.Fatalf("report lacks %s: %s", k, resp.Body)
		}
	}
	return body
}

func TestSignalsReportFromStoredOutcomes(t *testing.T) {
	e := newEnv(t)
	seedOutcomeLeads(t, e, 80, 10)
	// A visitor never identified: not a lead, not in the report.
	vid := leadscore.VisitorID("cookie-1")
	visitor := e.readLead(t, vid)
	visitor.State.Apply([]scoring.Event{{EventID: "v1", Type: "page_view", OccurredAt: testNow, AnonymousID: "cookie-1"}}, scoring.DefaultRules())
	visitor.View = leadscore.BuildView(vid, "", visitor.State, visitor.State.Evaluate(scoring.DefaultRules(), testNow), 0, testNow)
	e.writeLead(t, visitor)

	body := getReport(t, e)
	if body.LeadsRead != 90 || body.Leads != 90 || body.Truncated {
		t.Fatalf("leads read %d, in report %d, truncated %v; want 90 and 90", body.LeadsRead, body.Leads, body.Truncated)
	}
	won := 0
	for i := range 80 {
		if demo := i%2 == 0; (demo && i%10 != 0) || (!demo && i%5 == 1) {
			won++
		}
	}
	if body.Outcomes != 80 || body.Won != won || body.Won+body.Lost+body.Rejected != 80 || body.Rejected == 0 || body.Lost == 0 {
		t.Fatalf("outcomes %d (won %d lost %d rejected %d); want 80 with %d won and some of each", body.Outcomes, body.Won, body.Lost, body.Rejected, won)
	}
	if body.Model == nil || body.Message != "" {
		t.Fatalf("no model with 80 outcomes: message %q", body.Message)
	}
	var demo *signals.RuleSignal
	for i := range body.Rules {
		if body.Rules[i].Rule == "demo-request" {
			demo = &body.Rules[i]
		}
	}
	if demo == nil || demo.LeadsWith != 45 || demo.OutcomesWith != 40 || demo.CurrentPoints != 40 || demo.Lift == nil || *demo.Lift <= 1 {
		t.Fatalf("demo-request signal %+v; want 45 leads (40 decided) at 40 points with a lift above 1", demo)
	}
	if body.Funnel.SQLs != 80-body.Rejected || body.Funnel.SQLToWon != won {
		t.Fatalf("funnel %+v; want %d SQLs (all but the rejected), %d won", body.Funnel, 80-body.Rejected, won)
	}
}

func TestSignalsReportSaysWhenOutcomesAreTooFew(t *testing.T) {
	e := newEnv(t)
	seedOutcomeLeads(t, e, 12, 3)
	body := getReport(t, e)
	if body.Outcomes != 12 || body.Model != nil || !strings.Contains(body.Message, "not enough") {
		t.Fatalf("with 12 outcomes: model %v message %q; want no model and a not-enough-data message", body.Model, body.Message)
	}
}

func TestSignalsReportIsBounded(t *testing.T) {
	e := newEnv(t)
	seedOutcomeLeads(t, e, 0, 25)
	body, err := signals.ReadReport(t.Context(), e.opts.Scanner, scoring.DefaultRules(), testNow, signals.ReadOptions{MaxLeads: 10})
	if err != nil || body.LeadsRead != 10 || !body.Truncated {
		t.Fatalf("bounded at 10: read %d truncated %v (%v)", body.LeadsRead, body.Truncated, err)
	}
	body, err = signals.ReadReport(t.Context(), e.opts.Scanner, scoring.DefaultRules(), testNow, signals.ReadOptions{MaxLeads: 25})
	if err != nil || body.LeadsRead != 25 || body.Truncated {
		t.Fatalf("bounded at exactly the lead count: read %d truncated %v (%v); want 25, not truncated", body.LeadsRead, body.Truncated, err)
	}
}
