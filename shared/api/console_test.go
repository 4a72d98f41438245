package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/leadscore/leadscore/shared/console"
	"github.com/leadscore/leadscore/shared/httpapi"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// call builds a request as API Gateway sends it for method and path (no
// route key: the router matches the path, as for a $default route).
func call(method, path, body, contentType, key string) httpapi.Request {
	raw, query, _ := strings.Cut(path, "?")
	req := httpapi.Request{RawPath: raw, RawQueryString: query, Body: body, Headers: map[string]string{}}
	if key != "" {
		req.Headers["x-api-key"] = key
	}
	if contentType != "" {
		req.Headers["content-type"] = contentType
	}
	req.RequestContext.HTTP.Method = method
	return req
}

// TestConsoleIsServedWithoutAKey: the page and its files are public (they
// hold no data), with the console's CSP and an ETag; a matching
// If-None-Match is a bodiless 304; anything else under /console is a 404.
func TestConsoleIsServedWithoutAKey(t *testing.T) {
	e := newEnv(t)
	page := e.do(t, call("GET", "/console", "", "", ""))
	if page.StatusCode != http.StatusOK || page.Headers["content-type"] != "text/html; charset=utf-8" ||
		page.Headers["content-security-policy"] != console.CSP || page.Headers["x-content-type-options"] != "nosniff" {
		t.Fatalf("GET /console: %d %v", page.StatusCode, page.Headers)
	}
	if !strings.Contains(page.Body, `src="console/app.js"`) {
		t.Errorf("the page does not load console/app.js: %.200s", page.Body)
	}
	// By route key and path parameter, as API Gateway sends it, and by path
	// alone: the greedy {asset+} takes the slash.
	byKey := call("GET", "/console/views/rules.js", "", "", "")
	byKey.RouteKey, byKey.PathParameters = ConsoleAssetRouteKey, map[string]string{"asset": "views/rules.js"}
	for _, req := range []httpapi.Request{byKey, call("GET", "/console/views/rules.js", "", "", "")} {
		js := e.do(t, req)
		if js.StatusCode != http.StatusOK || !strings.HasPrefix(js.Headers["content-type"], "text/javascript") || !strings.Contains(js.Body, "export async function rulesView") {
			t.Fatalf("GET /console/views/rules.js: %d %v", js.StatusCode, js.Headers)
		}
	}
	again := call("GET", "/console", "", "", "")
	again.Headers["if-none-match"] = page.Headers["etag"]
	if r := e.do(t, again); r.StatusCode != http.StatusNotModified || r.Body != "" || r.Headers["etag"] != page.Headers["etag"] {
		t.Errorf("revalidating the page: %d, body %d bytes; want a bodiless 304", r.StatusCode, len(r.Body))
	}
	for _, p := range []string{"/console/nope.js", "/console/index.html", "/console/views", "/console/../go.mod", "/console/console.go"} {
		if r := e.do(t, call("GET", p, "", "", "")); r.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, r.StatusCode)
		}
	}
}

// TestPreviewRefusesABadDraft: a draft is checked as PUT /v1/rules checks
// a document, every problem named, and nothing starts.
func TestPreviewRefusesABadDraft(t *testing.T) {
	e := newEnv(t)
	bad := "fit:\n  - {id: a, field: job_title, match: {regex: \"(\"}, points: 5}\n  - {id: a, field: industry, match: {in: [x]}, points: nope}\n"
	resp := e.do(t, call("POST", "/v1/rules/preview", bad, "application/yaml", testKey))
	errBody := decodeError(t, resp)
	if resp.StatusCode != http.StatusBadRequest || errBody.Error != httpapi.CodeInvalidRules || len(errBody.Details) < 2 ||
		!strings.Contains(errBody.Message, "nothing was previewed") {
		t.Fatalf("a bad draft: %d %s; want 400 invalid_rules naming each problem", resp.StatusCode, resp.Body)
	}
	if r := e.do(t, call("POST", "/v1/rules/preview", "{}", "text/plain", testKey)); r.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("a text/plain draft: %d, want 415", r.StatusCode)
	}
	if r := e.do(t, call("POST", "/v1/rules/preview", string(scoring.DefaultRulesYAML()), "application/yaml", "")); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("a draft without the key: %d, want 401", r.StatusCode)
	}
	if r := e.do(t, call("GET", "/v1/rules/preview/pv_nope", "", "", testKey)); r.StatusCode != http.StatusBadRequest {
		t.Errorf("a malformed preview id: %d, want 400", r.StatusCode)
	}
	e.received(t, 0)
}

