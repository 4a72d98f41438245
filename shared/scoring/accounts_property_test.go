package scoring

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const accountPropertyRules = `
engagement:
  decay: {%s}
  groups: {web: {max: 25}}
  rules:
    - {id: view, event: page_view, points: 2, max_per_day: 3, group: web}
    - {id: pricing, event: page_view, where: {url: {prefix: /pricing}}, points: 7}
    - {id: careers, event: page_view, where: {url: {contains: careers}}, points: -6}
    - {id: demo, event: demo_request, points: 30, max_total: 1}
    - {id: webinar, event: webinar_attend, points: 12}
mql: {fit_min: 0, engagement_min: 40, instant_on: [demo_request]}
nurture: {after_days_in_mql: 5}
expiry: {after_days_inactive: 20}
accounts:
  fit:
    - {id: software, field: industry, match: {in: [software, fintech]}, points: 30}
    - {id: mid, field: company_size, match: {gte: 200, lt: 5000}, points: 20}
    - {id: named, field: name, match: {exists: true}, points: 5}
  engagement: {per_contact_max: 40, engaged_min: 10, breadth_points: 7, breadth_max: 20}
  mqa: {fit_min: 30, engagement_min: 60, engaged_contacts_min: 2}
`

// The oracle's copy of the section above, written out by hand.
const (
	oPerContactMax, oEngagedMin, oBreadthPoints, oBreadthMax = 40.0, 10.0, 7.0, 20.0
	oMQAFit, oMQAEngagement, oMQAContacts                    = 30.0, 60.0, 2
)

type popLead struct {
	id     string
	email  string
	events []Event
}

// randomPopulation draws leads at a few companies: some events name an
// account_id (one of them equal to acme.io's derived id), some carry account
// or lead objects, some are sales outcomes, on a coarse time grid so that
// equal occurred_at (the event_id tie-break) is common.
func randomPopulation(rng *rand.Rand, end time.Time) []popLead {
	domains := []string{"acme.io", "beta.com", "gmail.com"}
	accountIDs := []string{"sf-1", "sf-2", AccountIDForDomain("acme.io")}
	pick := func(xs ...any) any { return xs[rng.IntN(len(xs))] }
	leads := make([]popLead, 1+rng.IntN(12))
	for li := range leads {
		l := &leads[li]
		l.id = "ld_" + strconv.Itoa(li)
		l.email = "p" + strconv.Itoa(li) + "@" + domains[rng.IntN(len(domains))]
		for i := range 1 + rng.IntN(30) {
			e := Event{EventID: "e" + strconv.Itoa(rng.IntN(50)) + "-" + l.id + "-" + strconv.Itoa(i), Email: l.email,
				OccurredAt: end.Add(-time.Duration(rng.IntN(40*4)) * 6 * time.Hour)}
			switch k := rng.IntN(20); {
			case k < 12:
				e.Type = "page_view"
				e.Properties = map[string]any{"url": pick("/", "/pricing", "/careers", "/blog")}
			case k < 14:
				e.Type = "demo_request"
			case k < 16:
				e.Type = "webinar_attend"
			default:
				e.Type = pick(TypeSalesAccepted, TypeDealWon, TypeDealLost, TypeSalesRejected).(string)
			}
			if rng.IntN(4) == 0 {
				e.AccountID = accountIDs[rng.IntN(len(accountIDs))]
			}
			if rng.IntN(3) == 0 {
				e.Account = map[string]any{}
				for _, k := range []string{"industry", "company_size", "name", "domain"} {
					if rng.IntN(2) == 0 {
						e.Account[k] = map[string]any{"industry": pick("Software", "retail", "fintech", ""),
							"company_size": pick(50.0, 300.0, 6000.0), "name": pick("Acme", "Beta"), "domain": pick("acme.io", "acme.com")}[k]
					}
				}
			}
			if rng.IntN(3) == 0 {
				e.Lead = map[string]any{"company": pick("Acme Corp", "Beta LLC", ""), "industry": pick("software", "retail"),
					"company_size": pick(250.0, 20.0), "job_title": "VP"}
			}
			l.events = append(l.events, e)
		}
	}
	return leads
}

