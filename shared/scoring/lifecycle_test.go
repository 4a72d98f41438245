package scoring

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const lifecycleRules = `
fit:
  - {id: director, field: job_title, match: {contains: director}, points: 45}
  - {id: intern, field: job_title, match: {contains: intern}, points: 30}
engagement:
  decay: {none: true}
  rules:
    - {id: webinar, event: webinar_attend, points: 30}
    - {id: careers, event: page_view, where: {url: {contains: careers}}, points: -20}
    - {id: demo, event: demo_request, points: 5}
mql: {fit_min: 40, engagement_min: 50, instant_on: [demo_request]}
nurture: {after_days_in_mql: 14}
expiry: {after_days_inactive: 180}
`

// t0 is the start of every lifecycle story: 2026-01-01 10:00 UTC.
var t0 = time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)

func at(days int, hours ...int) time.Time {
	t := t0.AddDate(0, 0, days)
	for _, h := range hours {
		t = t.Add(time.Duration(h) * time.Hour)
	}
	return t
}

func person(title string, when time.Time) Event {
	e := ev("form_submit", when, nil)
	e.Lead = map[string]any{"job_title": title}
	return e
}

func typed(typ string, when time.Time) Event { return ev(typ, when, nil) }

type step struct {
	events  []Event
	now     time.Time
	want    Stage
	reasons []string // reasons of the transitions this evaluation decides
}

func runStory(t *testing.T, r *Rules, steps []step) *State {
	t.Helper()
	s := NewState()
	for i, st := range steps {
		s.Apply(st.events, r)
		res := s.Evaluate(r, st.now)
		var reasons []string
		for _, tr := range res.Transitions {
			reasons = append(reasons, tr.Reason)
			if !tr.At.Equal(st.now) || tr.RulesVersion != r.Version {
				t.Errorf("step %d: transition %+v at/version", i, tr)
			}
		}
		if res.Stage != st.want || s.Stage() != st.want || !slices.Equal(reasons, st.reasons) {
			t.Fatalf("step %d: stage %s (want %s), reasons %q (want %q); score %+v", i, res.Stage, st.want, reasons, st.reasons, res.Score)
		}
		// Evaluating again at the same instant decides nothing more.
		if again := s.Evaluate(r, st.now); len(again.Transitions) != 0 || again.Stage != st.want {
			t.Fatalf("step %d: second evaluation moved: %+v", i, again.Transitions)
		}
	}
	return s
}

