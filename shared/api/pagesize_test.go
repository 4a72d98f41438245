package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/leadscore/leadscore/shared/httpapi"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// lambdaResponseLimit is Lambda's limit on a synchronous invocation's
// response payload; over it API Gateway answers 500.
const lambdaResponseLimit = 6 << 20

// bigRules is a valid document at the edge of what PUT accepts: 1,000 fit
// rules (the most a document may hold) that all match a lead with a job
// title, each with a long description, in 250 KiB.
func bigRules(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("mql: {fit_min: 100000, engagement_min: 100000}\nfit:\n")
	desc := strings.Repeat("Matches every lead that gave a job title. ", 4)
	for i := range 1000 {
		fmt.Fprintf(&b, "  - {id: rule-%04d, field: job_title, match: {exists: true}, points: 1, description: %q}\n", i, desc)
	}
	if b.Len() > MaxRulesBodyBytes {
		t.Fatalf("the document is %d bytes, over the PUT limit", b.Len())
	}
	return b.String()
}

// envelopeSize is the size of resp as Lambda returns it.
func envelopeSize(t *testing.T, resp httpapi.Response) int {
	t.Helper()
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

// TestNoAcceptedRulesDocumentBreaksALeadsPage: with the largest rules
// document PUT accepts, every lead's breakdown is 1,000 rows; a page of 100
// such leads was over Lambda's 6 MB response limit (a 500). Pages stop at a
// byte budget and carry a cursor for the rest, whatever the rules; and
// breakdown rows that contributed nothing are left out unless asked.
func TestNoAcceptedRulesDocumentBreaksALeadsPage(t *testing.T) {
	e := newEnv(t)
	doc := bigRules(t)
	put := withHeader(withBody(load(t, "put-rules.json"), doc, false), "content-type", "application/yaml")
	resp := e.do(t, put)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT of the 1,000-rule document: %d %s; the test needs it accepted", resp.StatusCode, resp.Body)
	}
	var pub PublishedBody
	if err := json.Unmarshal([]byte(resp.Body), &pub); err != nil {
		t.Fatal(err)
	}
	rules, err := scoring.ParseRules([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	rules.Version = pub.Version

	const n = 100
	for i := range n {
		email := fmt.Sprintf("lead%03d@example.com", i)
		id := leadscore.LeadID(email)
		rec := e.readLead(t, id)
		rec.Email = email
		rec.State.Apply([]scoring.Event{{EventID: "e1", Type: "page_view", OccurredAt: testNow.Add(-time.Duration(i) * time.Minute),
			Email: email, Lead: map[string]any{"job_title": "Engineer"}}}, rules)
		res := rec.State.Evaluate(rules, testNow)
		rec.View = leadscore.BuildView(id, email, rec.State, res, rules.Version, testNow)
		e.writeLead(t, rec)
	}

	seen := map[string]bool{}
	cursor, pages := "", 0
	for {
		req := load(t, "list-leads-stage.json")
		req.RawQueryString = "stage=lead&limit=100"
		if cursor != "" {
			req.RawQueryString += "&cursor=" + url.QueryEscape(cursor)
		}
		resp := e.do(t, req)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("page %d: %d %.300s", pages, resp.StatusCode, resp.Body)
		}
		if size := envelopeSize(t, resp); size > lambdaResponseLimit {
			t.Fatalf("page %d is %d bytes as Lambda returns it, over the %d limit", pages, size, lambdaResponseLimit)
		}
		var p LeadsPage
		if err := json.Unmarshal([]byte(resp.Body), &p); err != nil {
			t.Fatal(err)
		}
		for _, l := range p.Leads {
			if seen[l.LeadID] {
				t.Fatalf("lead %s on two pages", l.LeadID)
			}
			seen[l.LeadID] = true
			if len(l.Breakdown) != 1000 {
				t.Fatalf("lead %s has %d breakdown rows, want its 1,000 matched rules", l.LeadID, len(l.Breakdown))
			}
		}
		pages++
		if p.Cursor == nil || pages > n {
			break
		}
		cursor = *p.Cursor
	}
	if len(seen) != n {
		t.Errorf("the pages held %d leads, want all %d", len(seen), n)
	}
	if pages < 2 {
		t.Errorf("%d leads of 1,000 rows came in %d page(s); the budget should have split them", n, pages)
	}
}

// TestBreakdownLeavesOutRulesThatGaveNothing: by default a lead's breakdown
// lists what counted; ?breakdown=all lists every rule (docs/api.md "HTTP
// API").
func TestBreakdownLeavesOutRulesThatGaveNothing(t *testing.T) {
	e := newEnv(t)
	rules := scoring.DefaultRules()
	id := leadscore.LeadID("ada@example.com")
	rec := e.readLead(t, id)
	rec.Email = "ada@example.com"
	rec.State.Apply([]scoring.Event{{EventID: "e1", Type: "demo_request", OccurredAt: testNow.Add(-time.Hour), Email: rec.Email,
		Lead: map[string]any{"job_title": "VP Marketing"}}}, rules)
	res := rec.State.Evaluate(rules, testNow)
	rec.View = leadscore.BuildView(id, rec.Email, rec.State, res, rules.Version, testNow)
	e.writeLead(t, rec)

	get := func(query string) []scoring.Contribution {
		t.Helper()
		req := load(t, "get-lead.json")
		req.PathParameters = map[string]string{"lead_id": id}
		req.RawQueryString = query
		resp := e.do(t, req)
		var v leadscore.LeadView
		if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(resp.Body), &v) != nil {
			t.Fatalf("GET ?%s: %d %s", query, resp.StatusCode, resp.Body)
		}
		return v.Breakdown
	}
	short, all := get(""), get("breakdown=all")
	if len(short) != 2 {
		t.Errorf("default breakdown %+v, want the two rules that counted (senior-title, demo-request)", short)
	}
	for _, c := range short {
		if c.Points == 0 && c.Events == 0 {
			t.Errorf("default breakdown lists %s, which gave nothing", c.Rule)
		}
	}
	if len(all) != len(res.Breakdown) {
		t.Errorf("?breakdown=all has %d rows, want every rule's %d", len(all), len(res.Breakdown))
	}
	req := load(t, "get-lead.json")
	req.PathParameters = map[string]string{"lead_id": id}
	req.RawQueryString = "breakdown=some"
	if resp := e.do(t, req); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("?breakdown=some: %d, want 400 naming breakdown", resp.StatusCode)
	}
}