// systemMembers runs each lead through State as the score function would:
// shuffled batches, evaluated and stored between batches, then summarized.
func systemMembers(t *testing.T, rng *rand.Rand, r *Rules, leads []popLead, now time.Time) []AccountMember {
	var members []AccountMember
	for _, l := range leads {
		s := NewLeadState()
		evs := slices.Clone(l.events)
		rng.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
		for len(evs) > 0 {
			k := 1 + rng.IntN(len(evs))
			s.Apply(evs[:k], r)
			s.Evaluate(r, now)
			s = roundTrip(t, s)
			evs = evs[k:]
		}
		members = append(members, s.AccountMember(l.id, r, now))
	}
	return members
}

// oracleAccounts computes docs/scoring.md section 7 from the raw event sets,
// with none of the state's machinery, given the leads' stages.
type oracleAccount struct {
	attrs   map[string]any
	fit     float64
	eng     float64
	n       int
	stage   AccountStage
	members []string
}

func oracleMembership(l popLead) string {
	var best *Event
	for i := range l.events {
		e := &l.events[i]
		if e.AccountID == "" {
			continue
		}
		if best == nil || e.OccurredAt.After(best.OccurredAt) || (e.OccurredAt.Equal(best.OccurredAt) && e.EventID > best.EventID) {
			best = e
		}
	}
	if best != nil {
		return best.AccountID
	}
	domain := l.email[strings.IndexByte(l.email, '@')+1:]
	if slices.Contains(builtinLists["free_email_domains"], domain) {
		return ""
	}
	return AccountIDForDomain(domain)
}

func oracleAttributes(leads []popLead) map[string]any {
	type val struct {
		v  any
		at time.Time
		id string
	}
	best := map[string]val{}
	offer := func(k string, v any, e *Event) {
		if v == nil || v == "" {
			return
		}
		cur, ok := best[k]
		if !ok || e.OccurredAt.After(cur.at) || (e.OccurredAt.Equal(cur.at) && e.EventID > cur.id) {
			best[k] = val{v, e.OccurredAt, e.EventID}
		}
	}
	domains := map[string]int{}
	for _, l := range leads {
		if d := l.email[strings.IndexByte(l.email, '@')+1:]; !slices.Contains(builtinLists["free_email_domains"], d) {
			domains[d]++
		}
		for i := range l.events {
			e := &l.events[i]
			for k, v := range e.Account {
				offer(k, v, e)
			}
			for lk, ak := range map[string]string{"company": "name", "company_size": "company_size", "industry": "industry", "country": "country", "annual_revenue": "annual_revenue"} {
				if v, ok := e.Account[ak]; !ok || v == "" {
					offer(ak, e.Lead[lk], e)
				}
			}
		}
	}
	attrs := map[string]any{}
	for k, v := range best {
		attrs[k] = v.v
	}
	if _, ok := attrs["domain"]; !ok {
		top := ""
		for d, c := range domains {
			if c > domains[top] || (c == domains[top] && d < top) {
				top = d
			}
		}
		if top != "" {
			attrs["domain"] = top
		}
	}
	return attrs
}

func oracleAccountOf(c *compiled, leads []popLead, stages map[string]Stage, now time.Time) oracleAccount {
	o := oracleAccount{attrs: oracleAttributes(leads), stage: AccountStageAccount}
	if ind, _ := o.attrs["industry"].(string); strings.EqualFold(ind, "software") || strings.EqualFold(ind, "fintech") {
		o.fit += 30
	}
	if size, ok := o.attrs["company_size"].(float64); ok && size >= 200 && size < 5000 {
		o.fit += 20
	}
	if _, ok := o.attrs["name"]; ok {
		o.fit += 5
	}
	var sum float64
	anySQL, anyCustomer, allQuiet := false, false, true
	for _, l := range leads {
		o.members = append(o.members, l.id)
		e := round2(oracleEngagement(c, l.events, now))
		sum += math.Min(e, oPerContactMax)
		if e >= oEngagedMin {
			o.n++
		}
		switch stages[l.id] {
		case StageSQL:
			anySQL = true
		case StageCustomer:
			anyCustomer = true
		case StageNurture, StageDisqualified, StageExpired:
		default:
			allQuiet = false
		}
	}
	o.eng = round2(sum + math.Min(oBreadthPoints*math.Max(0, float64(o.n-1)), oBreadthMax))
	// The stage table, from a new account, until nothing moves.
	for moved := true; moved; {
		moved = true
		switch {
		case o.stage != AccountStageCustomer && anyCustomer:
			o.stage = AccountStageCustomer
		case (o.stage == AccountStageAccount || o.stage == AccountStageMQA) && anySQL:
			o.stage = AccountStageOpportunity
		case o.stage == AccountStageOpportunity && !anySQL && !anyCustomer:
			o.stage = AccountStageMQA
		case o.stage == AccountStageMQA && allQuiet:
			o.stage = AccountStageAccount
		case o.stage == AccountStageAccount && !allQuiet && o.fit >= oMQAFit && o.eng >= oMQAEngagement && o.n >= oMQAContacts:
			o.stage = AccountStageMQA
		default:
			moved = false
		}
	}
	return o
}

