package scoring

import (
	"math"
	"sort"
	"strings"
	"time"
)

// Milestones are a lead's funnel timestamps. MQLAt, SQLAt and CustomerAt are
// the FIRST time the lead reached that stage (funnel reports measure time to
// first conversion); NurtureAt is the LATEST entry into nurture, because
// nurture re-entry counts engagement from that day.
type Milestones struct {
	MQLAt      time.Time `json:"mql_at,omitzero"`
	SQLAt      time.Time `json:"sql_at,omitzero"`
	CustomerAt time.Time `json:"customer_at,omitzero"`
	NurtureAt  time.Time `json:"nurture_at,omitzero"`
}

// maxHistory bounds the stage history kept in the item; the oldest entries are
// dropped first. Every transition is also an outbox record, so nothing is lost
// for reporting, and 500 entries is decades of normal churn.
const maxHistory = 500

// maxPending bounds remembered sales outcomes that could not apply yet (a
// deal_won for a lead sales never accepted). The newest are kept.
const maxPending = 32

// dayCount is the number of counting events one rule matched on one UTC day
// (already capped by max_per_day and max_total: beyond the cap more events
// change nothing, so there is no point remembering them).
type dayCount struct {
	day int32
	n   uint32
}

type ruleDays struct {
	id   string
	days []dayCount // ascending by day, n > 0
}

type attr struct {
	key string
	val any // string, float64 or bool
	at  time.Time
	id  string
}

// evRef remembers one lifecycle-relevant event.
type evRef struct {
	typ string
	at  time.Time
	id  string
}

// after orders events as docs/scoring.md does: occurred_at, then event_id.
func (e evRef) after(o evRef) bool {
	if !e.at.Equal(o.at) {
		return e.at.After(o.at)
	}
	return e.id > o.id
}

// State is one lead's (or visitor's) scoring and lifecycle state: bounded in
// size and serializable with MarshalBinary. Scores are a pure function of the
// set of applied events and of `now`; the stage is decided by Evaluate.
// A State is not safe for concurrent use.
type State struct {
	stage      Stage
	stageSince time.Time
	// windowDay is the first UTC day whose hand-raises (and, in nurture,
	// engagement) count toward the next MQL decision.
	windowDay  int32
	history    []Transition
	ms         Milestones
	identified bool
	last       time.Time
	version    int

	attrs     []attr
	rules     []ruleDays
	burstDead []string // ids of bursts that fired on a day whose factor is 0 for good
	instant   evRef    // latest instant_on event (typ "" when none)
	pending   []evRef  // sales outcomes not applied yet, ascending
	mark      evRef    // latest sales outcome consumed; older ones are ignored
	prunedAt  int32    // last-activity day at the last prune
	horizon   int64    // days <= horizon are dead (from the last prune)

	// Account membership (docs/scoring.md section 7): the latest non-empty
	// account_id with its event, and account attribute values.
	acctID    string
	acctAt    time.Time
	acctEv    string
	acctAttrs []attr // sorted by key, at most maxAccountAttrs

	// Not serialized: binding of rules to compiled indices, and the fit cache.
	bound     *compiled
	dead      []bool // by burst index of bound
	attrGen   uint32
	fitFor    *compiled
	fitGen    uint32
	fitVal    float64
	fitMatch  []bool
	needPrune bool
	// Per-rule decayed sums at sumsDay, and burst days, so that evaluating
	// after one new event recomputes only the rule it touched.
	sums    []ruleSum
	sumsDay int32
	bdays   []burstCache
}

type ruleSum struct {
	weighted float64
	events   int
	ok       bool
}

type burstCache struct {
	day   int32
	fired bool
	ok    bool
}

// touch invalidates the cached sums that depend on rule ri.
func (s *State) touch(ri int) {
	s.sums[ri].ok = false
	for _, bi := range s.bound.burstsOfRule[ri] {
		s.bdays[bi].ok = false
	}
}

// NewState returns an empty state: stage visitor until an applied event
// carries an email.
func NewState() *State {
	return &State{stage: StageVisitor, windowDay: math.MinInt32, prunedAt: math.MinInt32, horizon: math.MinInt64}
}

