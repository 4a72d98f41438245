package scoring

import (
	"math"
	"strconv"
	"time"
)

// Contribution is one line of the breakdown: why the lead has its score.
type Contribution struct {
	Rule string `json:"rule"`
	// Kind is "fit", "engagement", "burst", or "cap" for the amount a group
	// cap or engagement.max took off (Rule is then the group name, or
	// "engagement.max").
	Kind        string `json:"kind"`
	Description string `json:"description,omitempty"`
	// Points is after decay and caps, rounded to 2 decimals.
	Points float64 `json:"points"`
	// RawPoints is before decay (after max_per_day and max_total).
	RawPoints float64 `json:"raw_points"`
	// Events is the number of counted events that still carry weight (a fit
	// rule counts 1 when it matches, a burst 1 when awarded).
	Events int    `json:"events"`
	Group  string `json:"group,omitempty"`
}

// Result is one evaluation of a lead.
type Result struct {
	Score Score `json:"score"`
	// Breakdown lists every fit rule, then every engagement rule, then every
	// burst, in document order, then any cap adjustments in group order.
	Breakdown []Contribution `json:"breakdown"`
	Stage     Stage          `json:"stage"`
	// Transitions are the ones this evaluation decided (also appended to the
	// state's history).
	Transitions []Transition `json:"transitions,omitempty"`
	// DueAt is the earliest moment after now at which Evaluate could decide a
	// different stage with no new event: the nurture or expiry deadline, or
	// the day decay alone lifts engagement over the MQL threshold. Zero when
	// nothing is due. Always the start of a UTC day.
	DueAt time.Time `json:"due_at,omitzero"`
}

// round2 rounds half away from zero to 2 decimals. Values within 1e-7 of a
// cent of the half are treated as the half, so 1.005 (stored as 1.00499...)
// rounds to 1.01 as a person computing by hand expects.
func round2(x float64) float64 {
	v := math.Abs(x) * 100
	n := math.Floor(v)
	if v-n >= 0.5-1e-7 {
		n++
	}
	return math.Copysign(n/100, x) + 0 // + 0 turns -0 into 0
}

// engTotals is an engagement result; computing it allocates nothing when no
// breakdown is wanted (the DueAt scan runs it many times).
type engTotals struct {
	total    float64
	positive float64 // sum of positive contributions: an upper bound for any future day
}

// engagement computes the engagement score at `today` from days >= fromDay.
// With bd non-nil it appends engagement, burst and cap contributions.
func (s *State) engagement(c *compiled, today, fromDay int32, bd *[]Contribution) engTotals {
	var t engTotals
	var groupBuf [16]float64
	groups := groupBuf[:0]
	if len(c.groups) <= len(groupBuf) {
		groups = groupBuf[:len(c.groups)]
	} else {
		groups = make([]float64, len(c.groups))
	}
	var ungrouped float64
	addTo := func(g int, v float64) {
		if v > 0 {
			t.positive += v
		}
		if g >= 0 {
			groups[g] += v
		} else {
			ungrouped += v
		}
	}
	cacheable := fromDay == math.MinInt32
	if cacheable && today != s.sumsDay {
		clear(s.sums)
		s.sumsDay = today
	}
	for ri := range c.eng {
		rule := &c.eng[ri]
		var weighted float64
		var events int
		if cacheable && s.sums[ri].ok {
			weighted, events = s.sums[ri].weighted, s.sums[ri].events
		} else {
			weighted, events = s.ruleSum(c, ri, today, fromDay)
			if cacheable {
				s.sums[ri] = ruleSum{weighted, events, true}
			}
		}
		v := weighted * rule.points
		addTo(rule.group, v)
		if bd != nil {
			*bd = append(*bd, Contribution{Rule: rule.id, Kind: "engagement", Description: rule.desc,
				Points: round2(v), RawPoints: round2(float64(events) * rule.points), Events: events, Group: groupName(c, rule.group)})
		}
	}
	for bi := range c.bursts {
		b := &c.bursts[bi]
		v, events := s.burstValue(c, bi, today, fromDay)
		addTo(b.group, v)
		if bd != nil {
			*bd = append(*bd, Contribution{Rule: b.id, Kind: "burst", Description: b.desc,
				Points: round2(v), RawPoints: float64(events) * b.points, Events: events, Group: groupName(c, b.group)})
		}
	}
	t.total = applyCaps(c, ungrouped, groups, bd)
	return t
}

