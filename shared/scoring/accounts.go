package scoring

import (
	"cmp"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"time"
)

// AccountStage is an account's stage (docs/scoring.md section 7).
type AccountStage string

// The account stages.
const (
	AccountStageAccount     AccountStage = "account"
	AccountStageMQA         AccountStage = "mqa"
	AccountStageOpportunity AccountStage = "opportunity"
	AccountStageCustomer    AccountStage = "customer"
)

func (s AccountStage) valid() bool {
	switch s {
	case AccountStageAccount, AccountStageMQA, AccountStageOpportunity, AccountStageCustomer:
		return true
	}
	return false
}

// AccountTransition is one account stage change. The caller derives its
// transition id from the account id, From, To and At, which are the same
// every time the same change is decided again.
type AccountTransition struct {
	From         AccountStage `json:"from"`
	To           AccountStage `json:"to"`
	At           time.Time    `json:"at"`
	Reason       string       `json:"reason"`
	RulesVersion int          `json:"rules_version"`
}

// AccountMilestones are the first times the account reached each stage.
type AccountMilestones struct {
	MQAAt         time.Time `json:"mqa_at,omitzero"`
	OpportunityAt time.Time `json:"opportunity_at,omitzero"`
	CustomerAt    time.Time `json:"customer_at,omitzero"`
}

// maxAccountHistory bounds an account's stage history; the oldest entries go
// first. Each transition is also an outbox record, so nothing is lost for
// reporting, and account stages move rarely.
const maxAccountHistory = 100

// AccountState is what an account keeps between evaluations: its stage and
// stage history. Scores are not kept: they are a function of the members and
// of now. Immutable: EvaluateAccount returns a new one.
type AccountState struct {
	id         string
	stage      AccountStage
	stageSince time.Time
	history    []AccountTransition
	ms         AccountMilestones
	version    int
}

// NewAccountState is the state of a new account: stage account, no history.
func NewAccountState(id string) *AccountState {
	return &AccountState{id: id, stage: AccountStageAccount}
}

// ID is the account id.
func (a *AccountState) ID() string { return a.id }

// Stage is the current stage.
func (a *AccountState) Stage() AccountStage { return a.stage }

// StageSince is when the current stage was entered (zero for a new account).
func (a *AccountState) StageSince() time.Time { return a.stageSince }

// History returns the stage history, oldest first.
func (a *AccountState) History() []AccountTransition {
	return append([]AccountTransition(nil), a.history...)
}

// Milestones returns the first times the account reached mqa, opportunity
// and customer.
func (a *AccountState) Milestones() AccountMilestones { return a.ms }

// RulesVersion is the version of the rules of the last evaluation.
func (a *AccountState) RulesVersion() int { return a.version }

// accountStateJSON is the stored form. JSON, not the lead's varint format:
// an account item is written once per account evaluation, not per event,
// and its size is dominated by the member summaries the store keeps.
type accountStateJSON struct {
	ID           string              `json:"id"`
	Stage        AccountStage        `json:"stage"`
	StageSince   time.Time           `json:"stage_since,omitzero"`
	History      []AccountTransition `json:"history,omitempty"`
	Milestones   AccountMilestones   `json:"milestones"`
	RulesVersion int                 `json:"rules_version"`
}

// MarshalBinary encodes the state (as JSON) for the account item.
func (a *AccountState) MarshalBinary() ([]byte, error) {
	return json.Marshal(accountStateJSON{a.id, a.stage, a.stageSince, a.history, a.ms, a.version})
}

// UnmarshalBinary decodes what MarshalBinary wrote, rejecting unknown
// stages, an empty id and a history over the bound.
func (a *AccountState) UnmarshalBinary(b []byte) error {
	var j accountStateJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return errors.New("scoring: corrupt account state: " + err.Error())
	}
	if j.ID == "" || !j.Stage.valid() || len(j.History) > maxAccountHistory {
		return errors.New("scoring: corrupt account state: id, stage or history out of range")
	}
	for _, t := range j.History {
		if !t.From.valid() || !t.To.valid() {
			return errors.New("scoring: corrupt account state: unknown stage in history")
		}
	}
	*a = AccountState{j.ID, j.Stage, j.StageSince, j.History, j.Milestones, j.RulesVersion}
	return nil
}