// TestPreviewStartsOnePageMessage: a good draft is kept with the version it
// is compared with and starts its scan with one page message; nothing is
// published and until the score function runs it the preview is running.
func TestPreviewStartsOnePageMessage(t *testing.T) {
	e := newEnv(t)
	if e.store == nil {
		t.Skip("needs the emulators: the preview's job lives in the table")
	}
	resp := e.do(t, call("POST", "/v1/rules/preview", string(scoring.DefaultRulesYAML()), "application/yaml", testKey))
	var started PreviewStarted
	if resp.StatusCode != http.StatusAccepted || json.Unmarshal([]byte(resp.Body), &started) != nil ||
		!regexp.MustCompile(`^pv_[0-9a-f]{32}$`).MatchString(started.PreviewID) || started.Progress != "/v1/rules/preview/"+started.PreviewID {
		t.Fatalf("POST /v1/rules/preview: %d %s", resp.StatusCode, resp.Body)
	}
	msgs := e.received(t, 1)
	if msgs[0].Kind != leadscore.KindPreviewPage || msgs[0].PreviewID != started.PreviewID {
		t.Errorf("queued %+v; want the preview's first page message", msgs[0])
	}
	var body PreviewBody
	r := e.do(t, call("GET", started.Progress, "", "", testKey))
	if r.StatusCode != http.StatusOK || json.Unmarshal([]byte(r.Body), &body) != nil || body.Status != "running" ||
		!body.Progress.Counting || !body.Clock.Equal(testNow) || body.Summary != nil {
		t.Fatalf("GET %s: %d %s; want running, still counting, judged at the handler's clock", started.Progress, r.StatusCode, r.Body)
	}
	if r := e.do(t, call("GET", "/v1/rules/preview/pv_"+strings.Repeat("0", 32), "", "", testKey)); r.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown preview: %d, want 404", r.StatusCode)
	}
	if cur, err := e.store.CurrentRules(t.Context()); err != nil || cur.Version != 0 {
		t.Errorf("a preview published version %v (%v)", cur, err)
	}
}

// TestVersionsSayWhatChanged publishes three versions and reads the list.
func TestVersionsSayWhatChanged(t *testing.T) {
	e := newEnv(t)
	if e.store == nil {
		t.Skip("needs the emulators: the history is the table's rules items")
	}
	doc := string(scoring.DefaultRulesYAML())
	v1 := strings.Replace(doc, "fit_min: 40", "fit_min: 30", 1)
	v2 := strings.Replace(v1, "  - id: student\n", "  - id: pupil\n", 1)
	for i, d := range []string{v1, v2, v2} {
		if r := e.do(t, call("PUT", "/v1/rules", d, "application/yaml", testKey)); r.StatusCode != http.StatusOK {
			t.Fatalf("publishing %d: %d %s", i+1, r.StatusCode, r.Body)
		}
	}
	e.received(t, 3) // the rescores' page messages
	r := e.do(t, call("GET", "/v1/rules/versions", "", "", testKey))
	var body VersionsBody
	if r.StatusCode != http.StatusOK || json.Unmarshal([]byte(r.Body), &body) != nil || len(body.Versions) != 3 {
		t.Fatalf("GET /v1/rules/versions: %d %s", r.StatusCode, r.Body)
	}
	want := []struct {
		version int
		summary string
	}{
		{3, "the same document as before"},
		{2, "added pupil; removed student"},
		{1, "MQL bar fit 40 → 30, engagement 50 → 50"},
	}
	for i, w := range want {
		v := body.Versions[i]
		if v.Version != w.version || v.Summary != w.summary || v.PublishedAt.IsZero() {
			t.Errorf("entry %d: version %d %q published %v; want version %d %q", i, v.Version, v.Summary, v.PublishedAt, w.version, w.summary)
		}
	}
	if r := e.do(t, call("GET", "/v1/rules?version=2", "", "", testKey)); r.StatusCode != http.StatusOK || !strings.Contains(r.Body, "pupil") {
		t.Errorf("GET /v1/rules?version=2: %d %.100s", r.StatusCode, r.Body)
	}
}

