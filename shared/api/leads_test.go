package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadscore/leadscore/shared/httpapi"
	"github.com/leadscore/leadscore/shared/leadscore"

	"github.com/leadscore/leadscore/shared/scoring"
)

func TestLeadRoutesOnAnEmptyTable(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name       string
		file       string
		rawQuery   string
		lead       string
		wantStatus int
		wantCode   string
		wantBody   string
	}{
		{name: "unknown lead", file: "get-lead.json", wantStatus: 404, wantCode: httpapi.CodeNotFound},
		{name: "malformed lead id", file: "get-lead.json", lead: "ld_../../etc", wantStatus: 400, wantCode: httpapi.CodeInvalidRequest},
		{name: "by email, none yet", file: "list-leads-email.json", wantStatus: 404, wantCode: httpapi.CodeNotFound},
		{name: "by malformed email", file: "list-leads-email.json", rawQuery: "email=nope", wantStatus: 400, wantCode: httpapi.CodeInvalidRequest},
		{name: "stage page of nothing", file: "list-leads-stage.json", wantStatus: 200, wantBody: `{"leads":[],"cursor":null}`},
		{name: "unknown stage", file: "list-leads-stage.json", rawQuery: "stage=hot", wantStatus: 400, wantCode: httpapi.CodeInvalidRequest},
		{name: "limit out of range", file: "list-leads-stage.json", rawQuery: "stage=mql&limit=1000", wantStatus: 400, wantCode: httpapi.CodeInvalidRequest},
		{name: "neither email nor stage", file: "list-leads-stage.json", rawQuery: "limit=2", wantStatus: 400, wantCode: httpapi.CodeInvalidRequest},
		{name: "both email and stage", file: "list-leads-stage.json", rawQuery: "stage=mql&email=a%40b.co", wantStatus: 400, wantCode: httpapi.CodeInvalidRequest},
		{name: "delete of an absent lead is done", file: "delete-lead.json", wantStatus: 204},
		{name: "delete with a malformed id", file: "delete-lead.json", lead: "x", wantStatus: 400, wantCode: httpapi.CodeInvalidRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := load(t, tc.file)
			if tc.rawQuery != "" {
				req.RawQueryString, req.QueryStringParameters = tc.rawQuery, nil
			}
			if tc.lead != "" {
				req.PathParameters = map[string]string{"lead_id": tc.lead}
			}
			resp := e.do(t, req)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d body %s; want %d", resp.StatusCode, resp.Body, tc.wantStatus)
			}
			if tc.wantCode != "" && decodeError(t, resp).Error != tc.wantCode {
				t.Errorf("body %s, want code %s", resp.Body, tc.wantCode)
			}
			if tc.wantBody != "" && resp.Body != tc.wantBody {
				t.Errorf("body %s, want %s", resp.Body, tc.wantBody)
			}
		})
	}
}

func TestRulesPublishAndRead(t *testing.T) {
	e := newEnv(t)
	doc := string(scoring.DefaultRulesYAML()) + "\nevent_types: [webinar_watch]\n"
	resp := e.do(t, withBody(load(t, "put-rules.json"), doc, false))
	// The answer also says the version's bulk rescore started.
	if resp.StatusCode != http.StatusOK || resp.Body != `{"version":1,"rescore":{"started":true,"progress":"/v1/rules/1/rescore"}}` {
		t.Fatalf("PUT: %d %s; want 200 version 1, rescore started", resp.StatusCode, resp.Body)
	}
	for _, q := range []string{"", "version=1"} {
		req := load(t, "get-rules.json")
		req.RawQueryString = q
		resp = e.do(t, req)
		var b RulesBody
		if err := json.Unmarshal([]byte(resp.Body), &b); err != nil || resp.StatusCode != 200 || b.Version != 1 || !strings.Contains(string(b.Rules), "webinar_watch") {
			t.Errorf("GET ?%s: %d %s; want version 1 with the published document", q, resp.StatusCode, resp.Body)
		}
	}
	for q, want := range map[string]int{"version=7": 404, "version=abc": 400, "version=0": 400} {
		req := load(t, "get-rules.json")
		req.RawQueryString = q
		if resp = e.do(t, req); resp.StatusCode != want {
			t.Errorf("GET ?%s: %d %s; want %d", q, resp.StatusCode, resp.Body, want)
		}
	}
	// The version's bulk rescore started: its first page message is on
	// the score queue. (Ingestion, another function, picks the new rules
	// up within its cache's TTL: shared/ingest's TestRulesCacheTTL.)
	got := e.received(t, 1)
	if got[0].Kind != leadscore.KindRescorePage || got[0].RulesVersion != 1 {
		t.Errorf("score queue held %+v; want one rescore_page of version 1", got)
	}
}