// AccountContribution is one lead's line of the account breakdown.
type AccountContribution struct {
	LeadID string `json:"lead_id"`
	// Engagement is the lead's own engagement; Counted is what the account
	// counts of it (capped at per_contact_max, negative values kept).
	Engagement float64 `json:"engagement"`
	Counted    float64 `json:"counted"`
	// Engaged: the lead's engagement reaches engaged_min.
	Engaged bool  `json:"engaged"`
	Stage   Stage `json:"stage"`
}

// AccountBreakdown explains the account's engagement: the leads' counted
// shares plus Breadth sum to it exactly (every part is in whole cents).
type AccountBreakdown struct {
	Leads   []AccountContribution `json:"leads"`
	Breadth float64               `json:"breadth"`
	// Fit lists every account fit rule in document order, zeros included.
	Fit []Contribution `json:"fit"`
}

// AccountResult is one evaluation of an account.
type AccountResult struct {
	AccountID  string         `json:"account_id"`
	Domain     string         `json:"domain,omitempty"`
	Attributes map[string]any `json:"attributes"`
	Score      Score          `json:"score"`
	// EngagedContacts is n: members whose engagement reaches engaged_min.
	EngagedContacts int              `json:"engaged_contacts"`
	Breakdown       AccountBreakdown `json:"breakdown"`
	Stage           AccountStage     `json:"stage"`
	// Transitions are the ones this evaluation decided (also in
	// State.History()).
	Transitions []AccountTransition `json:"transitions,omitempty"`
	// State is the account's state after this evaluation, to be stored.
	State *AccountState `json:"-"`
}

// EvaluateAccount scores an account from its members' summaries and decides
// its stage (docs/scoring.md section 7). It is pure: prev is not changed
// (nil or a zero AccountState means a new account, its id taken from the
// first member). Members
// whose AccountID is not the account's (leads that moved) are not counted;
// of two summaries of one lead the later (At) counts. Each member's
// Engagement is taken as the lead's engagement at now: pass summaries
// computed at now for the exact score.
func EvaluateAccount(r *Rules, prev *AccountState, members []AccountMember, now time.Time) AccountResult {
	now = now.UTC()
	st := startState(prev, members)
	members = accountMembers(st.id, members)
	a := &r.c.accounts
	attrs := accountAttributes(members)
	domain, _ := attrs["domain"].(string)
	res := AccountResult{AccountID: st.id, Domain: domain, Attributes: attrs}
	fit, fitBD := a.fitScore(attrs)
	res.Breakdown.Fit = fitBD
	res.Score.Fit = fit
	res.Score.Grade = a.gradeOf(fit)
	res.Score.Engagement, res.EngagedContacts, res.Breakdown.Leads, res.Breakdown.Breadth = a.engagement(members)

	ev := accountEvaluation{st: st, a: a, members: members, score: res.Score, n: res.EngagedContacts, now: now, version: r.Version}
	// Each step makes at most one move and the table has no cycle that the
	// checks allow (see step), so a few steps reach the fixed point.
	for range 8 {
		if !ev.step() {
			break
		}
	}
	st.version = r.Version
	// The moves are the last history entries; counted, because a full
	// history keeps its length while taking them.
	if n := min(ev.moves, len(st.history)); n > 0 {
		res.Transitions = append([]AccountTransition(nil), st.history[len(st.history)-n:]...)
	}
	res.Stage = st.stage
	res.State = st
	return res
}

// startState copies prev (or starts a new account) so that EvaluateAccount
// leaves prev as it was. A zero AccountState works like a new one: stage
// account, id from the first member.
func startState(prev *AccountState, members []AccountMember) *AccountState {
	st := NewAccountState("")
	if prev != nil {
		*st = *prev
		st.history = slices.Clone(prev.history)
	}
	if st.id == "" && len(members) > 0 {
		st.id = members[0].AccountID
	}
	if st.stage == "" {
		st.stage = AccountStageAccount
	}
	return st
}