// TestLifecycle is one table, a row per line of the lifecycle table and per
// decision in the README; its length is the rows, kept together so the
// table reads as the contract does.
func TestLifecycle(t *testing.T) {
	r := mustRules(t, lifecycleRules).WithVersion(3)
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"visitor stays visitor without an email", []step{
			{[]Event{{EventID: "v1", Type: "webinar_attend", OccurredAt: at(0), AnonymousID: "cookie"}}, at(0, 1), StageVisitor, nil},
		}},
		// lead -> mql: fit 45 >= 40 and engagement 30 + 30 = 60 >= 50.
		{"lead to mql on scores", []step{
			{[]Event{person("Director", at(0)), typed("webinar_attend", at(0))}, at(0, 1), StageLead, []string{"identified by email"}},
			{[]Event{typed("webinar_attend", at(1))}, at(1, 1), StageMQL, []string{"fit 45 >= 40 and engagement 60 >= 50"}},
		}},
		// Hand-raise with fit 45: mql at once, whatever the engagement (5).
		{"lead to mql on instant_on", []step{
			{[]Event{person("Director", at(0)), typed("demo_request", at(0))}, at(0, 1), StageMQL, []string{"identified by email", "instant_on demo_request"}},
		}},
		// Hand-raise with fit 30 < 40: stays lead; when the fit rises
		// (promotion), the hand-raise it holds makes it an mql.
		{"instant_on needs fit", []step{
			{[]Event{person("Intern", at(0)), typed("demo_request", at(0))}, at(0, 1), StageLead, []string{"identified by email"}},
			{[]Event{person("Director", at(5))}, at(5, 1), StageMQL, []string{"instant_on demo_request"}},
		}},
		// A score falling back under the threshold does not demote.
		{"no demotion", []step{
			{[]Event{person("Director", at(0)), typed("webinar_attend", at(0)), typed("webinar_attend", at(0))}, at(0, 1), StageMQL, []string{"identified by email", "fit 45 >= 40 and engagement 60 >= 50"}},
			{[]Event{ev("page_view", at(1), map[string]any{"url": "/careers"})}, at(1, 1), StageMQL, nil},
		}},
		// mql -> nurture after 14 whole days (day 13: not yet).
		{"mql to nurture", []step{
			{[]Event{person("Director", at(0)), typed("demo_request", at(0))}, at(0, 1), StageMQL, []string{"identified by email", "instant_on demo_request"}},
			{nil, at(13, 13), StageMQL, nil},
			{nil, at(14, -10), StageNurture, []string{"no sales decision in 14 days"}},
		}},
		// nurture -> mql: engagement before the nurture day does not count
		// (60 earned before); 30 + 30 on or after the nurture day does.
		{"nurture back to mql on fresh engagement", []step{
			{[]Event{person("Director", at(0)), typed("webinar_attend", at(0)), typed("webinar_attend", at(0))}, at(0, 1), StageMQL, []string{"identified by email", "fit 45 >= 40 and engagement 60 >= 50"}},
			{nil, at(14), StageNurture, []string{"no sales decision in 14 days"}},
			{[]Event{typed("webinar_attend", at(20))}, at(20, 1), StageNurture, nil},
			{[]Event{typed("webinar_attend", at(21))}, at(21, 1), StageMQL, []string{"fit 45 >= 40 and engagement since nurture 60 >= 50"}},
		}},
		// nurture -> mql on a hand-raise after entering nurture; the one
		// that made it an mql the first time does not count again.
		{"nurture back to mql on instant_on", []step{
			{[]Event{person("Director", at(0)), typed("demo_request", at(0))}, at(0, 1), StageMQL, []string{"identified by email", "instant_on demo_request"}},
			{nil, at(14), StageNurture, []string{"no sales decision in 14 days"}},
			{[]Event{typed("demo_request", at(30))}, at(30, 1), StageMQL, []string{"instant_on demo_request"}},
		}},
		{"sales accepted, won", []step{
			{[]Event{person("Intern", at(0))}, at(0, 1), StageLead, []string{"identified by email"}},
			{[]Event{typed("sales_accepted", at(2))}, at(2, 1), StageSQL, []string{"sales_accepted"}},
			{[]Event{typed("deal_won", at(40))}, at(40, 1), StageCustomer, []string{"deal_won"}},
			// customers stay: rejection and time do nothing...
			{[]Event{typed("sales_rejected", at(41))}, at(400), StageCustomer, nil},
			// ...only a new sales_accepted moves them.
			{[]Event{typed("sales_accepted", at(401))}, at(401, 1), StageSQL, []string{"sales_accepted"}},
		}},
		{"sales accepted, lost, nurture", []step{
			{[]Event{person("Director", at(0)), typed("demo_request", at(0))}, at(0, 1), StageMQL, []string{"identified by email", "instant_on demo_request"}},
			{[]Event{typed("sales_accepted", at(1))}, at(1, 1), StageSQL, []string{"sales_accepted"}},
			{[]Event{typed("deal_lost", at(30))}, at(30, 1), StageNurture, []string{"deal_lost"}},
		}},
		{"rejected, then accepted", []step{
			{[]Event{person("Director", at(0)), typed("sales_rejected", at(0))}, at(0, 1), StageDisqualified, []string{"identified by email", "sales_rejected"}},
			{[]Event{typed("demo_request", at(3))}, at(3, 1), StageDisqualified, nil},
			{[]Event{typed("sales_accepted", at(4))}, at(4, 1), StageSQL, []string{"sales_accepted"}},
		}},
		// Outcomes apply in occurred_at order whatever the delivery order:
		// deal_won (day 5) arrives before sales_accepted (day 3).
		{"outcomes out of order", []step{
			{[]Event{person("Director", at(0))}, at(0, 1), StageLead, []string{"identified by email"}},
			{[]Event{typed("deal_won", at(5))}, at(5, 1), StageLead, nil},
			{[]Event{typed("sales_accepted", at(3))}, at(5, 2), StageCustomer, []string{"sales_accepted", "deal_won"}},
			// A late rejection from before the acceptance is stale.
			{[]Event{typed("sales_rejected", at(2))}, at(5, 3), StageCustomer, nil},
		}},
		// expiry: 180 whole days without any event (day 179: not yet).
		{"expiry", []step{
			{[]Event{person("Intern", at(0))}, at(0, 1), StageLead, []string{"identified by email"}},
			{nil, at(179, 13), StageLead, nil},
			{nil, at(180, -10), StageExpired, []string{"inactive 180 days"}},
			// any new event: back to lead, and the mql rule is checked at
			// once (an intern's hand-raise: fit 30, stays lead).
			{[]Event{typed("demo_request", at(200))}, at(200, 1), StageLead, []string{"active again after expiry"}},
		}},
		{"expired back to mql at once", []step{
			{[]Event{person("Director", at(0)), typed("demo_request", at(0))}, at(0, 1), StageMQL, []string{"identified by email", "instant_on demo_request"}},
			{[]Event{typed("sales_accepted", at(1)), typed("deal_lost", at(2))}, at(2, 1), StageNurture, []string{"sales_accepted", "deal_lost"}},
			{nil, at(182), StageExpired, []string{"inactive 180 days"}},
			// The old hand-raise (day 0) does not count after expiry; a new one does.
			{[]Event{typed("webinar_attend", at(190))}, at(190, 1), StageLead, []string{"active again after expiry"}},
			{[]Event{typed("demo_request", at(191))}, at(191, 1), StageMQL, []string{"instant_on demo_request"}},
		}},
		// An old event delivered late does not revive an expired lead.
		{"late old event does not revive", []step{
			{[]Event{person("Intern", at(0))}, at(0, 1), StageLead, []string{"identified by email"}},
			{nil, at(181), StageExpired, []string{"inactive 180 days"}},
			{[]Event{typed("webinar_attend", at(10))}, at(181, 1), StageExpired, nil},
		}},
		// sql does not expire or nurture.
		{"sql waits", []step{
			{[]Event{person("Director", at(0)), typed("sales_accepted", at(0))}, at(0, 1), StageSQL, []string{"identified by email", "sales_accepted"}},
			{nil, at(1000), StageSQL, nil},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { runStory(t, r, tc.steps) })
	}
}

