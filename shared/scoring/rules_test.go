package scoring

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

const minimalDoc = `
fit:
  - {id: senior, field: job_title, match: {contains: director}, points: 20}
engagement:
  decay: {half_life_days: 30}
  rules:
    - {id: pricing, event: page_view, where: {url: {prefix: /pricing}}, points: 10, max_per_day: 3}
mql: {fit_min: 40, engagement_min: 50, instant_on: [demo_request]}
`

func TestParseRulesProblems(t *testing.T) {
	// Every problem kind the issue names, each with its exact path, in one
	// document: all must be reported at once.
	doc := `
fitt: []
lists: {competitors: [rival.com, 3]}
fit:
  - {id: Senior, field: job_title, match: {regex: "(unclosed"}, points: 20}
  - {id: size, field: company_size, match: {gte: "big"}, points: x}
  - {id: size, field: country, match: {in_list: nope}, points: 1}
engagement:
  max: -5
  groups: {content: {max: -1}}
  decay: {half_life_days: 30, none: true}
  rules:
    - {id: a, event: page_view, points: 1}
    - {id: b, event: page_view, points: 1}
    - {id: c, event: page_view, points: 1}
    - {id: d, event: page_veiw, where: {url: {prefx: /pricing}}, points: 1, max_per_day: -2, group: nope, colour: red}
  bursts:
    - {id: e, rule: missing, min_count: 3, within_days: 0, points: 20}
mql: {fit_min: 40}
nurture: {after_days_in_mql: 1.5}
`
	got := problemsOf(t, doc)
	want := []Problem{
		{"fitt", `unknown key "fitt" (did you mean "fit"?)`},
		{"lists.competitors[1]", "must be a string, got a number"},
		{"fit[0].id", `"Senior" must be 1 to 64 of a-z, 0-9 and -`},
		{"fit[0].match.regex", "bad regex (RE2 syntax): error parsing regexp: missing closing ): `(unclosed`"},
		{"fit[1].points", "must be a number, got a string"},
		{"fit[1].match.gte", "must be a number, got a string"},
		{"fit[2].id", `duplicate id "size" (first used at fit[1].id)`},
		{"fit[2].match.in_list", `unknown list "nope" (declare it under lists)`},
		{"engagement.decay", "give exactly one of half_life_days, expire_after_days, none"},
		{"engagement.max", "must not be negative"},
		{"engagement.groups.content.max", "must not be negative"},
		{"engagement.rules[3].colour", `unknown key "colour"`},
		{"engagement.rules[3].group", `unknown group "nope" (declare it under engagement.groups)`},
		{"engagement.rules[3].event", `unknown event type "page_veiw" (did you mean "page_view"? declare new types in event_types)`},
		{"engagement.rules[3].where.url", `unknown operator "prefx" (did you mean "prefix"?)`},
		{"engagement.rules[3].max_per_day", "must be at least 1"},
		{"engagement.bursts[0].rule", `no engagement rule "missing" (did you mean "a"?)`},
		{"engagement.bursts[0].within_days", "must be at least 1"},
		{"mql.engagement_min", "required"},
		{"nurture.after_days_in_mql", "must be a whole number"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n got %d:\n  %s\nwant %d:\n  %s", len(got), join2(got), len(want), join2(want))
	}
	err := (&RulesError{Problems: want[:2]}).Error()
	if err != `invalid rules: fitt: unknown key "fitt" (did you mean "fit"?); lists.competitors[1]: must be a string, got a number` {
		t.Errorf("Error() = %s", err)
	}
}

func join2(ps []Problem) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	return strings.Join(s, "\n  ")
}

