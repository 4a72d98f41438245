package preview

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadscore/leadscore/shared/scoring"
)

// accountRules: one point per page view, no decay, leads never MQLs; an
// account in software with three engaged people (10 views each) is an MQA.
// blocked is the draft's extra excluded domain.
const accountRules = `
engagement:
  decay: {none: true}
  rules:
    - {id: view, event: page_view, points: 1}
mql: {fit_min: 1000, engagement_min: 1000}
lists: {blocked: [gmail.com, %s]}
accounts:
  exclude_domains: blocked
  fit:
    - {id: software, field: industry, match: {eq: software}, points: 30}
  engagement: {per_contact_max: 50, engaged_min: 10, breadth_points: 10, breadth_max: 30}
  mqa: {fit_min: 30, engagement_min: %d, engaged_contacts_min: 3}
`

func accountRulesOf(t *testing.T, blocked string, engagementMin int) *scoring.Rules {
	t.Helper()
	r, err := scoring.ParseRules(fmt.Appendf(nil, accountRules, blocked, engagementMin))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// viewsOf is n page views of email (with an explicit account id when
// accountID is not ""), saying the company is in software.
func viewsOf(email, accountID string, n int) []scoring.Event {
	var evs []scoring.Event
	for i := range n {
		evs = append(evs, scoring.Event{EventID: fmt.Sprintf("%s-%d", email, i), Type: "page_view", Email: email, AccountID: accountID,
			OccurredAt: now.Add(-time.Duration(n-i) * time.Hour), Lead: map[string]any{"industry": "software"}})
	}
	return evs
}

// population is the leads of TestAccountsUnderTheDraft, by email: three
// at acme, one elsewhere whose events name acme's account, three at beta,
// one on free mail.
func population() map[string][]scoring.Event {
	acme := scoring.AccountIDForDomain("acme.example")
	return map[string][]scoring.Event{
		"a1@acme.example":    viewsOf("a1@acme.example", "", 12),
		"a2@acme.example":    viewsOf("a2@acme.example", "", 15),
		"a3@acme.example":    viewsOf("a3@acme.example", "", 11),
		"p1@partner.example": viewsOf("p1@partner.example", acme, 20),
		"b1@beta.example":    viewsOf("b1@beta.example", "", 10),
		"b2@beta.example":    viewsOf("b2@beta.example", "", 10),
		"b3@beta.example":    viewsOf("b3@beta.example", "", 30),
		"solo@gmail.com":     viewsOf("solo@gmail.com", "", 40),
	}
}

// storedAccounts evaluates every account of the outcomes' published
// membership under published, as the score function left them.
func storedAccounts(t *testing.T, leads map[string][]scoring.Event, published *scoring.Rules) map[string]*StoredAccount {
	t.Helper()
	byAccount := map[string][]scoring.AccountMember{}
	for email, h := range leads {
		m := stored(h, published).AccountMember("ld_"+email, published, now)
		if m.AccountID != "" {
			byAccount[m.AccountID] = append(byAccount[m.AccountID], m)
		}
	}
	out := map[string]*StoredAccount{}
	for id, ms := range byAccount {
		res := scoring.EvaluateAccount(published, nil, ms, now)
		out[id] = &StoredAccount{State: res.State, EvaluatedAt: now,
			Before: AccountSnapshot{Fit: res.Score.Fit, Engagement: res.Score.Engagement, Grade: res.Score.Grade, Stage: res.Stage, EngagedContacts: res.EngagedContacts}}
	}
	return out
}

// TestAccountsUnderTheDraft: a draft that excludes acme's domain takes its
// three domain leads out of it (acme is evaluated with the one lead whose
// events name it, and stays an MQA: a score falling back moves nothing),
// and lowers the MQA bar so that beta, never stored, becomes an MQA.
// Every evaluated account is EvaluateAccount of its stored state with its
// members under the draft.
func TestAccountsUnderTheDraft(t *testing.T) {
	published, draft := accountRulesOf(t, "none.example", 80), accountRulesOf(t, "acme.example", 40)
	leads := population()
	acme, beta := scoring.AccountIDForDomain("acme.example"), scoring.AccountIDForDomain("beta.example")
	stored0 := storedAccounts(t, leads, published)
	if a := stored0[acme]; a == nil || a.State.Stage() != scoring.AccountStageMQA {
		t.Fatalf("acme as stored: %+v; want an MQA", a)
	}
	delete(stored0, beta) // beta's leads arrived, its account was not written yet
	var outcomes []Outcome
	for email, h := range leads {
		outcomes = append(outcomes, Lead("ld_"+email, "", stored(h, published), h, published, draft, now))
	}
	for _, o := range outcomes {
		if strings.HasSuffix(o.LeadID, "acme.example") && (o.AccountBefore != acme || o.Account != nil) {
			t.Errorf("%s: before %q after %+v; want it to leave acme for no account", o.LeadID, o.AccountBefore, o.Account)
		}
		if o.LeadID == "ld_solo@gmail.com" && (o.AccountBefore != "" || o.Account != nil) {
			t.Errorf("free mail: before %q after %+v; want no account", o.AccountBefore, o.Account)
		}
	}
	if ids := AccountIDs(outcomes); !reflect.DeepEqual(ids, slices.Sorted(slices.Values([]string{acme, beta}))) {
		t.Fatalf("accounts evaluated %v; want acme and beta", ids)
	}
	members := Members(outcomes)
	if len(members[acme]) != 1 || members[acme][0].LeadID != "ld_p1@partner.example" || len(members[beta]) != 3 {
		t.Fatalf("members under the draft: acme %+v, beta %d", members[acme], len(members[beta]))
	}

	outs := AccountOutcomes(outcomes, stored0, draft, now)
	s := SummarizeAccounts(outs)
	for _, id := range []string{acme, beta} {
		var prev *scoring.AccountState
		if stored0[id] != nil {
			prev = stored0[id].State
		}
		res := scoring.EvaluateAccount(draft, prev, members[id], now)
		got := findAccount(outs, id)
		if res.Stage != got.After.Stage || res.Score.Engagement != got.After.Engagement || res.EngagedContacts != got.After.EngagedContacts {
			t.Errorf("%s: preview %+v, evaluation %v %+v", id, got.After, res.Stage, res.Score)
		}
	}
	if a := findAccount(outs, acme); a.Before.EngagedContacts != 4 || a.After.EngagedContacts != 1 || a.After.Stage != scoring.AccountStageMQA {
		t.Errorf("acme: %+v; want 4 then 1 engaged contacts, still an MQA", a)
	}
	want := AccountSummary{Accounts: 2, StageChanges: map[string]int{"account->mqa": 1}, WouldQualifyCount: 1,
		WouldQualify: []AccountOutcome{findAccount(outs, beta)}, WouldUnqualify: []AccountOutcome{}}
	if s.WouldQualify[0].Before.Stage != scoring.AccountStageAccount || s.WouldQualify[0].Domain != "beta.example" || !reflect.DeepEqual(s, want) {
		t.Errorf("summary %+v; want %+v", s, want)
	}
}

// TestAccountEveryLeadLeaves: an MQA whose every lead leaves under the
// draft is evaluated with no members and goes back to account (none of its
// leads is active any more); an account neither stored nor joined is not
// evaluated.
func TestAccountEveryLeadLeaves(t *testing.T) {
	published, draft := accountRulesOf(t, "none.example", 30), accountRulesOf(t, "acme.example", 30)
	leads := population()
	delete(leads, "p1@partner.example")
	acme := scoring.AccountIDForDomain("acme.example")
	stored0 := storedAccounts(t, leads, published)
	delete(stored0, scoring.AccountIDForDomain("beta.example"))
	var outcomes []Outcome
	for email, h := range leads {
		outcomes = append(outcomes, Lead("ld_"+email, "", stored(h, published), h, published, draft, now))
	}
	s := Accounts(outcomes, stored0, draft, now)
	a := findAccount(s.WouldUnqualify, acme)
	if a.Before.Stage != scoring.AccountStageMQA || a.After.Stage != scoring.AccountStageAccount || a.After.EngagedContacts != 0 {
		t.Fatalf("acme: %+v; want mqa -> account with no engaged contact", a)
	}
	if s.StageChanges["mqa->account"] != 1 || s.WouldUnqualifyCount != 1 || s.WouldUnqualify[0].AccountID != acme {
		t.Errorf("summary %+v; want acme unqualified", s)
	}
	// Without acme stored and with no lead under the draft, nothing to do.
	delete(stored0, acme)
	if outs := AccountOutcomes(outcomes, stored0, draft, now); len(outs) != 1 || outs[0].AccountID == acme {
		t.Errorf("accounts evaluated %+v; want only beta", outs)
	}
}

// TestAccountNeverEvaluatedBackwards: an account evaluated after the
// preview's clock is evaluated at its own time, as publishing would.
func TestAccountNeverEvaluatedBackwards(t *testing.T) {
	r := accountRulesOf(t, "none.example", 30)
	later := now.Add(time.Hour)
	st := &StoredAccount{State: scoring.NewAccountState("ac_1"), EvaluatedAt: later, Before: AccountSnapshot{Stage: scoring.AccountStageAccount}}
	var ms []scoring.AccountMember
	for i := range 3 {
		ms = append(ms, scoring.AccountMember{LeadID: fmt.Sprint("ld_", i), AccountID: "ac_1", Engagement: 20, Stage: scoring.StageLead, At: now,
			Attributes: []scoring.AccountAttribute{{Key: "industry", Value: "software", At: now, EventID: "e"}}})
	}
	o := Account("ac_1", st, ms, r, now)
	res := scoring.EvaluateAccount(r, st.State, ms, later)
	if o.After.Stage != scoring.AccountStageMQA || !res.State.Milestones().MQAAt.Equal(later) {
		t.Fatalf("outcome %+v, evaluation at the later time %v", o, res.State.Milestones())
	}
}

func TestClassifyAccount(t *testing.T) {
	cases := []struct {
		before, after scoring.AccountStage
		want          Kind
	}{
		{"account", "mqa", Qualifies},
		{"account", "opportunity", Qualifies},
		{"account", "customer", Qualifies},
		{"mqa", "account", Unqualifies},
		{"opportunity", "account", Unqualifies},
		{"mqa", "opportunity", Unchanged},
		{"opportunity", "mqa", Unchanged},
		{"mqa", "mqa", Unchanged},
		{"account", "account", Unchanged},
	}
	for _, c := range cases {
		o := AccountOutcome{Before: AccountSnapshot{Stage: c.before}, After: AccountSnapshot{Stage: c.after}}
		if got := ClassifyAccount(o); got != c.want {
			t.Errorf("%s -> %s: %v, want %v", c.before, c.after, got, c.want)
		}
	}
}

// TestSummarizeAccounts: counts agree with the outcomes, the lists are
// bounded and by engagement, and the order of the accounts does not
// matter.
func TestSummarizeAccounts(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 1))
	stages := []scoring.AccountStage{"account", "mqa", "opportunity", "customer"}
	for trial := range 30 {
		var os []AccountOutcome
		for i := range rng.IntN(500) {
			os = append(os, AccountOutcome{AccountID: fmt.Sprintf("ac_%03d", i),
				Before: AccountSnapshot{Stage: stages[rng.IntN(4)], Engagement: float64(rng.IntN(300))},
				After:  AccountSnapshot{Stage: stages[rng.IntN(4)], Engagement: float64(rng.IntN(300))}})
		}
		s := SummarizeAccounts(append([]AccountOutcome(nil), os...))
		shuffled := append([]AccountOutcome(nil), os...)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if !reflect.DeepEqual(s, SummarizeAccounts(shuffled)) {
			t.Fatalf("trial %d: the summary depends on the order of the accounts", trial)
		}
		var q, u, moves, counted int
		for _, o := range os {
			switch ClassifyAccount(o) {
			case Qualifies:
				q++
			case Unqualifies:
				u++
			}
			if o.Before.Stage != o.After.Stage {
				moves++
			}
		}
		for _, n := range s.StageChanges {
			counted += n
		}
		if s.Accounts != len(os) || s.WouldQualifyCount != q || s.WouldUnqualifyCount != u || counted != moves ||
			len(s.WouldQualify) != min(q, ListMax) || len(s.WouldUnqualify) != min(u, ListMax) {
			t.Fatalf("trial %d: %d accounts, %d/%d qualify, %d/%d unqualify, %d moves; want %d, %d, %d, %d",
				trial, s.Accounts, len(s.WouldQualify), s.WouldQualifyCount, len(s.WouldUnqualify), s.WouldUnqualifyCount, counted, len(os), q, u, moves)
		}
		for i := 1; i < len(s.WouldQualify); i++ {
			if s.WouldQualify[i].After.Engagement > s.WouldQualify[i-1].After.Engagement {
				t.Fatalf("trial %d: would_qualify not by engagement", trial)
			}
		}
	}
}

// TestSummaryListsLeaveTheAccountOut: the lead lists of the answer carry
// no account summary (attributes are the accounts part's business).
func TestSummaryListsLeaveTheAccountOut(t *testing.T) {
	m := scoring.AccountMember{AccountID: "ac_1", Attributes: []scoring.AccountAttribute{{Key: "name", Value: "Acme"}}}
	o := Outcome{LeadID: "ld_1", Before: Snapshot{Stage: "lead"}, After: Snapshot{Stage: "mql", Engagement: 90}, Account: &m, AccountBefore: "ac_1"}
	s := Summarize([]Outcome{o}, Bar{}, Bar{})
	if len(s.WouldQualify) != 1 || s.WouldQualify[0].Account != nil || s.WouldQualify[0].AccountBefore != "" {
		t.Fatalf("would qualify %+v; want the lead without its account summary", s.WouldQualify)
	}
}

func findAccount(outs []AccountOutcome, id string) AccountOutcome {
	for _, o := range outs {
		if o.AccountID == id {
			return o
		}
	}
	return AccountOutcome{}
}
