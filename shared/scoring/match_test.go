package scoring

import (
	"testing"
	"time"
)

func TestOperators(t *testing.T) {
	// Each case is one fit rule worth 10 points: fit is 10 when the operator
	// matches the attribute, else 0.
	for _, tc := range []struct {
		name  string
		match string
		value any // nil: attribute missing
		want  bool
	}{
		{"eq string ignores case", `{eq: Software}`, "software", true},
		{"eq string differs", `{eq: software}`, "hardware", false},
		{"eq number", `{eq: 250}`, 250.0, true},
		{"eq number as text", `{eq: 250}`, "250", true},
		{"eq bool", `{eq: true}`, true, true},
		{"eq bool mismatch", `{eq: true}`, false, false},
		{"in strings", `{in: [US, CA]}`, "ca", true},
		{"in strings miss", `{in: [US, CA]}`, "DE", false},
		{"in numbers", `{in: [1, 2, 3]}`, 2.0, true},
		{"in numbers as text", `{in: [1, 2, 3]}`, "3", true},
		{"in_list shipped", `{in_list: free_email_domains}`, "GMAIL.com", true},
		{"in_list miss", `{in_list: free_email_domains}`, "acme.io", false},
		{"prefix ignores case", `{prefix: /pricing}`, "/Pricing/enterprise", true},
		{"prefix miss", `{prefix: /pricing}`, "/blog/pricing", false},
		{"prefix non-ascii", `{prefix: "/über"}`, "/ÜBER/uns", true},
		{"contains ignores case", `{contains: director}`, "Marketing DIRECTOR", true},
		{"contains miss", `{contains: director}`, "Direct sales", false},
		{"contains non-ascii", `{contains: "geschäftsführer"}`, "Leiter, GESCHÄFTSFÜHRER", true},
		{"regex", `{regex: "(?i)\\bvp\\b"}`, "VP Sales", true},
		{"regex is case-sensitive", `{regex: "\\bvp\\b"}`, "VP Sales", false},
		{"regex on number", `{regex: "^25"}`, 250.0, true},
		{"gte equal", `{gte: 200}`, 200.0, true},
		{"gte below", `{gte: 200}`, 199.0, false},
		{"gt equal", `{gt: 200}`, 200.0, false},
		{"lte equal", `{lte: 200}`, 200.0, true},
		{"lt equal", `{lt: 200}`, 200.0, false},
		{"lt below", `{lt: 200}`, 199.5, true},
		{"number from form text", `{gte: 200}`, "250", true},
		{"non-numeric text", `{gte: 200}`, "lots", false},
		{"range both hold", `{gte: 200, lt: 5000}`, 4999.0, true},
		{"range one fails", `{gte: 200, lt: 5000}`, 5000.0, false},
		{"exists true", `{exists: true}`, "x", true},
		{"exists true missing", `{exists: true}`, nil, false},
		{"exists false missing", `{exists: false}`, nil, true},
		{"exists false present", `{exists: false}`, "x", false},
		{"missing matches nothing", `{eq: ""}`, nil, false},
		{"missing fails negative-looking ops", `{lt: 100}`, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRules(t, withMQL("fit:\n  - {id: r, field: attr, match: "+tc.match+", points: 10}\n"))
			s := NewState()
			e := Event{EventID: "1", Type: "page_view", OccurredAt: noon, AnonymousID: "v"}
			if tc.value != nil {
				e.Lead = map[string]any{"attr": tc.value}
			}
			s.Apply([]Event{e}, r)
			got := s.Evaluate(r, noon).Score.Fit == 10
			if got != tc.want {
				t.Errorf("%s on %#v: matched %v, want %v", tc.match, tc.value, got, tc.want)
			}
		})
	}
}

func TestWhereOnProperties(t *testing.T) {
	// pricing-time needs both conditions on the event's properties.
	r := mustRules(t, withMQL(`
engagement:
  rules:
    - {id: pricing-time, event: page_view, where: {url: {prefix: /pricing}, duration_s: {gte: 60}}, points: 5}
    - {id: no-campaign, event: page_view, where: {campaign: {exists: false}}, points: 1}
`))
	evs := []Event{
		ev("page_view", daysAgo(0), map[string]any{"url": "/pricing", "duration_s": 75.0}),              // 5 + 1
		ev("page_view", daysAgo(0), map[string]any{"url": "/pricing", "duration_s": 30.0}),              // 1
		ev("page_view", daysAgo(0), map[string]any{"url": "/blog", "duration_s": 90.0, "campaign": ""}), // 1 (empty = absent)
		ev("form_submit", daysAgo(0), map[string]any{"url": "/pricing", "duration_s": 90.0}),            // wrong type: 0
	}
	got, bd := engagementOf(t, r, evs, noon)
	// 5 + 3 x 1 = 8
	if got != 8 || contribution(bd, "pricing-time").Events != 1 || contribution(bd, "no-campaign").Events != 3 {
		t.Errorf("engagement %v, breakdown %+v", got, bd)
	}
}

func TestAttributesLatestWins(t *testing.T) {
	r := mustRules(t, withMQL(`
fit:
  - {id: director, field: job_title, match: {contains: director}, points: 20}
  - {id: acme, field: email_domain, match: {eq: acme.io}, points: 5}
`))
	at := noon.Add(-time.Hour)
	evs := []Event{
		{EventID: "b", Type: "form_submit", OccurredAt: at, Email: "ada@acme.io", Lead: map[string]any{"job_title": "Director"}},
		// Same instant, smaller event_id: loses the tie.
		{EventID: "a", Type: "form_submit", OccurredAt: at, Lead: map[string]any{"job_title": "Engineer"}},
		// Later but empty: an empty form field tells nothing, value kept.
		{EventID: "c", Type: "form_submit", OccurredAt: at.Add(time.Minute), Lead: map[string]any{"job_title": "", "company": "Acme"}},
		// Earlier: older value loses.
		{EventID: "d", Type: "form_submit", OccurredAt: at.Add(-time.Hour), Lead: map[string]any{"job_title": "Intern", "company": "Old Co"}},
	}
	for _, order := range [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {1, 3, 0, 2}} {
		s := NewState()
		for _, i := range order {
			s.Apply([]Event{evs[i]}, r)
		}
		a := s.Attributes()
		if a["job_title"] != "Director" || a["company"] != "Acme" || a["email_domain"] != "acme.io" || a["email"] != "ada@acme.io" {
			t.Errorf("order %v: attributes %v", order, a)
		}
		if fit := s.Evaluate(r, noon).Score.Fit; fit != 25 {
			t.Errorf("order %v: fit %v, want 25", order, fit)
		}
		if !s.LastActivityAt().Equal(at.Add(time.Minute)) {
			t.Errorf("last activity %v", s.LastActivityAt())
		}
	}
}

func TestGrades(t *testing.T) {
	r := mustRules(t, withMQL("grades: {A: 80, B: 60, C: 40, D: 20}\nfit:\n  - {id: f, field: points, match: {exists: true}, points: 0}"))
	for fit, want := range map[float64]string{100: "A", 80: "A", 79.99: "B", 60: "B", 40: "C", 20: "D", 19.99: "F", -5: "F"} {
		if got := r.c.gradeOf(fit); got != want {
			t.Errorf("grade(%v) = %s, want %s", fit, got, want)
		}
	}
	custom := mustRules(t, withMQL("grades: {hot: 50, warm: 10}"))
	if custom.c.gradeOf(50) != "hot" || custom.c.gradeOf(10) != "warm" || custom.c.gradeOf(9) != "F" {
		t.Error("custom grades")
	}
}