func TestParseRulesMalformed(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"empty", "", "empty document"},
		{"not a mapping", "[1, 2]", "the document must be a mapping"},
		{"bad yaml", "fit: [", "yaml:"},
		{"bad json", `{"fit": [}`, "yaml:"},
		{"two documents", "mql: {}\n---\nmql: {}\n", "more than one YAML document"},
		{"alias", "x: &a 1\nmql: {fit_min: *a, engagement_min: 1}\n", "aliases are not supported"},
		{"duplicate key", "mql: {fit_min: 1, fit_min: 2, engagement_min: 1}\n", "mql.fit_min: duplicate key"},
		{"where not a mapping", withMQL("engagement:\n  rules:\n    - {id: a, event: page_view, where: [url], points: 1}"), "engagement.rules[0].where: must be a mapping, got a list"},
		{"match empty", withMQL("fit:\n  - {id: a, field: x, match: {}, points: 1}"), "fit[0].match: needs at least one operator"},
		{"burst missing fields", withMQL("engagement:\n  rules: [{id: a, event: page_view, points: 1}]\n  bursts: [{id: b, rule: a}]"), "engagement.bursts[0].min_count: required"},
		{"instant_on outcome", "mql: {fit_min: 1, engagement_min: 1, instant_on: [deal_won]}", `"deal_won" is a sales outcome`},
		{"nan", withMQL("fit:\n  - {id: a, field: x, match: {gt: .nan}, points: 1}"), "finite number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRules([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestJSONAndYAMLSameRules(t *testing.T) {
	y := mustRules(t, minimalDoc)
	j := mustRules(t, `{"fit":[{"id":"senior","field":"job_title","match":{"contains":"director"},"points":20}],
	  "engagement":{"decay":{"half_life_days":30},"rules":[{"id":"pricing","event":"page_view","where":{"url":{"prefix":"/pricing"}},"points":10,"max_per_day":3}]},
	  "mql":{"fit_min":40,"engagement_min":50,"instant_on":["demo_request"]}}`)
	if !bytes.Equal(y.Document(), j.Document()) {
		t.Errorf("documents differ:\n%s\n%s", y.Document(), j.Document())
	}
}

func TestDocumentRoundTripAndVersion(t *testing.T) {
	r := DefaultRules().WithVersion(7)
	if DefaultRules().Version != 0 || r.Version != 7 {
		t.Fatalf("versions: default %d, copy %d", DefaultRules().Version, r.Version)
	}
	doc := r.Document()
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil || m["version"] != 7.0 {
		t.Fatalf("document version = %v (%v)", m["version"], err)
	}
	again, err := ParseRules(doc)
	if err != nil {
		t.Fatal(err)
	}
	if again.Version != 7 || !bytes.Equal(again.Document(), doc) {
		t.Errorf("re-parsed document differs")
	}
	// The same events score the same under the re-parsed document.
	evs := typicalEvents(200, 60, 3)
	a, b := NewState(), NewState()
	a.Apply(evs, r)
	b.Apply(evs, again)
	if ra, rb := a.Evaluate(r, benchNow), b.Evaluate(again, benchNow); ra.Score != rb.Score {
		t.Errorf("scores differ: %+v vs %+v", ra.Score, rb.Score)
	}
}

func TestDefaultRules(t *testing.T) {
	r := DefaultRules()
	c := r.c
	if c.fitMin != 40 || c.engMin != 50 || c.nurtureDays != 14 || c.expiryDays != 180 ||
		c.decay.kind != decayHalfLife || c.decay.halfLife != 30 {
		t.Errorf("thresholds: %+v", c)
	}
	for _, typ := range []string{"demo_request", "contact_request", "quote_request"} {
		if !c.instantOn[typ] {
			t.Errorf("%s is not instant_on", typ)
		}
	}
	for _, f := range c.fit {
		if f.desc == "" {
			t.Errorf("fit rule %s has no description", f.id)
		}
	}
	covered := map[string]bool{}
	for _, e := range c.eng {
		if e.desc == "" {
			t.Errorf("engagement rule %s has no description", e.id)
		}
		covered[e.event] = true
	}
	for _, b := range c.bursts {
		if b.desc == "" {
			t.Errorf("burst %s has no description", b.id)
		}
	}
	// Every non-outcome built-in type scores, but the sources' identity
	// calls and unmapped track calls, which only a document's rules can
	// give a meaning.
	sourceOnly := map[string]bool{TypeTrack: true, TypeIdentify: true, TypeGroup: true, TypeAlias: true}
	for _, typ := range BuiltinEventTypes {
		if !isOutcome(typ) && !covered[typ] && !sourceOnly[typ] {
			t.Errorf("default rules do not score %s", typ)
		}
	}
	if !strings.Contains(string(DefaultRulesYAML()), "description:") {
		t.Error("DefaultRulesYAML lost the document")
	}
}