// NewLeadState is the state of a lead created from an event that names an
// email. That person was never an anonymous visitor, so the state starts as
// a lead: its history begins with the first real move, and no "lead.lead"
// transition is handed off for every new lead. (Visitor history stitched in
// later is merged into a lead, which stays a lead.)
func NewLeadState() *State {
	s := NewState()
	s.stage = StageLead
	s.identified = true
	return s
}

// Stage returns the current stage. A visitor whose events now carry an email
// reports lead at once, even before Evaluate records that transition.
func (s *State) Stage() Stage {
	if s.stage == StageVisitor && s.identified {
		return StageLead
	}
	return s.stage
}

// StageSince is when the current stage was entered (zero for a visitor).
func (s *State) StageSince() time.Time { return s.stageSince }

// History returns the stage history, oldest first.
func (s *State) History() []Transition { return append([]Transition(nil), s.history...) }

// Milestones returns the funnel timestamps.
func (s *State) Milestones() Milestones { return s.ms }

// LastActivityAt is the latest occurred_at of any applied event.
func (s *State) LastActivityAt() time.Time { return s.last }

// RulesVersion is the version of the rules last used by Apply, Rebuild or
// Evaluate; when it differs from the published version the caller should
// Rebuild from the event history.
func (s *State) RulesVersion() int { return s.version }

// Identified reports whether any applied event carried an email.
func (s *State) Identified() bool { return s.identified }

// Attributes returns the current attribute values (latest occurred_at wins,
// ties: greater event_id), including the derived email_domain.
func (s *State) Attributes() map[string]any {
	m := make(map[string]any, len(s.attrs)+1)
	for _, a := range s.attrs {
		m[a.key] = a.val
	}
	if d := s.emailDomain(); d != "" {
		m["email_domain"] = d
	}
	return m
}

func (s *State) attr(key string) any {
	if key == "email_domain" {
		if d := s.emailDomain(); d != "" {
			return d
		}
		return nil
	}
	for i := range s.attrs {
		if s.attrs[i].key == key {
			return s.attrs[i].val
		}
	}
	return nil
}

func (s *State) emailDomain() string {
	e, _ := s.attr("email").(string)
	if i := strings.LastIndexByte(e, '@'); i >= 0 && i < len(e)-1 {
		return e[i+1:]
	}
	return ""
}

func dayOf(t time.Time) int32 {
	sec := t.Unix()
	d := sec / 86400
	if sec%86400 < 0 {
		d--
	}
	return int32(d)
}

func dayStart(d int32) time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// bind lines the per-rule data up with c's rule indices, matching by id, so a
// state written under one rules document reads correctly under another that
// keeps the ids. Data of rules that no longer exist is dropped.
func (s *State) bind(c *compiled) {
	if s.bound == c {
		return
	}
	old := s.rules
	s.rules = make([]ruleDays, len(c.eng))
	for i := range c.eng {
		s.rules[i].id = c.eng[i].id
	}
	for _, rd := range old {
		if len(rd.days) == 0 {
			continue
		}
		if i, ok := c.ruleIdx[rd.id]; ok {
			s.rules[i].days = rd.days
		}
	}
	s.dead = make([]bool, len(c.bursts))
	for _, id := range s.burstDead {
		if i, ok := c.burstIdx[id]; ok {
			s.dead[i] = true
		}
	}
	s.bound = c
	s.needPrune = true
	s.sums = make([]ruleSum, len(c.eng))
	s.bdays = make([]burstCache, len(c.bursts))
}

// Apply adds events to the state. The caller has removed duplicate event_ids;
// the result does not depend on the order of events nor on how they are split
// into calls. Allocation-free for an event whose rule and day are already
// present and whose attributes are already known.
func (s *State) Apply(events []Event, r *Rules) {
	c := r.c
	s.bind(c)
	s.version = r.Version
	for i := range events {
		s.applyOne(&events[i], c)
	}
	s.prune(c)
}

