package signals

import (
	"testing"
	"time"

	"github.com/leadscore/leadscore/shared/scoring"
)

func TestOutcomeFromStageHistory(t *testing.T) {
	base := time.Date(2026, 11, 22, 10, 15, 0, 0, time.UTC)
	at := func(h int) time.Time { return base.Add(time.Duration(h) * time.Hour) }
	tr := func(from, to scoring.Stage, h int, reason string) scoring.Transition {
		return scoring.Transition{From: from, To: to, At: at(h), Reason: reason}
	}
	tests := []struct {
		name      string
		history   []scoring.Transition
		want      Outcome
		won, lost time.Time
	}{
		{name: "no sales decision", history: []scoring.Transition{tr("visitor", "lead", 0, "identified by email"), tr("lead", "mql", 1, "fit 50 >= 40 and engagement 60 >= 50")}, want: Open},
		{name: "accepted only", history: []scoring.Transition{tr("mql", "sql", 2, "sales_accepted")}, want: Open},
		{name: "won", history: []scoring.Transition{tr("mql", "sql", 2, "sales_accepted"), tr("sql", "customer", 3, "deal_won")}, want: Won, won: at(3)},
		{name: "lost", history: []scoring.Transition{tr("mql", "sql", 2, "sales_accepted"), tr("sql", "nurture", 4, "deal_lost")}, want: Lost, lost: at(4)},
		{name: "rejected", history: []scoring.Transition{tr("mql", "disqualified", 2, "sales_rejected")}, want: Rejected, lost: at(2)},
		{name: "nurtured on a timer is not lost", history: []scoring.Transition{tr("mql", "nurture", 2, "no sales decision in 14 days")}, want: Open},
		{name: "rejected then accepted again", history: []scoring.Transition{tr("mql", "disqualified", 2, "sales_rejected"), tr("disqualified", "sql", 5, "sales_accepted")}, want: Open, lost: at(2)},
		{name: "lost then won later", history: []scoring.Transition{tr("sql", "nurture", 2, "deal_lost"), tr("nurture", "sql", 5, "sales_accepted"), tr("sql", "customer", 6, "deal_won")}, want: Won, won: at(6), lost: at(2)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, won, lost := OutcomeFromHistory(tc.history)
			if o != tc.want || !won.Equal(tc.won) || !lost.Equal(tc.lost) {
				t.Fatalf("OutcomeFromHistory = %s won %s lost %s; want %s won %s lost %s", o, won, lost, tc.want, tc.won, tc.lost)
			}
		})
	}
}

func TestCurrentPointsListsEveryRule(t *testing.T) {
	pts, err := CurrentPoints(scoring.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]float64{"senior-title": 20, "student": -30, "demo-request": 40, "careers-visit": -15, "pricing-urgency": 20} {
		if got, ok := pts[id]; !ok || got != want {
			t.Errorf("points of %s = %v (present %v), want %v", id, got, ok, want)
		}
	}
	yaml, err := scoring.ParseRules([]byte("fit:\n  - id: big\n    field: company_size\n    match: {gte: 1000}\n    points: 7\nmql: {fit_min: 40, engagement_min: 50}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if pts, err := CurrentPoints(yaml); err != nil || pts["big"] != 7 {
		t.Fatalf("points of a YAML document: %v %v", pts, err)
	}
}

// TestAccountFitRulesGetTheLeadColumns: a lead whose company matches an
// account fit rule counts for that rule, named apart from a lead fit rule
// of the same id, with the same columns as lead rules.
func TestAccountFitRulesGetTheLeadColumns(t *testing.T) {
	rules, err := scoring.ParseRules([]byte(`
fit: [{id: software, field: industry, match: {eq: software}, points: 5}]
mql: {fit_min: 1000, engagement_min: 1000}
accounts:
  fit: [{id: software, field: industry, match: {eq: software}, points: 30}]
`))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	var leads []Lead
	for i, industry := range []string{"software", "software", "retail", "software"} {
		st := scoring.NewLeadState()
		st.Apply([]scoring.Event{{EventID: "e", Type: "page_view", OccurredAt: now.Add(-time.Hour), Email: "p@acme.io",
			Lead: map[string]any{"industry": industry}}}, rules)
		l := LeadFromState("ld_"+string(rune('a'+i)), st, rules, now)
		if (industry == "software") != (l.AccountFit["software"] == 30) {
			t.Fatalf("lead %d (%s): account fit %v", i, industry, l.AccountFit)
		}
		leads = append(leads, l)
	}
	points, err := CurrentPoints(rules)
	if err != nil || points[AccountRuleID("software")] != 30 || points["software"] != 5 {
		t.Fatalf("current points %v %v", points, err)
	}
	var found bool
	for _, s := range Build(leads, points, Options{}).Rules {
		if s.Rule == AccountRuleID("software") {
			found = true
			if s.Kind != KindAccountFit || !s.Published || s.CurrentPoints != 30 || s.LeadsWith != 3 {
				t.Errorf("account fit line %+v, want kind account_fit, published at 30, 3 leads", s)
			}
		}
	}
	if !found {
		t.Error("the report has no line for the account fit rule")
	}
}