// burstValue is burst bi's decayed points at today (0 unless it fired on a
// day >= fromDay) and whether it counts as an event.
func (s *State) burstValue(c *compiled, bi int, today, fromDay int32) (float64, int) {
	if s.dead[bi] {
		return 0, 0
	}
	b := &c.bursts[bi]
	bc := &s.bdays[bi]
	if !bc.ok {
		bc.day, bc.fired = s.burstDay(c, b)
		bc.ok = true
	}
	if !bc.fired || bc.day < fromDay {
		return 0, 0
	}
	if f := c.decay.factor(today - bc.day); f > 0 {
		return b.points * f, 1
	}
	return 0, 0
}

// applyCaps adds the group sums, each capped at its max, to the ungrouped
// total and caps the result at engagement.max; with bd non-nil it appends a
// "cap" line for each cap that bit.
func applyCaps(c *compiled, ungrouped float64, groups []float64, bd *[]Contribution) float64 {
	total := ungrouped
	for gi, sum := range groups {
		g := &c.groups[gi]
		if sum > g.max {
			if bd != nil {
				*bd = append(*bd, Contribution{Rule: g.name, Kind: "cap", Description: g.desc, Points: round2(g.max - sum), Group: g.name})
			}
			sum = g.max
		}
		total += sum
	}
	if c.hasEngMax && total > c.engMax {
		if bd != nil {
			*bd = append(*bd, Contribution{Rule: "engagement.max", Kind: "cap", Points: round2(c.engMax - total)})
		}
		total = c.engMax
	}
	return total
}

// ruleSum is the decay-weighted count of rule ri's counting events at today,
// from days >= fromDay, and how many events still carry weight.
func (s *State) ruleSum(c *compiled, ri int, today, fromDay int32) (float64, int) {
	rule := &c.eng[ri]
	remaining := uint64(math.MaxUint64)
	if rule.maxTotal > 0 {
		remaining = uint64(rule.maxTotal)
	}
	var weighted float64
	var events int
	for _, dc := range s.rules[ri].days {
		n := min(uint64(min(dc.n, rule.dayCap)), remaining)
		if n == 0 {
			break
		}
		remaining -= n
		if dc.day < fromDay {
			continue
		}
		f := c.decay.factor(today - dc.day)
		if f == 0 {
			continue
		}
		weighted += float64(n) * f
		events += int(n)
	}
	return weighted, events
}

func groupName(c *compiled, g int) string {
	if g < 0 {
		return ""
	}
	return c.groups[g].name
}

// fit returns the fit score, cached until an attribute changes or the rules do.
func (s *State) fit(c *compiled) float64 {
	if s.fitFor == c && s.fitGen == s.attrGen {
		return s.fitVal
	}
	if cap(s.fitMatch) < len(c.fit) {
		s.fitMatch = make([]bool, len(c.fit))
	}
	s.fitMatch = s.fitMatch[:len(c.fit)]
	var sum float64
	for i := range c.fit {
		fr := &c.fit[i]
		ok := fr.match.match(s.attr(fr.field))
		s.fitMatch[i] = ok
		if ok {
			sum += fr.points
		}
	}
	s.fitFor, s.fitGen, s.fitVal = c, s.attrGen, sum
	return sum
}

// Scores computes the scores and breakdown at now without deciding stages
// (for read paths that must not change the lead).
func (s *State) Scores(r *Rules, now time.Time) (Score, []Contribution) {
	c := r.c
	s.bind(c)
	today := dayOf(now.UTC())
	fit := round2(s.fit(c))
	bd := make([]Contribution, 0, len(c.fit)+len(c.eng)+len(c.bursts)+len(c.groups)+1)
	for i := range c.fit {
		fr := &c.fit[i]
		p, ev := 0.0, 0
		if s.fitMatch[i] {
			p, ev = fr.points, 1
		}
		bd = append(bd, Contribution{Rule: fr.id, Kind: "fit", Description: fr.desc, Points: round2(p), RawPoints: p, Events: ev})
	}
	eng := s.engagement(c, today, math.MinInt32, &bd)
	return Score{Fit: fit, Engagement: round2(eng.total), Grade: c.gradeOf(fit)}, bd
}