// Rebuild is the bulk rescore: it resets every score counter and re-applies
// the full event history under (possibly new) rules, keeping the stage, the
// stage history, the lifecycle timestamps and which sales outcomes were
// already acted on.
func (s *State) Rebuild(events []Event, r *Rules) {
	s.bound = nil
	s.rules = nil
	s.burstDead = nil
	s.attrs = s.attrs[:0]
	s.identified = false
	s.last = time.Time{}
	s.instant = evRef{}
	s.pending = nil
	s.acctID, s.acctAt, s.acctEv = "", time.Time{}, ""
	s.acctAttrs = nil
	s.prunedAt = math.MinInt32
	s.horizon = math.MinInt64
	s.attrGen++
	s.Apply(events, r)
}

func (s *State) applyOne(e *Event, c *compiled) {
	at := e.OccurredAt.UTC()
	day := dayOf(at)
	if at.After(s.last) {
		s.last = at
	}
	if e.Email != "" {
		s.identified = true
		s.setEmail(e.Email, at, e.EventID)
	}
	for k, v := range e.Lead {
		if k == "email" || k == "email_domain" {
			continue
		}
		s.setAttr(k, v, at, e.EventID)
	}
	for _, ri := range c.byType[e.Type] {
		rule := &c.eng[ri]
		if rule.matches(e.Properties) {
			s.count(int(ri), day, rule)
		}
	}
	if e.AccountID != "" || len(e.Account) > 0 || len(e.Lead) > 0 {
		s.applyAccount(e, at)
	}
	if c.instantOn[e.Type] {
		ref := evRef{e.Type, at, e.EventID}
		if s.instant.typ == "" || ref.after(s.instant) {
			s.instant = ref
		}
	}
	if isOutcome(e.Type) {
		s.remember(evRef{e.Type, at, e.EventID})
	}
}

func (r *engRule) matches(props map[string]any) bool {
	for i := range r.where {
		if !r.where[i].m.match(props[r.where[i].field]) {
			return false
		}
	}
	return true
}

func (s *State) setAttr(key string, v any, at time.Time, id string) {
	switch x := v.(type) {
	case string:
		if x == "" {
			return
		}
	case float64, bool:
	case nil:
		return
	default:
		f, ok := numeric(v)
		if !ok {
			return // nested objects and lists are not attributes
		}
		v = f
	}
	for i := range s.attrs {
		a := &s.attrs[i]
		if a.key != key {
			continue
		}
		if at.Before(a.at) || (at.Equal(a.at) && id <= a.id) {
			return
		}
		if a.val != v {
			s.attrGen++
		}
		a.val, a.at, a.id = v, at, id
		return
	}
	s.attrs = append(s.attrs, attr{key, v, at, id})
	s.attrGen++
}

// setEmail is setAttr for the email without converting the string to an
// interface unless it changed: that conversion allocates, and nearly every
// event of a lead carries the same email.
func (s *State) setEmail(email string, at time.Time, id string) {
	for i := range s.attrs {
		a := &s.attrs[i]
		if a.key != "email" {
			continue
		}
		if at.Before(a.at) || (at.Equal(a.at) && id <= a.id) {
			return
		}
		if old, _ := a.val.(string); old != email {
			a.val = email
			s.attrGen++
		}
		a.at, a.id = at, id
		return
	}
	s.attrs = append(s.attrs, attr{"email", email, at, id})
	s.attrGen++
}

// count records one matched event of rule ri on day.
func (s *State) count(ri int, day int32, rule *engRule) {
	rd := &s.rules[ri]
	n := len(rd.days)
	var i int
	switch {
	case n > 0 && rd.days[n-1].day == day:
		i = n - 1
	case n == 0 || rd.days[n-1].day < day:
		rd.days = append(rd.days, dayCount{day, 0})
		i = n
	default:
		i = searchDay(rd.days, day)
		if rd.days[i].day != day {
			rd.days = append(rd.days, dayCount{})
			copy(rd.days[i+1:], rd.days[i:])
			rd.days[i] = dayCount{day, 0}
		}
	}
	if rd.days[i].n >= rule.dayCap {
		return // saturated: nothing changes, nothing to recompute
	}
	rd.days[i].n++
	if rule.maxTotal > 0 {
		trimTotal(rd, rule)
	}
	s.touch(ri)
	if int64(day) <= s.horizon {
		s.needPrune = true
	}
}