// TestLeadRoutesWithLeads writes leads the way the score function does and
// reads them through the API.
func TestLeadRoutesWithLeads(t *testing.T) {
	e := newEnv(t)
	rules := scoring.DefaultRules()
	// write scores a lead from a hand-raise plus webinars, as the score
	// function would, and stores it.
	write := func(id, email string, webinars int, mergedInto string) {
		t.Helper()
		rec := e.readLead(t, id)
		rec.Email, rec.MergedInto = email, mergedInto
		if email != "" {
			evs := []scoring.Event{{EventID: id + "-demo", Type: "demo_request", OccurredAt: testNow.Add(-time.Hour), Email: email,
				Lead: map[string]any{"company": "Acme", "job_title": "VP Marketing", "company_size": 800.0, "industry": "software", "country": "US"}}}
			for i := range webinars {
				evs = append(evs, scoring.Event{EventID: fmt.Sprintf("%s-web-%d", id, i), Type: "webinar_attend",
					OccurredAt: testNow.Add(-time.Duration(i+1) * 24 * time.Hour), Email: email})
			}
			rec.State.Apply(evs, rules)
		}
		res := rec.State.Evaluate(rules, testNow)
		rec.View = leadscore.BuildView(id, email, rec.State, res, rules.Version, testNow)
		rec.DueAt = res.DueAt
		e.writeLead(t, rec)
	}
	ada := leadscore.LeadID("ada@example.com")
	write(ada, "ada@example.com", 2, "")
	write(leadscore.LeadID("b@example.com"), "b@example.com", 0, "")
	write(leadscore.LeadID("c@example.com"), "c@example.com", 1, "")
	visitor := leadscore.VisitorID("anon-7f3c2a")
	write(visitor, "", 0, ada)

	get := func(req httpapi.Request) leadscore.LeadView {
		t.Helper()
		resp := e.do(t, req)
		var v leadscore.LeadView
		if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(resp.Body), &v) != nil {
			t.Fatalf("%s %s: %d %s", req.RequestContext.HTTP.Method, req.RawPath, resp.StatusCode, resp.Body)
		}
		return v
	}
	byID := load(t, "get-lead.json")
	byID.PathParameters = map[string]string{"lead_id": ada}
	if v := get(byID); v.LeadID != ada || v.Stage != scoring.StageMQL || v.Attributes["company"] != "Acme" || v.Score.Engagement <= 40 ||
		v.AccountID != scoring.AccountIDForDomain("example.com") {
		t.Errorf("by id: %+v", v)
	}
	byEmail := load(t, "list-leads-email.json")
	byEmail.RawQueryString = "email=+ADA%40example.com+"
	if v := get(byEmail); v.LeadID != ada {
		t.Errorf("by email: lead %s, want %s", v.LeadID, ada)
	}
	byID.PathParameters = map[string]string{"lead_id": visitor}
	if v := get(byID); v.LeadID != ada {
		t.Errorf("a stitched visitor answered with %s, want the lead %s", v.LeadID, ada)
	}

	var order []string
	cursor := ""
	for page := 0; page < 3; page++ {
		req := load(t, "list-leads-stage.json")
		req.RawQueryString = "stage=mql&limit=2"
		if cursor != "" {
			req.RawQueryString += "&cursor=" + url.QueryEscape(cursor)
		}
		resp := e.do(t, req)
		var p LeadsPage
		if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(resp.Body), &p) != nil {
			t.Fatalf("page %d: %d %s", page, resp.StatusCode, resp.Body)
		}
		for _, l := range p.Leads {
			if l.Stage != scoring.StageMQL {
				t.Errorf("stage page holds %s in stage %s", l.LeadID, l.Stage)
			}
			order = append(order, l.LeadID)
		}
		if p.Cursor == nil {
			break
		}
		cursor = *p.Cursor
	}
	// Ada attended two webinars, c one, b none: highest engagement first.
	if want := []string{ada, leadscore.LeadID("c@example.com"), leadscore.LeadID("b@example.com")}; !slices.Equal(order, want) {
		t.Errorf("mql leads over pages of 2: %v, want %v", order, want)
	}
	badCursor := load(t, "list-leads-stage.json")
	badCursor.RawQueryString = "stage=mql&cursor=garbage"
	if resp := e.do(t, badCursor); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a forged cursor: %d %s, want 400", resp.StatusCode, resp.Body)
	}

	// Ada's summary in her account, as the score function keeps it.
	acct := scoring.AccountIDForDomain("example.com")
	summary := leadscore.Member{Email: "ada@example.com", AccountMember: scoring.AccountMember{
		LeadID: ada, AccountID: acct, Domain: "example.com", Engagement: 30, Stage: scoring.StageMQL, At: testNow}}
	if err := e.opts.Members.PutMembers(t.Context(), acct, []leadscore.Member{summary}); err != nil {
		t.Fatal(err)
	}
	del := load(t, "delete-lead.json")
	del.PathParameters = map[string]string{"lead_id": ada}
	if resp := e.do(t, del); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", resp.StatusCode, resp.Body)
	}
	// The erasure asks ada's account to drop her for good.
	if m := e.received(t, 1)[0]; m.Kind != leadscore.KindAccount || m.AccountID != acct ||
		len(m.Members) != 1 || m.Members[0].LeadID != ada || !m.Members[0].Erased || m.Members[0].Email != "" {
		t.Errorf("the erasure's score message %+v, want an account message with ada's tombstone", m)
	}
	// ... and her summary is already gone, before any score function runs:
	// a message that ended in the dead-letter queue must not leave her
	// email and attributes behind.
	members, err := e.opts.Accounts.AccountMembers(t.Context(), acct)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(members, func(m leadscore.Member) bool { return m.LeadID == ada }) {
		t.Errorf("ada's member summary is still stored right after DELETE: %+v", members)
	}
	byID.PathParameters = map[string]string{"lead_id": ada}
	if resp := e.do(t, byID); resp.StatusCode != http.StatusNotFound {
		t.Errorf("after DELETE: %d %s, want 404", resp.StatusCode, resp.Body)
	}
}