func TestMilestonesAndHistory(t *testing.T) {
	r := mustRules(t, lifecycleRules)
	s := runStory(t, r, []step{
		{[]Event{person("Director", at(0)), typed("demo_request", at(0))}, at(0, 1), StageMQL, []string{"identified by email", "instant_on demo_request"}},
		{nil, at(14), StageNurture, []string{"no sales decision in 14 days"}},
		{[]Event{typed("demo_request", at(20))}, at(20, 1), StageMQL, []string{"instant_on demo_request"}},
		{[]Event{typed("sales_accepted", at(21))}, at(21, 1), StageSQL, []string{"sales_accepted"}},
		{[]Event{typed("deal_won", at(22))}, at(22, 1), StageCustomer, []string{"deal_won"}},
	})
	ms := s.Milestones()
	// mql_at is the first time (day 0), nurture_at the latest entry.
	if !ms.MQLAt.Equal(at(0, 1)) || !ms.NurtureAt.Equal(at(14)) || !ms.SQLAt.Equal(at(21, 1)) || !ms.CustomerAt.Equal(at(22, 1)) {
		t.Errorf("milestones %+v", ms)
	}
	h := s.History()
	var path []Stage
	for _, tr := range h {
		path = append(path, tr.To)
	}
	if want := []Stage{StageLead, StageMQL, StageNurture, StageMQL, StageSQL, StageCustomer}; !slices.Equal(path, want) {
		t.Errorf("history %v", path)
	}
	if h[0].From != StageVisitor || !s.StageSince().Equal(at(22, 1)) {
		t.Errorf("history[0] %+v, since %v", h[0], s.StageSince())
	}
}