// TestDiffNamesPointChanges is Diff on its own: points changed, a rule
// renamed, and a change that touches no rule.
func TestDiffNamesPointChanges(t *testing.T) {
	doc := string(scoring.DefaultRulesYAML())
	parse := func(s string) *scoring.Rules {
		r, err := scoring.ParseRules([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	base := parse(doc)
	cases := map[string]string{
		strings.Replace(doc, "points: 20\n  - id: manager-title", "points: 25\n  - id: manager-title", 1): "points: senior-title 20 → 25",
		strings.Replace(doc, "Decision makers", "People who decide", 1):                                   "no rule or point changed; other settings did",
		doc: "the same document as before",
	}
	for changed, want := range cases {
		ch, err := Diff(base, parse(changed))
		if err != nil || ch.String() != want {
			t.Errorf("Diff = %q (%v), want %q", ch.String(), err, want)
		}
	}
}

// TestLeadEventsNewestFirst: a lead's recorded events come back newest
// first, bounded by limit, with the total; an unknown lead is a 404.
func TestLeadEventsNewestFirst(t *testing.T) {
	e := newEnv(t)
	if e.store == nil {
		t.Skip("needs the emulators: events are the table's records")
	}
	id := leadscore.LeadID("ada@example.com")
	rec := e.readLead(t, id)
	rec.Email = "ada@example.com"
	e.writeLead(t, rec)
	var evs []scoring.Event
	for i := range 5 {
		evs = append(evs, scoring.Event{EventID: fmt.Sprintf("e%d", i), Type: "page_view", Email: rec.Email,
			OccurredAt: testNow.Add(time.Duration((i*3)%5) * time.Hour)})
	}
	for _, r := range e.store.RecordEvents(t.Context(), id, evs, testNow) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	r := e.do(t, call("GET", "/v1/leads/"+id+"/events?limit=3", "", "", testKey))
	var body EventsBody
	if r.StatusCode != http.StatusOK || json.Unmarshal([]byte(r.Body), &body) != nil {
		t.Fatalf("GET events: %d %s", r.StatusCode, r.Body)
	}
	var got []string
	for _, ev := range body.Events {
		got = append(got, ev.EventID)
	}
	// e0 at +0h, e1 +3h, e2 +1h, e3 +4h, e4 +2h: newest first.
	if strings.Join(got, ",") != "e3,e1,e4" || body.Total != 5 || body.LeadID != id {
		t.Errorf("events %v of %d for %s; want e3,e1,e4 of 5", got, body.Total, body.LeadID)
	}
	if r := e.do(t, call("GET", "/v1/leads/"+leadscore.LeadID("nobody@example.com")+"/events", "", "", testKey)); r.StatusCode != http.StatusNotFound {
		t.Errorf("events of an unknown lead: %d, want 404", r.StatusCode)
	}
	if r := e.do(t, call("GET", "/v1/leads/"+id+"/events?limit=0", "", "", testKey)); r.StatusCode != http.StatusBadRequest {
		t.Errorf("limit=0: %d, want 400", r.StatusCode)
	}
}