func TestEventTypes(t *testing.T) {
	r := mustRules(t, withMQL("event_types: [trial_extended, partner_referral]"))
	for typ, want := range map[string]bool{"page_view": true, "partner_referral": true, "page_veiw": false, "": false} {
		if got := r.KnownEventType(typ); got != want {
			t.Errorf("KnownEventType(%q) = %v", typ, got)
		}
	}
	for in, want := range map[string]string{"page_veiw": "page_view", "partner_refferal": "partner_referral", "demo_requst": "demo_request", "dealwon": "deal_won"} {
		if got := r.ClosestEventType(in); got != want {
			t.Errorf("ClosestEventType(%q) = %q, want %q", in, got, want)
		}
	}
	if _, err := ParseRules([]byte(withMQL("event_types: [Bad Type]"))); err == nil {
		t.Error("bad event type name accepted")
	}
}

func TestListsOverrideAndAdd(t *testing.T) {
	r := mustRules(t, withMQL(`
lists:
  free_email_domains: [acme.io]
  competitors: [Rival.com, other.io]
fit:
  - {id: free, field: email_domain, match: {in_list: free_email_domains}, points: -10}
  - {id: rival, field: email_domain, match: {in_list: competitors}, points: -50}
`))
	for _, tc := range []struct {
		email string
		want  float64
	}{
		{"ada@acme.io", -10},   // overridden list: acme.io is "free" now
		{"ada@gmail.com", 0},   // override replaced the shipped list
		{"ada@RIVAL.com", -50}, // added list, case-insensitive
	} {
		s := NewState()
		s.Apply([]Event{{EventID: "1", Type: "page_view", OccurredAt: noon, Email: tc.email}}, r)
		if got := s.Evaluate(r, noon).Score.Fit; got != tc.want {
			t.Errorf("%s: fit %v, want %v", tc.email, got, tc.want)
		}
	}
}

func TestNearest(t *testing.T) {
	long := strings.Repeat("x", 65)
	for _, tc := range []struct {
		s     string
		cands []string
		want  string
		dist  int
	}{
		{"occured_at", []string{"event_id", "occurred_at", "type"}, "occurred_at", 1},
		{"prefx", []string{"prefix", "regex"}, "prefix", 1},
		{"demo_requst", []string{"demo_use", "demo_request"}, "demo_request", 1},
		{"école", []string{"ecole"}, "ecole", 1}, // runes, not bytes
		{"ab", []string{"ba", "ab"}, "ab", 0},
		{"zz", []string{"aa", "bb"}, "aa", 2}, // ties: the earlier candidate
	} {
		got, d := Nearest(tc.s, tc.cands)
		if got != tc.want || d != tc.dist {
			t.Errorf("Nearest(%q) = %q, %d; want %q, %d", tc.s, got, d, tc.want, tc.dist)
		}
	}
	if _, d := Nearest(long, []string{long}); d < 1000 {
		t.Errorf("a 65-rune string is %d from itself; want no suggestion for strings that long", d)
	}
}

func TestPoints(t *testing.T) {
	p := DefaultRules().Points()
	for id, want := range map[string]float64{"senior-title": 20, "student": -30, "demo-request": 40, "careers-visit": -15, "pricing-urgency": 20, "invite-sent": 10} {
		if got, ok := p[id]; !ok || got != want {
			t.Errorf("points of %s = %v (present %v), want %v", id, got, ok, want)
		}
	}
	// Account fit rules are not lead rules, even with the same id.
	if p["mid-market"] != 15 || AccountFitPoints(DefaultRules())["mid-market"] != 30 {
		t.Errorf("mid-market: lead %v, account %v", p["mid-market"], AccountFitPoints(DefaultRules())["mid-market"])
	}
}
