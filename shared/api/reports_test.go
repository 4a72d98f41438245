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

// getReport is GET /v1/reports/signals, which must answer wantStatus.
func getReport(t *testing.T, e *env, wantStatus int) SignalsResponse {
	t.Helper()
	req := httpapi.Request{RawPath: "/v1/reports/signals", RouteKey: SignalsReportRouteKey,
		Headers: map[string]string{"x-api-key": testKey}}
	req.RequestContext.HTTP.Method = "GET"
	resp := e.do(t, req)
	if resp.StatusCode != wantStatus {
		t.Fatalf("GET /v1/reports/signals: %d %s, want %d", resp.StatusCode, resp.Body, wantStatus)
	}
	var body SignalsResponse
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatalf("report %s: %v", resp.Body, err)
	}
	if body.Status != ReportReady {
		return body
	}
	for _, k := range []string{`"rules"`, `"attributes"`, `"model"`, `"funnel"`, `"base_rate"`, `"rules_version"`, `"leads_read"`, `"population"`, `"computed"`} {
		if !strings.Contains(resp.Body, k) {
			t.Fatalf("report lacks %s: %s", k, resp.Body)
		}
	}
	return body
}

// TestSignalsReportFromStoredOutcomes: the report reads the leads with an
// outcome only; open leads and visitors are not read.
func TestSignalsReportFromStoredOutcomes(t *testing.T) {
	e := newEnv(t)
	seedOutcomeLeads(t, e, 80, 10)
	// A visitor never identified: not a lead, not in the report.
	vid := leadscore.VisitorID("cookie-1")
	visitor := e.readLead(t, vid)
	visitor.State.Apply([]scoring.Event{{EventID: "v1", Type: "page_view", OccurredAt: testNow, AnonymousID: "cookie-1"}}, scoring.DefaultRules())
	visitor.View = leadscore.BuildView(vid, "", visitor.State, visitor.State.Evaluate(scoring.DefaultRules(), testNow), 0, testNow)
	e.writeLead(t, visitor)

	resp := getReport(t, e, http.StatusOK)
	body := resp.LeadsReport
	if resp.Status != ReportReady || body == nil || resp.Build != nil {
		t.Fatalf("status %q report %v build %v; want a ready report and no build", resp.Status, body != nil, resp.Build)
	}
	if body.LeadsRead != 80 || body.Leads != 80 || body.Truncated || body.Population != signals.PopulationOutcomes || body.Computed != signals.ComputedInRequest {
		t.Fatalf("leads read %d, in report %d, truncated %v, population %q, computed %q; want the 80 with an outcome, in the request",
			body.LeadsRead, body.Leads, body.Truncated, body.Population, body.Computed)
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
	if demo == nil || demo.LeadsWith != 40 || demo.OutcomesWith != 40 || demo.CurrentPoints != 40 || demo.Lift == nil || *demo.Lift <= 1 {
		t.Fatalf("demo-request signal %+v; want 40 leads with an outcome at 40 points with a lift above 1", demo)
	}
	if body.Funnel.SQLs != 80-body.Rejected || body.Funnel.SQLToWon != won {
		t.Fatalf("funnel %+v; want %d SQLs (all but the rejected), %d won", body.Funnel, 80-body.Rejected, won)
	}
}

func TestSignalsReportSaysWhenOutcomesAreTooFew(t *testing.T) {
	e := newEnv(t)
	seedOutcomeLeads(t, e, 12, 3)
	body := getReport(t, e, http.StatusOK)
	if body.Outcomes != 12 || body.Model != nil || !strings.Contains(body.Message, "not enough") {
		t.Fatalf("with 12 outcomes: model %v message %q; want no model and a not-enough-data message", body.Model, body.Message)
	}
}

// TestLargeSignalsReportIsBuiltInTheBackground: over the bound, GET starts
// a background build and answers 202 with its progress; the build (run
// here as the score function runs it) reports done = total and stores the
// report, which GET then serves; the build is started once however often
// GET asks meanwhile; an hour later GET still serves it and starts a
// refresh.
func TestLargeSignalsReportIsBuiltInTheBackground(t *testing.T) {
	clock := testNow
	e := newEnv(t, func(o *Options) { o.Report.MaxLeads = 10; o.Now = func() time.Time { return clock } })
	seedOutcomeLeads(t, e, 25, 5)
	first := getReport(t, e, http.StatusAccepted)
	if first.Status != ReportBuilding || first.LeadsReport != nil || first.Build == nil || first.Build.Total != e.opts.Reports.OutcomeShards() || first.Build.Done != 0 {
		t.Fatalf("over the bound: %+v; want status building with a build of %d parts, none done", first, e.opts.Reports.OutcomeShards())
	}
	again := getReport(t, e, http.StatusAccepted)
	if again.Build == nil || !again.Build.StartedAt.Equal(first.Build.StartedAt) {
		t.Fatalf("a second GET while building: %+v; want the same build", again.Build)
	}
	msgs := e.received(t, 1)
	if msgs[0].Kind != leadscore.KindSignalsReport || !msgs[0].Now.Equal(first.Build.StartedAt) {
		t.Fatalf("queued %+v; want one signals_report message for the build started at %s", msgs[0], first.Build.StartedAt)
	}

	if err := signals.RunBuild(t.Context(), e.opts.Reports, scoring.DefaultRules(), testNow, msgs[0].Now, signals.Options{}); err != nil {
		t.Fatal(err)
	}
	job, _, err := e.opts.Reports.SignalsReport(t.Context())
	if err != nil || job == nil || job.Done != job.Total || job.LeadsRead != 25 || job.FinishedAt == nil {
		t.Fatalf("after the build: job %+v (%v); want done = total, 25 leads read, finished", job, err)
	}
	done := getReport(t, e, http.StatusOK)
	if done.Status != ReportReady || done.Build != nil || done.Leads != 25 || done.Outcomes != 25 || done.Computed != signals.ComputedBackground {
		t.Fatalf("after the build: status %q build %v leads %d outcomes %d computed %q; want the stored report of 25",
			done.Status, done.Build, done.Leads, done.Outcomes, done.Computed)
	}
	e.received(t, 0)

	clock = testNow.Add(ReportRefreshAfter + time.Minute)
	later := getReport(t, e, http.StatusOK)
	if later.Status != ReportReady || later.Outcomes != 25 || later.Build == nil || !later.Build.StartedAt.Equal(clock) {
		t.Fatalf("an hour later: status %q outcomes %d build %+v; want the stored report and a refresh started at %s", later.Status, later.Outcomes, later.Build, clock)
	}
	if msgs := e.received(t, 1); msgs[0].Kind != leadscore.KindSignalsReport {
		t.Fatalf("refresh queued %+v; want a signals_report message", msgs[0])
	}
}

// TestPostStartsOneSignalsReportBuild: POST answers 202 with the build,
// and a second POST while it runs returns the same build.
func TestPostStartsOneSignalsReportBuild(t *testing.T) {
	e := newEnv(t)
	post := func() SignalsResponse {
		req := httpapi.Request{RawPath: "/v1/reports/signals", RouteKey: BuildSignalsReportRouteKey,
			Headers: map[string]string{"x-api-key": testKey}}
		req.RequestContext.HTTP.Method = "POST"
		resp := e.do(t, req)
		var body SignalsResponse
		if resp.StatusCode != http.StatusAccepted || json.Unmarshal([]byte(resp.Body), &body) != nil || body.Status != ReportBuilding || body.Build == nil {
			t.Fatalf("POST: %d %s; want 202 with status building and the build", resp.StatusCode, resp.Body)
		}
		return body
	}
	a, b := post(), post()
	if !a.Build.StartedAt.Equal(b.Build.StartedAt) {
		t.Fatalf("two POSTs started two builds: %s and %s", a.Build.StartedAt, b.Build.StartedAt)
	}
	e.received(t, 1)
}