func TestDueAt(t *testing.T) {
	r := mustRules(t, lifecycleRules)
	s := NewState()
	s.Apply([]Event{person("Intern", at(0, 3))}, r)
	// lead: due at the expiry deadline, midnight UTC 180 days after the last day.
	if due := s.Evaluate(r, at(0, 5)).DueAt; !due.Equal(time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("lead due %v", due)
	}
	s.Apply([]Event{person("Director", at(2)), typed("demo_request", at(2))}, r)
	// mql: nurture deadline (day 2 + 14) comes before expiry (day 2 + 180).
	if res := s.Evaluate(r, at(2, 1)); res.Stage != StageMQL || !res.DueAt.Equal(time.Date(2026, 1, 17, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("mql due %v (%s)", res.DueAt, res.Stage)
	}
	s.Apply([]Event{typed("sales_accepted", at(3))}, r)
	if res := s.Evaluate(r, at(3, 1)); !res.DueAt.IsZero() {
		t.Errorf("sql due %v", res.DueAt)
	}

	// Decay alone crossing the threshold: expire_after_days 30. Fit 45;
	// webinar x2 today = 60, careers 10 days ago = -20: 40 < 50. The careers
	// visit stops counting at age 30, 20 days from now: due then.
	r2 := mustRules(t, `
fit: [{id: director, field: job_title, match: {contains: director}, points: 45}]
engagement:
  decay: {expire_after_days: 30}
  rules:
    - {id: webinar, event: webinar_attend, points: 30}
    - {id: careers, event: page_view, where: {url: {contains: careers}}, points: -20}
mql: {fit_min: 40, engagement_min: 50}
expiry: {after_days_inactive: 180}
`)
	s = NewState()
	s.Apply([]Event{person("Director", at(10)), ev("page_view", at(0), map[string]any{"url": "/careers"}),
		typed("webinar_attend", at(10)), typed("webinar_attend", at(10))}, r2)
	res := s.Evaluate(r2, at(10, 1))
	if res.Stage != StageLead || res.Score.Engagement != 40 || !res.DueAt.Equal(dayStart(dayOf(at(30)))) {
		t.Errorf("decay crossing: %s %v due %v, want %v", res.Stage, res.Score.Engagement, res.DueAt, dayStart(dayOf(at(30))))
	}
	// At that moment the sweep makes it an mql.
	if res := s.Evaluate(r2, res.DueAt); res.Stage != StageMQL {
		t.Errorf("at due: %s %v", res.Stage, res.Score)
	}
}

func TestRebuildKeepsLifecycle(t *testing.T) {
	r := mustRules(t, lifecycleRules).WithVersion(1)
	evs := []Event{person("Director", at(0)), typed("demo_request", at(0)), typed("sales_accepted", at(1)), typed("webinar_attend", at(2))}
	s := NewState()
	s.Apply(evs, r)
	s.Evaluate(r, at(2, 1))
	if s.Stage() != StageSQL {
		t.Fatalf("stage %s", s.Stage())
	}
	// New version: webinars are worth 50.
	r2 := mustRules(t, replace(lifecycleRules, "points: 30}\n    - {id: careers", "points: 50}\n    - {id: careers")).WithVersion(2)
	s.Rebuild(evs, r2)
	res := s.Evaluate(r2, at(2, 1))
	// 50 + 5 (demo) = 55; the sales_accepted is not applied a second time.
	// History: visitor->lead, lead->sql (a sales decision in the same
	// evaluation wins over the hand-raise).
	if res.Score.Engagement != 55 || res.Stage != StageSQL || len(res.Transitions) != 0 || len(s.History()) != 2 || s.RulesVersion() != 2 {
		t.Errorf("after rebuild: %+v, history %d", res, len(s.History()))
	}
}

func replace(s, old, new string) string {
	if !strings.Contains(s, old) {
		panic("replace: not found: " + old)
	}
	return strings.Replace(s, old, new, 1)
}

func TestNewLeadStateStartsAsLead(t *testing.T) {
	r := mustRules(t, lifecycleRules).WithVersion(3)
	s := NewLeadState()
	s.Apply([]Event{person("Intern", at(0))}, r)
	res := s.Evaluate(r, at(0, 1))
	if res.Stage != StageLead || len(res.Transitions) != 0 || len(s.History()) != 0 {
		t.Fatalf("stage %s, transitions %v, history %v: want lead with nothing recorded", res.Stage, res.Transitions, s.History())
	}
	// The first real move is the first entry; it survives an encoding round trip.
	s.Apply([]Event{person("Director", at(1)), typed("demo_request", at(1))}, r)
	res = s.Evaluate(r, at(1, 1))
	if len(res.Transitions) != 1 || res.Transitions[0].From != StageLead || res.Transitions[0].To != StageMQL {
		t.Fatalf("transitions %+v, want one lead -> mql", res.Transitions)
	}
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	back := NewState()
	if err := back.UnmarshalBinary(b); err != nil || back.Stage() != StageMQL || len(back.History()) != 1 {
		t.Fatalf("round trip: stage %s, history %v, err %v", back.Stage(), back.History(), err)
	}
}

// A lead whose history is full (the oldest entries are dropped) still gets
// the transitions an evaluation decides.
func TestFullHistoryStillReturnsTransitions(t *testing.T) {
	r := mustRules(t, lifecycleRules)
	s := NewLeadState()
	for i := range maxHistory {
		s.history = append(s.history, Transition{From: StageLead, To: StageLead, At: at(0), Reason: "filler " + strconv.Itoa(i)})
	}
	s.Apply([]Event{person("Director", at(1)), typed("demo_request", at(1))}, r)
	res := s.Evaluate(r, at(1, 1))
	if len(res.Transitions) != 1 || res.Transitions[0].To != StageMQL || len(s.History()) != maxHistory {
		t.Fatalf("transitions %+v, history %d", res.Transitions, len(s.History()))
	}
}