func TestAccountsMatchOracle(t *testing.T) {
	iterations := 150
	if testing.Short() {
		iterations = 30
	}
	end := time.Date(2026, 5, 1, 18, 0, 0, 0, time.UTC)
	// What the populations covered: every stage, capped and breadth-capped
	// accounts, leads in no account. A generator that stopped producing
	// them would make this test pass for nothing.
	seen := map[string]int{}
	for _, form := range []string{"none: true", "expire_after_days: 10", "half_life_days: 7"} {
		r := mustRules(t, sprintf(accountPropertyRules, form))
		rng := rand.New(rand.NewPCG(7, uint64(len(form))))
		for it := range iterations {
			leads := randomPopulation(rng, end)
			now := end.Add(time.Duration(rng.IntN(10*24)) * time.Hour)
			members := systemMembers(t, rng, r, leads, now)
			stages := map[string]Stage{}
			for _, m := range members {
				stages[m.LeadID] = m.Stage
			}
			byAccount := map[string][]popLead{}
			for i, l := range leads {
				id := oracleMembership(l)
				if members[i].AccountID != id {
					t.Fatalf("%s #%d: lead %s in %q, oracle %q", form, it, l.id, members[i].AccountID, id)
				}
				if id != "" {
					byAccount[id] = append(byAccount[id], l)
				} else {
					seen["no account"]++
				}
			}
			for id, group := range byAccount {
				want := oracleAccountOf(r.c, group, stages, now)
				shuffled := slices.Clone(members)
				rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
				got := EvaluateAccount(r, NewAccountState(id), shuffled, now)
				if !reflect.DeepEqual(got.Attributes, want.attrs) {
					t.Fatalf("%s #%d %s: attributes %v, oracle %v", form, it, id, got.Attributes, want.attrs)
				}
				if got.Score.Fit != want.fit || got.EngagedContacts != want.n || math.Abs(got.Score.Engagement-want.eng) > 1e-9 || got.Stage != want.stage {
					t.Fatalf("%s #%d %s: fit %v eng %v n %d stage %s; oracle fit %v eng %v n %d stage %s",
						form, it, id, got.Score.Fit, got.Score.Engagement, got.EngagedContacts, got.Stage, want.fit, want.eng, want.n, want.stage)
				}
				if len(got.Breakdown.Leads) != len(want.members) {
					t.Fatalf("%s #%d %s: %d leads, oracle %d", form, it, id, len(got.Breakdown.Leads), len(want.members))
				}
				checkBreakdownSums(t, got)
				seen[string(got.Stage)]++
				if got.Breakdown.Breadth == oBreadthMax {
					seen["breadth cap"]++
				}
				for _, l := range got.Breakdown.Leads {
					if l.Counted < l.Engagement {
						seen["per-contact cap"]++
					}
					if l.Counted < 0 {
						seen["negative contact"]++
					}
				}
				// The input order of members does not matter.
				again := EvaluateAccount(r, NewAccountState(id), members, now)
				got.State, again.State = nil, nil
				if !reflect.DeepEqual(got, again) {
					t.Fatalf("%s #%d %s: result depends on member order", form, it, id)
				}
			}
		}
	}
	for _, k := range []string{"account", "mqa", "opportunity", "customer", "no account", "breadth cap", "per-contact cap", "negative contact"} {
		if seen[k] == 0 {
			t.Errorf("no population covered %q (%v)", k, seen)
		}
	}
	t.Logf("covered %v", seen)
}