// searchDay is sort.Search by hand: the closure form is not guaranteed to
// stay off the heap, and this runs per event.
func searchDay(days []dayCount, day int32) int {
	lo, hi := 0, len(days)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if days[m].day < day {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// trimTotal drops days after the one on which the max_total-th counting event
// falls. They can never count again: more events only move that point
// earlier. This is what keeps a capped rule's data at most max_total days.
func trimTotal(rd *ruleDays, rule *engRule) {
	var cum uint64
	for i := range rd.days {
		cum += uint64(min(rd.days[i].n, rule.dayCap))
		if cum >= uint64(rule.maxTotal) {
			rd.days = rd.days[:i+1]
			return
		}
	}
}

func (s *State) remember(ref evRef) {
	if s.mark.typ != "" && !ref.after(s.mark) {
		return
	}
	i := sort.Search(len(s.pending), func(j int) bool { return s.pending[j].after(ref) })
	if i > 0 && s.pending[i-1].id == ref.id && s.pending[i-1].at.Equal(ref.at) {
		return
	}
	s.pending = append(s.pending, evRef{})
	copy(s.pending[i+1:], s.pending[i:])
	s.pending[i] = ref
	if len(s.pending) > maxPending {
		s.pending = append(s.pending[:0], s.pending[len(s.pending)-maxPending:]...)
	}
}

// prune drops days whose decay factor is 0 and that nothing needs any more.
// A day is dead when it is zeroAge+1 days older than the last activity: the
// extra day covers events stamped up to 5 minutes in the future, which can put
// `now` on the day before the last activity. Days of capped rules are kept
// (max_total needs them and trimTotal bounds them), and so are days of rules
// with a burst that may still fire on a live day.
func (s *State) prune(c *compiled) {
	if s.last.IsZero() || c.decay.zeroAge == math.MaxInt32 {
		return
	}
	L := dayOf(s.last)
	if L == s.prunedAt && !s.needPrune {
		return
	}
	s.prunedAt = L
	s.needPrune = false
	horizon := int64(L) - int64(c.decay.zeroAge) - 1 // days <= horizon are dead
	s.horizon = horizon
	for bi := range c.bursts {
		if s.dead[bi] {
			continue
		}
		b := &c.bursts[bi]
		if d, ok := s.burstDay(c, b); ok && int64(d) <= horizon {
			s.dead[bi] = true
			s.burstDead = append(s.burstDead, b.id)
		}
	}
	for ri := range s.rules {
		rule := &c.eng[ri]
		if rule.maxTotal > 0 {
			continue
		}
		live := false
		for _, bi := range c.burstsOfRule[ri] {
			if !s.dead[bi] {
				live = true
				break
			}
		}
		if live {
			continue
		}
		days := s.rules[ri].days
		k := 0
		for k < len(days) && int64(days[k].day) <= horizon {
			k++
		}
		if k > 0 {
			s.rules[ri].days = append(days[:0], days[k:]...)
			s.touch(ri)
		}
	}
}

// burstDay finds the first day D on which the burst's rule counted at least
// min_count events during D-within_days+1 .. D.
func (s *State) burstDay(c *compiled, b *burstRule) (int32, bool) {
	if b.rule < 0 || b.minCount == 0 {
		return 0, false
	}
	rule := &c.eng[b.rule]
	days := s.rules[b.rule].days
	remaining := uint64(math.MaxUint64)
	if rule.maxTotal > 0 {
		remaining = uint64(rule.maxTotal)
	}
	var sum, used uint64
	lo := 0
	for hi := range days {
		n := min(uint64(min(days[hi].n, rule.dayCap)), remaining-used)
		if n == 0 {
			break
		}
		used += n
		sum += n
		// Only the last counted day can be clipped by max_total, and the
		// window always keeps that day, so removed days count in full.
		for days[lo].day <= days[hi].day-b.withinDays {
			sum -= uint64(min(days[lo].n, rule.dayCap))
			lo++
		}
		if sum >= uint64(b.minCount) {
			return days[hi].day, true
		}
	}
	return 0, false
}