// Evaluate scores the lead at now, decides its stage per the lifecycle table
// (docs/scoring.md section 4), appends the transitions it decides to the history
// and returns them. Evaluating again at the same now decides nothing new.
func (s *State) Evaluate(r *Rules, now time.Time) Result {
	c := r.c
	now = now.UTC()
	score, bd := s.Scores(r, now)
	s.version = r.Version
	s.clockBack(now)
	ev := evaluation{s: s, c: c, version: r.Version, now: now, today: dayOf(now), score: score}
	// Each step makes at most one move; a handful of moves is the most any
	// table path takes (visitor, lead, sales outcomes...), and the loop ends
	// at a fixed point, which is what makes a second Evaluate a no-op.
	for range 64 {
		if !ev.step() {
			break
		}
	}
	res := Result{Score: score, Breakdown: bd, Stage: s.stage}
	// The moves are the last entries of the history (counted, not found by
	// length: a full history stays the same length while it takes them).
	if n := min(ev.moves, len(s.history)); n > 0 {
		res.Transitions = append([]Transition(nil), s.history[len(s.history)-n:]...)
	}
	res.DueAt = ev.dueAt()
	return res
}

// clockBack handles a clock that went backwards: an earlier evaluation
// (a sweep invoked with a future time) entered the current stage after
// now. Decisions are never undone, and the history keeps the times they
// were made at, but the stage counts as entered now: otherwise nothing the
// lead does before that future moment could count (an expiry "in 2027"
// would outlive every real hand-raise of 2026). See docs/scoring.md
// section 4.
func (s *State) clockBack(now time.Time) {
	if s.stageSince.After(now) {
		s.stageSince = now
	}
	if today := dayOf(now); s.windowDay > today {
		s.windowDay = today
	}
}

type evaluation struct {
	s       *State
	c       *compiled
	version int
	now     time.Time
	today   int32
	score   Score
	moves   int
}

func (ev *evaluation) move(to Stage, reason string) {
	s := ev.s
	t := Transition{From: s.stage, To: to, At: ev.now, Reason: reason, RulesVersion: ev.version}
	ev.moves++
	s.history = append(s.history, t)
	if len(s.history) > maxHistory {
		s.history = append(s.history[:0], s.history[len(s.history)-maxHistory:]...)
	}
	s.stage = to
	s.stageSince = ev.now
	switch to {
	case StageMQL:
		if s.ms.MQLAt.IsZero() {
			s.ms.MQLAt = ev.now
		}
	case StageSQL:
		if s.ms.SQLAt.IsZero() {
			s.ms.SQLAt = ev.now
		}
	case StageCustomer:
		if s.ms.CustomerAt.IsZero() {
			s.ms.CustomerAt = ev.now
		}
	case StageNurture:
		s.ms.NurtureAt = ev.now
		s.windowDay = ev.today
	}
}

// outcomeTarget says where a sales outcome moves a lead in stage from, if
// anywhere (docs/scoring.md section 4 table).
func outcomeTarget(from Stage, typ string) (Stage, bool) {
	switch typ {
	case TypeSalesAccepted:
		switch from {
		case StageLead, StageMQL, StageNurture, StageDisqualified, StageCustomer:
			return StageSQL, true
		}
	case TypeSalesRejected:
		switch from {
		case StageLead, StageMQL, StageNurture:
			return StageDisqualified, true
		}
	case TypeDealWon:
		if from == StageSQL {
			return StageCustomer, true
		}
	case TypeDealLost:
		if from == StageSQL {
			return StageNurture, true
		}
	}
	return "", false
}