// reversedPages answers a stage listing with each page of the store's in
// reverse, as the stage index may order leads within an engagement band.
type reversedPages struct{ leadscore.LeadReader }

func (r reversedPages) LeadsByStage(ctx context.Context, stage scoring.Stage, limit int, cursor string) ([]*leadscore.Lead, string, error) {
	leads, next, err := r.LeadReader.LeadsByStage(ctx, stage, limit, cursor)
	slices.Reverse(leads)
	return leads, next, err
}

// TestStagePageIsInExactEngagementOrder: whatever order the store gives
// within a page, the API answers it highest engagement first.
func TestStagePageIsInExactEngagementOrder(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Leads = reversedPages{o.Leads} })
	rules := scoring.DefaultRules()
	for i := range 3 {
		email := fmt.Sprintf("p%d@example.com", i)
		id := leadscore.LeadID(email)
		rec := e.readLead(t, id)
		rec.Email = email
		evs := []scoring.Event{{EventID: id + "-demo", Type: "demo_request", OccurredAt: testNow.Add(-time.Hour), Email: email,
			Lead: map[string]any{"company": "Acme", "job_title": "VP Marketing", "company_size": 800.0, "industry": "software", "country": "US"}}}
		for w := range i {
			evs = append(evs, scoring.Event{EventID: fmt.Sprintf("%s-web-%d", id, w), Type: "webinar_attend",
				OccurredAt: testNow.Add(-time.Duration(w+1) * 24 * time.Hour), Email: email})
		}
		rec.State.Apply(evs, rules)
		res := rec.State.Evaluate(rules, testNow)
		rec.View = leadscore.BuildView(id, email, rec.State, res, rules.Version, testNow)
		rec.DueAt = res.DueAt
		e.writeLead(t, rec)
	}
	req := load(t, "list-leads-stage.json")
	req.RawQueryString = "stage=mql&limit=10"
	resp := e.do(t, req)
	var p LeadsPage
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(resp.Body), &p) != nil || len(p.Leads) != 3 {
		t.Fatalf("listing: %d %s, want 3 mql leads", resp.StatusCode, resp.Body)
	}
	for i := 1; i < len(p.Leads); i++ {
		if p.Leads[i].Score.Engagement > p.Leads[i-1].Score.Engagement {
			t.Errorf("page lists %s (engagement %v) after %s (%v)", p.Leads[i].LeadID, p.Leads[i].Score.Engagement, p.Leads[i-1].LeadID, p.Leads[i-1].Score.Engagement)
		}
	}
	if p.Leads[0].Score.Engagement == p.Leads[2].Score.Engagement {
		t.Fatalf("setup: the leads' engagement is equal (%v), so the order proves nothing", p.Leads[0].Score.Engagement)
	}
}
