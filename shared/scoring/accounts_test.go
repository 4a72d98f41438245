package scoring

import (
	"bytes"
	"encoding/json"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"
)

// accountRulesDoc: engagement is one point per page view with no decay, so a
// lead's engagement is its number of page views; fit and stages are easy to
// reach by hand.
const accountRulesDoc = `
engagement:
  decay: {none: true}
  rules:
    - {id: view, event: page_view, points: 1}
    - {id: careers, event: page_view, where: {url: {contains: careers}}, points: -2}
mql: {fit_min: 1000, engagement_min: 1000}
accounts:
  fit:
    - {id: software, field: industry, match: {eq: software}, points: 30}
    - {id: mid-market, field: company_size, match: {gte: 200, lt: 5000}, points: 20}
  engagement: {per_contact_max: 50, engaged_min: 10, breadth_points: 10, breadth_max: 30}
  mqa: {fit_min: 30, engagement_min: 100, engaged_contacts_min: 2}
`

// member is a lead summary written by hand: the arithmetic of section 7 does
// not need events.
func member(id string, engagement float64, stage Stage) AccountMember {
	return AccountMember{LeadID: id, AccountID: "acct", Engagement: engagement, Stage: stage, At: t0}
}

func TestAccountsRulesProblems(t *testing.T) {
	got := problemsOf(t, withMQL(`
fit: [{id: mid-market, field: company_size, match: {gte: 200}, points: 1}]
accounts:
  colour: red
  exclude_domains: free_email_domain
  fit:
    - {id: Big, field: company_size, match: {gte: x}, points: 1}
    - {id: mid-market, field: industry, match: {in: [software]}, points: 1}
    - {id: mid-market, field: industry, match: {in: [software]}, points: 1}
  grades: {A: 50, B: 50}
  engagement: {per_contact_max: -1, engaged_min: x, breadth: 3}
  mqa: {fit_min: 30, engaged_contacts_min: 0}
`))
	want := []Problem{
		{"accounts.colour", `unknown key "colour"`},
		{"accounts.exclude_domains", `unknown list "free_email_domain" (did you mean "free_email_domains"? declare it under lists)`},
		{"accounts.fit[0].id", `"Big" must be 1 to 64 of a-z, 0-9 and -`},
		{"accounts.fit[0].match.gte", "must be a number, got a string"},
		// Account fit ids are their own namespace: mid-market as a lead fit
		// rule does not clash, a second account rule does.
		{"accounts.fit[2].id", `duplicate id "mid-market" (first used at accounts.fit[1].id)`},
		{"accounts.grades.B", `same bound as grade "A"`},
		{"accounts.engagement.breadth", `unknown key "breadth"`},
		{"accounts.engagement.per_contact_max", "must not be negative"},
		{"accounts.engagement.engaged_min", "must be a number, got a string"},
		{"accounts.mqa.engagement_min", "required"},
		{"accounts.mqa.engaged_contacts_min", "must be at least 1"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n got %s\nwant %s", join2(got), join2(want))
	}
}

func TestAccountsSectionOptional(t *testing.T) {
	r := mustRules(t, withMQL("grades: {hot: 50, cold: 10}"))
	if r.HasMQA() {
		t.Error("a document without accounts has MQAs")
	}
	a := &r.c.accounts
	if a.perContactMax != 50 || a.engagedMin != 10 || a.breadthPoints != 10 || a.breadthMax != 30 || len(a.fit) != 0 || a.excludeName != "free_email_domains" {
		t.Errorf("defaults %+v", a)
	}
	// Grades default to the lead grades.
	if g := a.gradeOf(60); g != "hot" {
		t.Errorf("grade of 60 = %s, want the lead grade hot", g)
	}
	// Scores still come: 3 engaged people, no fit rules.
	res := EvaluateAccount(r, nil, []AccountMember{member("a", 20, StageLead), member("b", 15, StageLead), member("c", 10, StageMQL)}, t0)
	if res.Score.Engagement != 65 || res.Score.Fit != 0 || res.EngagedContacts != 3 || res.Stage != AccountStageAccount {
		t.Errorf("result %+v", res)
	}
	// Defaults of the shipped document: every fit rule described, MQA on.
	d := DefaultRules()
	for _, f := range d.c.accounts.fit {
		if f.desc == "" {
			t.Errorf("account fit rule %s has no description", f.id)
		}
	}
	if !d.HasMQA() || d.c.accounts.mqaContactsMin != 2 {
		t.Errorf("default accounts %+v", d.c.accounts)
	}
}

func TestAccountIDForDomain(t *testing.T) {
	id := AccountIDForDomain("acme.io")
	if len(id) != len(AccountIDPrefix)+24 || id[:3] != "ac_" {
		t.Errorf("id %q", id)
	}
	if AccountIDForDomain(" ACME.io") != id || AccountIDForDomain("acme.com") == id {
		t.Error("not a function of the lowercased domain")
	}
}

func acctEvent(id string, when time.Time, email, accountID string, account, lead map[string]any) Event {
	return Event{EventID: id, Type: "page_view", OccurredAt: when, Email: email, AccountID: accountID, Account: account, Lead: lead}
}

func TestAccountMembership(t *testing.T) {
	r := mustRules(t, accountRulesDoc)
	cases := []struct {
		name   string
		events []Event
		want   string
	}{
		{"email domain", []Event{acctEvent("1", at(0), "ada@acme.io", "", nil, nil)}, AccountIDForDomain("acme.io")},
		{"free mail: no account", []Event{acctEvent("1", at(0), "ada@gmail.com", "", nil, nil)}, ""},
		{"explicit account_id beats the domain", []Event{
			acctEvent("1", at(0), "ada@acme.io", "", nil, nil),
			acctEvent("2", at(1), "ada@acme.io", "sf-001", nil, nil),
			acctEvent("3", at(2), "ada@acme.io", "", nil, nil), // no account_id: does not reset it
		}, "sf-001"},
		{"explicit account_id for free mail", []Event{acctEvent("1", at(0), "ada@gmail.com", "sf-001", nil, nil)}, "sf-001"},
		{"moving: the latest account_id wins", []Event{
			acctEvent("2", at(5), "ada@acme.io", "new-co", nil, nil),
			acctEvent("1", at(1), "ada@acme.io", "old-co", nil, nil), // delivered late, older
		}, "new-co"},
		{"same occurred_at: greater event_id", []Event{
			acctEvent("b", at(1), "ada@acme.io", "bee", nil, nil),
			acctEvent("a", at(1), "ada@acme.io", "ay", nil, nil),
		}, "bee"},
		{"visitor: no account yet", []Event{{EventID: "1", Type: "page_view", OccurredAt: at(0), AnonymousID: "c", AccountID: "sf-001"}}, ""},
	}
	for _, tc := range cases {
		for _, order := range [][]Event{tc.events, reversed(tc.events)} {
			s := NewState()
			s.Apply(order, r)
			if got := s.AccountID(r); got != tc.want {
				t.Errorf("%s: AccountID = %q, want %q", tc.name, got, tc.want)
			}
			if m := s.AccountMember("ld_1", r, at(10)); m.AccountID != tc.want || m.LeadID != "ld_1" {
				t.Errorf("%s: member %+v", tc.name, m)
			}
		}
	}
}

func TestAccountExcludeListIsTheDocuments(t *testing.T) {
	r := mustRules(t, withMQL("lists: {blocked: [acme.io]}\naccounts: {exclude_domains: blocked}"))
	for email, want := range map[string]string{"ada@acme.io": "", "ada@gmail.com": AccountIDForDomain("gmail.com")} {
		s := NewState()
		s.Apply([]Event{acctEvent("1", at(0), email, "", nil, nil)}, r)
		if got := s.AccountID(r); got != want {
			t.Errorf("%s: AccountID = %q, want %q", email, got, want)
		}
	}
}

func TestAccountAttributes(t *testing.T) {
	r := mustRules(t, accountRulesDoc)
	ada, bob := NewState(), NewState()
	ada.Apply([]Event{
		// The account object's name wins over the lead's company on the same
		// event; the lead's company_size is used where the account has none.
		acctEvent("a1", at(0), "ada@acme.io", "", map[string]any{"name": "Acme Inc", "industry": "software"}, map[string]any{"company": "ACME", "company_size": 250.0}),
		acctEvent("a2", at(3), "ada@acme.io", "", nil, map[string]any{"industry": "retail", "job_title": "VP"}),
	}, r)
	bob.Apply([]Event{
		acctEvent("b1", at(2), "bob@acme.io", "", map[string]any{"industry": "fintech", "name": ""}, map[string]any{"company": "Acme (Bob)"}),
	}, r)
	members := []AccountMember{ada.AccountMember("ada", r, at(5)), bob.AccountMember("bob", r, at(5))}
	res := EvaluateAccount(r, nil, members, at(5))
	want := map[string]any{
		"name":         "Acme (Bob)", // bob's event at day 2 is the latest name (his account name was empty)
		"industry":     "retail",     // ada's lead object at day 3, the latest of all
		"company_size": 250.0,
		"domain":       "acme.io", // derived: not given by any event
	}
	if !maps.Equal(res.Attributes, want) {
		t.Errorf("attributes %v, want %v", res.Attributes, want)
	}
	if res.AccountID != AccountIDForDomain("acme.io") || res.Domain != "acme.io" {
		t.Errorf("account %q domain %q", res.AccountID, res.Domain)
	}
	// A given domain beats the derived one.
	bob.Apply([]Event{acctEvent("b2", at(4), "bob@acme.io", "", map[string]any{"domain": " Acme.COM "}, nil)}, r)
	res = EvaluateAccount(r, nil, []AccountMember{ada.AccountMember("ada", r, at(5)), bob.AccountMember("bob", r, at(5))}, at(5))
	if res.Domain != "acme.com" {
		t.Errorf("domain %q, want the given acme.com, lower-cased", res.Domain)
	}
	// Fit on account attributes: industry retail does not match, size does.
	if res.Score.Fit != 20 || res.Breakdown.Fit[0].Points != 0 || res.Breakdown.Fit[1].Points != 20 {
		t.Errorf("fit %v, breakdown %+v", res.Score.Fit, res.Breakdown.Fit)
	}
	if ids := AccountFitMatches(r, res.Attributes); !slices.Equal(ids, []string{"mid-market"}) {
		t.Errorf("AccountFitMatches = %v", ids)
	}
	if p := AccountFitPoints(r); p["software"] != 30 || p["mid-market"] != 20 || len(p) != 2 {
		t.Errorf("AccountFitPoints = %v", p)
	}
}

func TestAccountAttributesBounded(t *testing.T) {
	r := mustRules(t, accountRulesDoc)
	var evs []Event
	for i := range 100 {
		evs = append(evs, acctEvent("e"+strconv.Itoa(i), at(i%7), "ada@acme.io", "", map[string]any{"k" + strconv.Itoa(1000+i): float64(i)}, nil))
	}
	var first []AccountAttribute
	for seed := range uint64(5) {
		shuffled := slices.Clone(evs)
		rand.New(rand.NewPCG(seed, 1)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		s := NewState()
		for _, e := range shuffled {
			s.Apply([]Event{e}, r)
		}
		m := s.AccountMember("ada", r, at(10))
		if len(m.Attributes) != maxAccountAttrs || m.Attributes[0].Key != "k1000" || m.Attributes[maxAccountAttrs-1].Key != "k1063" {
			t.Fatalf("kept %d keys, %v...", len(m.Attributes), m.Attributes[0])
		}
		if first == nil {
			first = m.Attributes
		} else if !slices.Equal(first, m.Attributes) {
			t.Fatalf("kept attributes depend on the order of events")
		}
	}
}

// Hand-worked engagement: per_contact_max 50, engaged_min 10, breadth 10 per
// engaged lead beyond the first, at most 30.
func TestAccountEngagement(t *testing.T) {
	r := mustRules(t, accountRulesDoc)
	cases := []struct {
		name    string
		e       []float64
		want    float64
		n       int
		breadth float64
	}{
		// 50 (80 capped) + 30 + 12 + 5 - 20 = 77; engaged 80, 30, 12: n = 3,
		// breadth min(10 x 2, 30) = 20; 97.
		{"per-contact cap and negative contacts", []float64{80, 30, 12, 5, -20}, 97, 3, 20},
		// Six engaged at 10: 60 + min(10 x 5, 30) = 90.
		{"breadth cap", []float64{10, 10, 10, 10, 10, 10}, 90, 6, 30},
		{"negatives kept", []float64{-20, -5}, -25, 0, 0},
		{"one engaged lead: no breadth", []float64{200, 9.99}, 59.99, 1, 0},
		{"no members", nil, 0, 0, 0},
	}
	for _, tc := range cases {
		var ms []AccountMember
		for i, e := range tc.e {
			ms = append(ms, member("ld_"+strconv.Itoa(i), e, StageLead))
		}
		res := EvaluateAccount(r, NewAccountState("acct"), ms, t0)
		if res.Score.Engagement != tc.want || res.EngagedContacts != tc.n || res.Breakdown.Breadth != tc.breadth {
			t.Errorf("%s: engagement %v, n %d, breadth %v; want %v, %d, %v", tc.name, res.Score.Engagement, res.EngagedContacts, res.Breakdown.Breadth, tc.want, tc.n, tc.breadth)
		}
		checkBreakdownSums(t, res)
	}
}

func checkBreakdownSums(t *testing.T, res AccountResult) {
	t.Helper()
	sum := cents(res.Breakdown.Breadth)
	for _, l := range res.Breakdown.Leads {
		sum += cents(l.Counted)
	}
	if sum != cents(res.Score.Engagement) {
		t.Errorf("breakdown sums to %d cents, engagement is %v", sum, res.Score.Engagement)
	}
}

// A cap with sub-cent precision is rounded per share, so the breakdown
// still adds up: three leads over 33.335 count 33.34 each, 100.02.
func TestAccountEngagementSubCentCap(t *testing.T) {
	r := mustRules(t, withMQL("accounts: {engagement: {per_contact_max: 33.335, breadth_points: 0}}"))
	res := EvaluateAccount(r, nil, []AccountMember{member("a", 40, StageLead), member("b", 40, StageLead), member("c", 40, StageLead)}, t0)
	if res.Score.Engagement != 100.02 || res.Breakdown.Leads[0].Counted != 33.34 {
		t.Errorf("engagement %v, breakdown %+v", res.Score.Engagement, res.Breakdown.Leads)
	}
	checkBreakdownSums(t, res)
}

func TestAccountBreakdownOrderAndMembers(t *testing.T) {
	r := mustRules(t, accountRulesDoc)
	moved := member("gone", 90, StageLead)
	moved.AccountID = "other"
	older := member("b", 99, StageSQL)
	older.At = t0.Add(-time.Hour)
	res := EvaluateAccount(r, nil, []AccountMember{member("c", 5, StageLead), member("b", 20, StageLead), member("a", 20, StageLead), moved, older}, t0)
	var ids []string
	for _, l := range res.Breakdown.Leads {
		ids = append(ids, l.LeadID+":"+strconv.FormatFloat(l.Counted, 'f', -1, 64))
	}
	// The moved lead is not counted; of b's two summaries the later counts;
	// largest share first, lead id breaking ties.
	if want := []string{"a:20", "b:20", "c:5"}; !slices.Equal(ids, want) {
		t.Errorf("breakdown %v, want %v", ids, want)
	}
	if res.Stage != AccountStageAccount {
		t.Errorf("stage %s: b's older sql summary must not count", res.Stage)
	}
}

// Every row of the account stage table, from the stage it starts in.
func TestAccountStages(t *testing.T) {
	r := mustRules(t, accountRulesDoc).WithVersion(7)
	noMQA := mustRules(t, withMQL(""))
	fit := map[string]any{"industry": "software"} // fit 30 = fit_min
	engaged := func(stages ...Stage) []AccountMember {
		var ms []AccountMember
		for i, s := range stages {
			m := member("ld_"+strconv.Itoa(i), 50, s)
			m.Attributes = []AccountAttribute{{Key: "industry", Value: fit["industry"], At: t0, EventID: "x"}}
			ms = append(ms, m)
		}
		return ms
	}
	cases := []struct {
		name    string
		rules   *Rules
		from    AccountStage
		members []AccountMember
		want    []AccountStage // the stages moved through, in order
		reasons []string
	}{
		{"account -> mqa: fit, engagement and engaged contacts", r, AccountStageAccount, engaged(StageLead, StageMQL),
			[]AccountStage{AccountStageMQA}, []string{"fit 30 >= 30, engagement 110 >= 100 and 2 engaged contacts >= 2"}},
		// 50 + 6 x 9 = 104 >= 100, but only one lead reaches engaged_min 10.
		{"account stays: one engaged contact", r, AccountStageAccount, append(engaged(StageLead), member("p", 9, StageLead), member("q", 9, StageLead),
			member("r", 9, StageLead), member("s", 9, StageLead), member("t", 9, StageLead), member("u", 9, StageLead)),
			nil, nil},
		{"account stays: no fit", r, AccountStageAccount, []AccountMember{member("a", 50, StageLead), member("b", 50, StageLead), member("c", 50, StageLead)},
			nil, nil},
		{"account stays: every lead quiet", r, AccountStageAccount, engaged(StageNurture, StageExpired, StageDisqualified), nil, nil},
		{"account stays: no mqa section", noMQA, AccountStageAccount, engaged(StageLead, StageLead, StageLead), nil, nil},
		{"account -> opportunity", r, AccountStageAccount, []AccountMember{member("a", 0, StageSQL)},
			[]AccountStage{AccountStageOpportunity}, []string{"lead a is sql"}},
		{"mqa -> opportunity", r, AccountStageMQA, []AccountMember{member("a", 0, StageLead), member("b", 0, StageSQL)},
			[]AccountStage{AccountStageOpportunity}, []string{"lead b is sql"}},
		{"account -> customer", r, AccountStageAccount, []AccountMember{member("a", 0, StageSQL), member("b", 0, StageCustomer)},
			[]AccountStage{AccountStageCustomer}, []string{"lead b is customer"}},
		{"mqa -> customer", r, AccountStageMQA, []AccountMember{member("b", 0, StageCustomer)}, []AccountStage{AccountStageCustomer}, nil},
		{"opportunity -> customer", r, AccountStageOpportunity, []AccountMember{member("b", 0, StageCustomer)}, []AccountStage{AccountStageCustomer}, nil},
		{"opportunity -> mqa: deal lost", r, AccountStageOpportunity, []AccountMember{member("a", 0, StageNurture), member("b", 0, StageLead)},
			[]AccountStage{AccountStageMQA}, []string{"no lead is sql or customer"}},
		{"opportunity -> mqa -> account: deal lost, everyone quiet", r, AccountStageOpportunity, []AccountMember{member("a", 0, StageNurture)},
			[]AccountStage{AccountStageMQA, AccountStageAccount}, []string{"no lead is sql or customer", "every lead is nurture, disqualified or expired"}},
		{"opportunity -> account without an mqa section", noMQA, AccountStageOpportunity, []AccountMember{member("a", 0, StageLead)},
			[]AccountStage{AccountStageAccount}, nil},
		{"mqa -> account: every lead quiet", r, AccountStageMQA, []AccountMember{member("a", 80, StageNurture), member("b", 0, StageDisqualified), member("c", 0, StageExpired)},
			[]AccountStage{AccountStageAccount}, nil},
		{"mqa -> account: no lead left", r, AccountStageMQA, nil, []AccountStage{AccountStageAccount}, nil},
		{"mqa stays: scores fell, people active", r, AccountStageMQA, []AccountMember{member("a", 0, StageLead), member("b", 0, StageNurture)}, nil, nil},
		{"customer stays customer", r, AccountStageCustomer, []AccountMember{member("a", 0, StageNurture)}, nil, nil},
		{"opportunity stays while a lead is sql", r, AccountStageOpportunity, []AccountMember{member("a", 0, StageSQL)}, nil, nil},
	}
	for _, tc := range cases {
		prev := NewAccountState("acct")
		prev.stage = tc.from
		before, _ := prev.MarshalBinary()
		now := t0.AddDate(0, 0, 3)
		res := EvaluateAccount(tc.rules, prev, tc.members, now)
		var got []AccountStage
		var reasons []string
		from := tc.from
		for _, tr := range res.Transitions {
			got = append(got, tr.To)
			reasons = append(reasons, tr.Reason)
			if tr.From != from || !tr.At.Equal(now) || tr.RulesVersion != tc.rules.Version {
				t.Errorf("%s: transition %+v", tc.name, tr)
			}
			from = tr.To
		}
		if !slices.Equal(got, tc.want) || (tc.reasons != nil && !slices.Equal(reasons, tc.reasons)) {
			t.Errorf("%s: moved %v %q, want %v %q", tc.name, got, reasons, tc.want, tc.reasons)
		}
		wantStage := tc.from
		if len(tc.want) > 0 {
			wantStage = tc.want[len(tc.want)-1]
		}
		if res.Stage != wantStage || res.State.Stage() != wantStage || res.State.RulesVersion() != tc.rules.Version {
			t.Errorf("%s: stage %s / %s, want %s", tc.name, res.Stage, res.State.Stage(), wantStage)
		}
		if after, _ := prev.MarshalBinary(); !bytes.Equal(before, after) {
			t.Errorf("%s: EvaluateAccount changed prev", tc.name)
		}
		// A second evaluation at the same now decides nothing new.
		if again := EvaluateAccount(tc.rules, res.State, tc.members, now); len(again.Transitions) != 0 {
			t.Errorf("%s: second evaluation moved %+v", tc.name, again.Transitions)
		}
	}
}

func TestAccountStateHistoryAndEncoding(t *testing.T) {
	r := mustRules(t, accountRulesDoc).WithVersion(3)
	st := NewAccountState("acct")
	// Alternate sql and nurture on one lead: opportunity, mqa, opportunity...
	for i := range maxAccountHistory + 20 {
		stage := StageSQL
		if i%2 == 1 {
			stage = StageLead
		}
		res := EvaluateAccount(r, st, []AccountMember{member("a", 0, stage)}, t0.Add(time.Duration(i)*time.Hour))
		if len(res.Transitions) != 1 {
			t.Fatalf("evaluation %d decided %+v, want one move (also with a full history)", i, res.Transitions)
		}
		st = res.State
	}
	h := st.History()
	if len(h) != maxAccountHistory || !h[len(h)-1].At.Equal(t0.Add(time.Duration(maxAccountHistory+19)*time.Hour)) {
		t.Fatalf("history %d entries, last %+v", len(h), h[len(h)-1])
	}
	if ms := st.Milestones(); !ms.OpportunityAt.Equal(t0) || !ms.MQAAt.Equal(t0.Add(time.Hour)) || !ms.CustomerAt.IsZero() {
		t.Errorf("milestones %+v", ms)
	}
	b, err := st.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var back AccountState
	if err := back.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	b2, _ := back.MarshalBinary()
	if !bytes.Equal(b, b2) || back.ID() != "acct" || back.Stage() != st.Stage() || !back.StageSince().Equal(st.StageSince()) {
		t.Errorf("round trip differs")
	}
	for _, bad := range []string{`{}`, `{"id":"a","stage":"mql"}`, `{"id":"a","stage":"mqa","history":[{"from":"x","to":"mqa"}]}`, `not json`} {
		if err := new(AccountState).UnmarshalBinary([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestStateEncodingKeepsAccountData(t *testing.T) {
	r := mustRules(t, accountRulesDoc)
	s := NewState()
	s.Apply([]Event{acctEvent("1", at(0), "ada@gmail.com", "sf-1", map[string]any{"name": "Acme", "employees": 300.0}, map[string]any{"industry": "software"})}, r)
	back := roundTrip(t, s)
	if back.AccountID(r) != "sf-1" || !slices.Equal(back.AccountMember("x", r, at(1)).Attributes, s.AccountMember("x", r, at(1)).Attributes) {
		t.Errorf("account data lost: %q %+v", back.AccountID(r), back.AccountMember("x", r, at(1)))
	}
	// A format-1 encoding (written before accounts) still decodes: it is
	// format 2 without the account parts (flag 0, 0 sources, 0 attributes).
	plain := NewState()
	plain.Apply([]Event{acctEvent("1", at(0), "ada@acme.io", "", nil, nil)}, r)
	b := mustMarshal(plain)
	if !bytes.HasSuffix(b, []byte{0, 0, 0}) || b[2] != 2 {
		t.Fatalf("unexpected format-2 tail % x", b[len(b)-3:])
	}
	v1 := append([]byte{'L', 'S', 1}, b[3:len(b)-3]...)
	old := NewState()
	if err := old.UnmarshalBinary(v1); err != nil {
		t.Fatalf("format 1: %v", err)
	}
	if old.AccountID(r) != AccountIDForDomain("acme.io") || !bytes.Equal(mustMarshal(old), b) {
		t.Errorf("format 1 decoded differently")
	}
}

func reversed(evs []Event) []Event {
	out := slices.Clone(evs)
	slices.Reverse(out)
	return out
}

// A sender that passes our derived id for a domain means that account: the
// beta.com lead joins acme.io's account, and the account's domain stays the
// one most of its people share.
func TestExplicitIDEqualToDerivedIDJoinsThatAccount(t *testing.T) {
	r := mustRules(t, accountRulesDoc)
	acme := AccountIDForDomain("acme.io")
	var members []AccountMember
	for i, e := range []Event{
		acctEvent("1", at(0), "ada@acme.io", "", nil, nil),
		acctEvent("2", at(0), "cy@acme.io", "", nil, nil),
		acctEvent("3", at(0), "bob@beta.com", acme, nil, nil),
	} {
		s := NewState()
		s.Apply([]Event{e}, r)
		members = append(members, s.AccountMember("ld_"+strconv.Itoa(i), r, at(1)))
	}
	res := EvaluateAccount(r, nil, members, at(1))
	if res.AccountID != acme || len(res.Breakdown.Leads) != 3 || res.Domain != "acme.io" {
		t.Errorf("account %q, %d leads, domain %q", res.AccountID, len(res.Breakdown.Leads), res.Domain)
	}
}

func TestMQAContactsDefault(t *testing.T) {
	r := mustRules(t, withMQL("accounts: {mqa: {fit_min: 0, engagement_min: 20}}"))
	if !r.HasMQA() || r.c.accounts.mqaContactsMin != 1 {
		t.Fatalf("mqa %+v", r.c.accounts)
	}
	// One engaged person is enough by default.
	if res := EvaluateAccount(r, nil, []AccountMember{member("a", 20, StageLead)}, t0); res.Stage != AccountStageMQA {
		t.Errorf("stage %s, want mqa", res.Stage)
	}
}

// The store keeps member summaries as JSON: a round trip changes nothing.
func TestAccountMemberJSONRoundTrip(t *testing.T) {
	r := mustRules(t, accountRulesDoc)
	s := NewState()
	s.Apply([]Event{acctEvent("1", at(0), "ada@acme.io", "", map[string]any{"name": "Acme", "company_size": 250.0, "public": true}, nil)}, r)
	m := s.AccountMember("ld_1", r, at(1))
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back AccountMember
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	a, c := EvaluateAccount(r, nil, []AccountMember{m}, at(1)), EvaluateAccount(r, nil, []AccountMember{back}, at(1))
	a.State, c.State = nil, nil
	if !reflect.DeepEqual(a, c) {
		t.Errorf("after a JSON round trip:\n%+v\n%+v", a, c)
	}
}

func TestZeroAccountStateIsANewAccount(t *testing.T) {
	r := mustRules(t, accountRulesDoc)
	res := EvaluateAccount(r, &AccountState{}, []AccountMember{member("a", 0, StageSQL)}, t0)
	if res.AccountID != "acct" || res.Stage != AccountStageOpportunity || len(res.Transitions) != 1 || res.Transitions[0].From != AccountStageAccount {
		t.Errorf("result %+v", res)
	}
}