func (ev *evaluation) step() bool {
	s, c := ev.s, ev.c
	switch {
	case s.stage == StageVisitor && s.identified:
		s.windowDay = math.MinInt32
		ev.move(StageLead, "identified by email")
		return true
	case s.stage == StageExpired && !s.last.IsZero() && dayOf(s.last) >= dayOf(s.stageSince):
		s.windowDay = dayOf(s.stageSince)
		ev.move(StageLead, "active again after expiry")
		return true
	}
	if s.stage != StageVisitor {
		for i, p := range s.pending {
			to, ok := outcomeTarget(s.stage, p.typ)
			if !ok {
				continue
			}
			// Outcomes are taken in occurred_at order; one that happened
			// before the outcome applied now can no longer apply.
			s.mark = p
			s.pending = append(s.pending[:0], s.pending[i+1:]...)
			ev.move(to, p.typ)
			return true
		}
	}
	active := s.stage == StageLead || s.stage == StageMQL || s.stage == StageNurture
	if active && c.expiryDays > 0 && !s.last.IsZero() && ev.today-dayOf(s.last) >= c.expiryDays {
		ev.move(StageExpired, "inactive "+strconv.Itoa(int(c.expiryDays))+" days")
		return true
	}
	if s.stage == StageMQL && c.nurtureDays > 0 && ev.today-dayOf(s.stageSince) >= c.nurtureDays {
		ev.move(StageNurture, "no sales decision in "+strconv.Itoa(int(c.nurtureDays))+" days")
		return true
	}
	fitOK := ev.score.Fit >= c.fitMin
	switch s.stage {
	case StageLead:
		if fitOK && ev.handRaised() {
			ev.move(StageMQL, "instant_on "+s.instant.typ)
			return true
		}
		if fitOK && ev.score.Engagement >= c.engMin {
			ev.move(StageMQL, "fit "+num(ev.score.Fit)+" >= "+num(c.fitMin)+" and engagement "+num(ev.score.Engagement)+" >= "+num(c.engMin))
			return true
		}
	case StageNurture:
		// The table's nurture row has no fit condition on hand-raises: the
		// lead has already qualified on fit once.
		if ev.handRaised() {
			ev.move(StageMQL, "instant_on "+s.instant.typ)
			return true
		}
		if fitOK {
			e := round2(s.engagement(c, ev.today, s.windowDay, nil).total)
			if e >= c.engMin {
				ev.move(StageMQL, "fit "+num(ev.score.Fit)+" >= "+num(c.fitMin)+" and engagement since nurture "+num(e)+" >= "+num(c.engMin))
				return true
			}
		}
	}
	return false
}

// handRaised reports an instant_on event on or after the window day (entering
// nurture, or coming back from expiry; any time for a new lead).
func (ev *evaluation) handRaised() bool {
	s := ev.s
	return s.instant.typ != "" && ev.c.instantOn[s.instant.typ] && dayOf(s.instant.at) >= s.windowDay
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// maxScanDays bounds how far ahead DueAt looks for decay lifting engagement.
const maxScanDays = 1000

func (ev *evaluation) dueAt() time.Time {
	s, c := ev.s, ev.c
	var due time.Time
	consider := func(t time.Time) {
		if t.After(ev.now) && (due.IsZero() || t.Before(due)) {
			due = t
		}
	}
	limit := ev.today + maxScanDays
	switch s.stage {
	case StageLead, StageMQL, StageNurture:
		if c.expiryDays > 0 && !s.last.IsZero() {
			d := dayOf(s.last) + c.expiryDays
			consider(dayStart(d))
			limit = min(limit, d)
		}
	}
	if s.stage == StageMQL && c.nurtureDays > 0 {
		consider(dayStart(dayOf(s.stageSince) + c.nurtureDays))
	}
	if c.decay.kind == decayNone || ev.score.Fit < c.fitMin {
		return due
	}
	from := int32(math.MinInt32)
	switch s.stage {
	case StageLead:
		if ev.score.Engagement >= c.engMin {
			return due
		}
	case StageNurture:
		from = s.windowDay
	default:
		return due
	}
	// Decay only shrinks contributions, so the positive part now bounds every
	// future day: without it reaching the threshold, nothing can cross.
	now := s.engagement(c, ev.today, from, nil)
	if round2(now.positive) < c.engMin {
		return due
	}
	for d := ev.today + 1; d <= limit; d++ {
		if !due.IsZero() && !dayStart(d).Before(due) {
			break
		}
		if round2(s.engagement(c, d, from, nil).total) >= c.engMin {
			consider(dayStart(d))
			break
		}
	}
	return due
}