// accountMembers keeps the members of account id, one per lead (the latest
// At; ties: the higher engagement, then the stage name, so the choice does
// not depend on input order), sorted by lead id.
func accountMembers(id string, in []AccountMember) []AccountMember {
	out := make([]AccountMember, 0, len(in))
	for _, m := range in {
		if m.AccountID == id && id != "" {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(x, y AccountMember) int {
		if c := cmp.Compare(x.LeadID, y.LeadID); c != 0 {
			return c
		}
		if c := y.At.Compare(x.At); c != 0 {
			return c
		}
		if c := cmp.Compare(y.Engagement, x.Engagement); c != 0 {
			return c
		}
		return cmp.Compare(y.Stage, x.Stage)
	})
	return slices.CompactFunc(out, func(x, y AccountMember) bool { return x.LeadID == y.LeadID })
}

// accountAttributes takes, per key, the value with the latest stamp across
// the members (ties: greater event_id), and derives domain from the
// members' email domains when no event gave one.
func accountAttributes(members []AccountMember) map[string]any {
	type stamped struct {
		val any
		at  time.Time
		id  string
	}
	latest := map[string]stamped{}
	for _, m := range members {
		for _, a := range m.Attributes {
			if cur, ok := latest[a.Key]; !ok || later(a.At, a.EventID, cur.at, cur.id) {
				latest[a.Key] = stamped{a.Value, a.At, a.EventID}
			}
		}
	}
	attrs := make(map[string]any, len(latest)+1)
	for k, v := range latest {
		attrs[k] = v.val
	}
	if _, given := attrs["domain"]; !given {
		if d := commonDomain(members); d != "" {
			attrs["domain"] = d
		}
	}
	return attrs
}

// commonDomain is the email domain most members share (ties: the
// alphabetically first): for an account keyed by domain, that domain; for
// one named by account_id, its people's company domain.
func commonDomain(members []AccountMember) string {
	count := map[string]int{}
	for _, m := range members {
		if m.Domain != "" {
			count[m.Domain]++
		}
	}
	best := ""
	for d, c := range count {
		if b := count[best]; c > b || (c == b && d < best) {
			best = d
		}
	}
	return best
}

// fitScore is the sum of matching account fit rules, and one breakdown line
// per rule.
func (a *accountRules) fitScore(attrs map[string]any) (float64, []Contribution) {
	bd := make([]Contribution, 0, len(a.fit))
	var sum float64
	for i := range a.fit {
		fr := &a.fit[i]
		p, n := 0.0, 0
		if fr.match.match(attrs[fr.field]) {
			p, n = fr.points, 1
			sum += fr.points
		}
		bd = append(bd, Contribution{Rule: fr.id, Kind: "fit", Description: fr.desc, Points: round2(p), RawPoints: p, Events: n})
	}
	return round2(sum), bd
}

// cents converts a value to whole cents, rounding as round2 does.
func cents(x float64) int64 { return int64(math.Round(round2(x) * 100)) }

// engagement is section 7's account engagement: each lead counted up to
// per_contact_max (negatives kept), plus breadth for each engaged lead
// beyond the first, capped. Every part is rounded to cents first and the
// total is their sum, so the breakdown adds up exactly.
func (a *accountRules) engagement(members []AccountMember) (float64, int, []AccountContribution, float64) {
	leads := make([]AccountContribution, 0, len(members))
	var total int64
	n := 0
	for _, m := range members {
		c := AccountContribution{LeadID: m.LeadID, Engagement: m.Engagement, Stage: m.Stage}
		c.Counted = float64(cents(min(m.Engagement, a.perContactMax))) / 100
		if m.Engagement >= a.engagedMin {
			c.Engaged = true
			n++
		}
		total += cents(c.Counted)
		leads = append(leads, c)
	}
	breadth := float64(cents(min(a.breadthPoints*float64(max(0, n-1)), a.breadthMax))) / 100
	total += cents(breadth)
	// Largest share first, as sales reads the list; lead id breaks ties.
	slices.SortStableFunc(leads, func(x, y AccountContribution) int {
		if c := cmp.Compare(y.Counted, x.Counted); c != 0 {
			return c
		}
		return cmp.Compare(x.LeadID, y.LeadID)
	})
	return float64(total) / 100, n, leads, breadth
}

type accountEvaluation struct {
	st      *AccountState
	a       *accountRules
	members []AccountMember
	score   Score
	n       int
	now     time.Time
	version int
	moves   int
}

func (ev *accountEvaluation) move(to AccountStage, reason string) {
	st := ev.st
	ev.moves++
	st.history = append(st.history, AccountTransition{From: st.stage, To: to, At: ev.now, Reason: reason, RulesVersion: ev.version})
	if len(st.history) > maxAccountHistory {
		st.history = append(st.history[:0], st.history[len(st.history)-maxAccountHistory:]...)
	}
	st.stage, st.stageSince = to, ev.now
	first := func(t *time.Time) {
		if t.IsZero() {
			*t = ev.now
		}
	}
	switch to {
	case AccountStageMQA:
		first(&st.ms.MQAAt)
	case AccountStageOpportunity:
		first(&st.ms.OpportunityAt)
	case AccountStageCustomer:
		first(&st.ms.CustomerAt)
	}
}

// step applies the first row of the account stage table that holds, in the
// table's order of strength: customer, opportunity, deal lost, all leads
// gone quiet, then the MQA thresholds.
func (ev *accountEvaluation) step() bool {
	st, a := ev.st, ev.a
	customer, sql := ev.leadIn(StageCustomer), ev.leadIn(StageSQL)
	switch st.stage {
	case AccountStageAccount, AccountStageMQA, AccountStageOpportunity:
		if customer != "" {
			ev.move(AccountStageCustomer, "lead "+customer+" is customer")
			return true
		}
	}
	switch st.stage {
	case AccountStageAccount, AccountStageMQA:
		if sql != "" {
			ev.move(AccountStageOpportunity, "lead "+sql+" is sql")
			return true
		}
	case AccountStageOpportunity:
		if customer == "" && sql == "" {
			// Without an mqa section there is no MQA stage to fall back to.
			to := AccountStageMQA
			if !a.mqa {
				to = AccountStageAccount
			}
			ev.move(to, "no lead is sql or customer")
			return true
		}
	}
	quiet := ev.allQuiet()
	switch st.stage {
	case AccountStageMQA:
		if quiet {
			ev.move(AccountStageAccount, "every lead is nurture, disqualified or expired")
			return true
		}
	case AccountStageAccount:
		// An account whose every lead has gone quiet is not handed to sales
		// (the mqa row back to account would undo it at once).
		if a.mqa && !quiet && ev.score.Fit >= a.mqaFitMin && ev.score.Engagement >= a.mqaEngagementMin && ev.n >= a.mqaContactsMin {
			ev.move(AccountStageMQA, "fit "+num(ev.score.Fit)+" >= "+num(a.mqaFitMin)+", engagement "+num(ev.score.Engagement)+" >= "+num(a.mqaEngagementMin)+
				" and "+strconv.Itoa(ev.n)+" engaged contacts >= "+strconv.Itoa(a.mqaContactsMin))
			return true
		}
	}
	return false
}

// leadIn returns the first (by lead id) member in stage s, "" for none.
func (ev *accountEvaluation) leadIn(s Stage) string {
	for _, m := range ev.members {
		if m.Stage == s {
			return m.LeadID
		}
	}
	return ""
}

// allQuiet: every member is nurture, disqualified or expired (true for an
// account with no members left).
func (ev *accountEvaluation) allQuiet() bool {
	for _, m := range ev.members {
		switch m.Stage {
		case StageNurture, StageDisqualified, StageExpired:
		default:
			return false
		}
	}
	return true
}

// AccountFitMatches returns the ids of the account fit rules that attrs (an
// account's attributes, as AccountResult.Attributes) match, in document
// order: what the signals report counts per account fit rule.
func AccountFitMatches(r *Rules, attrs map[string]any) []string {
	var ids []string
	for i := range r.c.accounts.fit {
		fr := &r.c.accounts.fit[i]
		if fr.match.match(attrs[fr.field]) {
			ids = append(ids, fr.id)
		}
	}
	return ids
}

// AccountFitPoints maps each account fit rule id to its points (the
// published values the signals report compares suggestions with).
func AccountFitPoints(r *Rules) map[string]float64 {
	m := make(map[string]float64, len(r.c.accounts.fit))
	for _, fr := range r.c.accounts.fit {
		m[fr.id] = fr.points
	}
	return m
}

// HasMQA reports whether the rules define account MQAs (an accounts.mqa
// section).
func (r *Rules) HasMQA() bool { return r.c.accounts.mqa }
