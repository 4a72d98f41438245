package scoring

import (
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
)

// Compiling walks the document's sections in a fixed order, one method per
// section, each adding its problems with the document's own paths. The order
// matters only for the order problems are reported in, and for references:
// event_types and lists come before the rules that use them, engagement rules
// before the bursts that name them.

// topLevelKeys are the sections a rules document may have.
var topLevelKeys = []string{"version", "description", "event_types", "lists", "grades", "fit", "engagement", "mql", "nurture", "expiry", "sources", "accounts"}

func (p *parser) compile(root *node) *compiled {
	c := &compiled{
		instantOn: map[string]bool{},
		byType:    map[string][]int32{},
		known:     map[string]bool{},
		ruleIdx:   map[string]int32{},
		burstIdx:  map[string]int32{},
		decay:     decay{kind: decayNone, zeroAge: math.MaxInt32},
	}
	if root.kind != 'm' {
		p.add("", "the document must be a mapping with fit, engagement, mql, ...; got "+typeName(root))
		return c
	}
	p.mapping(root, "", topLevelKeys...)
	c.tree = root.plain().(map[string]any)
	delete(c.tree, "version")
	p.ids = map[string]string{}
	p.groupIdx = map[string]int{}

	p.compileHeader(root)
	p.compileEventTypes(c, root.get("event_types"))
	p.compileLists(root.get("lists"))
	c.grades = p.compileGrades(root.get("grades"), "grades", defaultGrades())
	c.fit = p.compileFitRules(root.get("fit"), "fit", p.ids)
	p.compileEngagement(c, root.get("engagement"))
	p.compileMQL(c, root.get("mql"))
	p.compileNurture(c, root.get("nurture"))
	p.compileExpiry(c, root.get("expiry"))
	p.compileSources(c, root.get("sources"))
	p.compileAccounts(c, root.get("accounts"))
	return c
}

// compileHeader reads version and the document's description.
func (p *parser) compileHeader(root *node) {
	if v := root.get("version"); v != nil {
		if n, ok := p.integer(v, "version", 0, math.MaxInt32); ok {
			p.version = n
		}
	}
	if v := root.get("description"); v != nil {
		p.str(v, "description")
	}
}

// compileEventTypes makes the built-in types and the document's event_types
// known.
func (p *parser) compileEventTypes(c *compiled, v *node) {
	for _, t := range BuiltinEventTypes {
		c.known[t] = true
	}
	if v == nil {
		return
	}
	items, ok := p.list(v, "event_types")
	if !ok {
		return
	}
	seen := map[string]bool{}
	for i, it := range items {
		path := index("event_types", i)
		s, ok := p.str(it, path)
		if !ok {
			continue
		}
		if !typePattern.MatchString(s) {
			p.add(path, "event type "+strconv.Quote(s)+" must match [a-z][a-z0-9_.-]{0,63}")
			continue
		}
		if seen[s] {
			p.add(path, "duplicate event type "+strconv.Quote(s))
			continue
		}
		seen[s] = true
		if !c.known[s] {
			c.eventTypes = append(c.eventTypes, s)
		}
		c.known[s] = true
	}
}

// compileLists starts from the shipped named lists; the document's lists add
// to them or replace one by name.
func (p *parser) compileLists(v *node) {
	p.lists = map[string]*strset{}
	for name, items := range builtinLists {
		p.lists[name] = newStrset(items)
	}
	if v == nil || !p.mapping(v, "lists") {
		return
	}
	for i, name := range v.keys {
		path := join("lists", name)
		if !typePattern.MatchString(name) {
			p.add(path, "list name must match [a-z][a-z0-9_.-]{0,63}")
		}
		items, ok := p.list(v.vals[i], path)
		if !ok {
			continue
		}
		if len(items) > maxListItems {
			p.add(path, "more than "+strconv.Itoa(maxListItems)+" items")
			continue
		}
		strs := make([]string, 0, len(items))
		for j, it := range items {
			if s, ok := p.str(it, index(path, j)); ok {
				strs = append(strs, s)
			}
		}
		p.lists[name] = newStrset(strs)
	}
}

func defaultGrades() []gradeBound {
	return []gradeBound{{"A", 80}, {"B", 60}, {"C", 40}, {"D", 20}}
}

// compileGrades reads a grades mapping at path, highest bound first; absent,
// the grades are def.
func (p *parser) compileGrades(v *node, path string, def []gradeBound) []gradeBound {
	if v == nil || !p.mapping(v, path) {
		return def
	}
	var grades []gradeBound
	for i, name := range v.keys {
		gpath := join(path, name)
		if name == "" || len(name) > 16 {
			p.add(gpath, "grade names are 1 to 16 characters")
			continue
		}
		if f, ok := p.num(v.vals[i], gpath); ok {
			grades = append(grades, gradeBound{name, f})
		}
	}
	// Highest bound first; equal bounds would make a grade unreachable.
	sort.SliceStable(grades, func(i, j int) bool { return grades[i].bound > grades[j].bound })
	for i := 1; i < len(grades); i++ {
		if grades[i].bound == grades[i-1].bound {
			p.add(join(path, grades[i].name), "same bound as grade "+strconv.Quote(grades[i-1].name))
		}
	}
	return grades
}

// ruleID reads and checks a rule's id and claims it in ids, the namespace
// it must be unique in (one breakdown).
func (p *parser) ruleID(n *node, path string, ids map[string]string) string {
	v := n.get("id")
	if v == nil {
		p.add(join(path, "id"), "required")
		return ""
	}
	s, ok := p.str(v, join(path, "id"))
	if !ok {
		return ""
	}
	if !idPattern.MatchString(s) {
		p.add(join(path, "id"), strconv.Quote(s)+" must be 1 to 64 of a-z, 0-9 and -")
		return s
	}
	if first, dup := ids[s]; dup {
		p.add(join(path, "id"), "duplicate id "+strconv.Quote(s)+" (first used at "+first+")")
		return s
	}
	ids[s] = join(path, "id")
	return s
}

func (p *parser) description(n *node, path string) string {
	if v := n.get("description"); v != nil {
		s, _ := p.str(v, join(path, "description"))
		return s
	}
	return ""
}

func (p *parser) points(n *node, path string) float64 {
	v := n.get("points")
	if v == nil {
		p.add(join(path, "points"), "required")
		return 0
	}
	f, _ := p.num(v, join(path, "points"))
	return f
}

// compileFitRules reads a list of fit rules at path (the lead's `fit`, or
// `accounts.fit`), their ids unique within ids.
func (p *parser) compileFitRules(v *node, path string, ids map[string]string) []fitRule {
	if v == nil {
		return nil
	}
	items, ok := p.list(v, path)
	if !ok {
		return nil
	}
	if len(items) > maxRules {
		p.add(path, "more than "+strconv.Itoa(maxRules)+" rules")
		items = items[:maxRules]
	}
	var out []fitRule
	for i, it := range items {
		rpath := index(path, i)
		if !p.mapping(it, rpath, "id", "description", "field", "match", "points") {
			continue
		}
		fr := fitRule{id: p.ruleID(it, rpath, ids), desc: p.description(it, rpath), points: p.points(it, rpath)}
		if f := it.get("field"); f == nil {
			p.add(join(rpath, "field"), "required")
		} else if s, ok := p.str(f, join(rpath, "field")); ok {
			if s == "" {
				p.add(join(rpath, "field"), "must not be empty")
			}
			fr.field = s
		}
		if m := it.get("match"); m == nil {
			p.add(join(rpath, "match"), "required")
		} else {
			fr.match = p.matcher(m, join(rpath, "match"), p.lists)
		}
		out = append(out, fr)
	}
	return out
}

// compileEngagement reads the engagement section: decay, the overall max,
// groups, rules, then bursts (which name rules).
func (p *parser) compileEngagement(c *compiled, e *node) {
	if e == nil {
		c.burstsOfRule = [][]int32{}
		return
	}
	if !p.mapping(e, "engagement", "decay", "max", "groups", "rules", "bursts") {
		return
	}
	if d := e.get("decay"); d != nil {
		p.compileDecay(c, d)
	}
	if v := e.get("max"); v != nil {
		if f, ok := p.num(v, "engagement.max"); ok {
			if f < 0 {
				p.add("engagement.max", "must not be negative")
			}
			c.engMax, c.hasEngMax = f, true
		}
	}
	if g := e.get("groups"); g != nil {
		p.compileGroups(c, g)
	}
	if v := e.get("rules"); v != nil {
		p.compileEngagementRules(c, v)
	}
	c.burstsOfRule = make([][]int32, len(c.eng))
	if v := e.get("bursts"); v != nil {
		p.compileBursts(c, v)
	}
}

func (p *parser) compileDecay(c *compiled, d *node) {
	if !p.mapping(d, "engagement.decay", "half_life_days", "expire_after_days", "none") {
		return
	}
	if len(d.keys) != 1 {
		p.add("engagement.decay", "give exactly one of half_life_days, expire_after_days, none")
	}
	if v := d.get("half_life_days"); v != nil {
		if f, ok := p.num(v, "engagement.decay.half_life_days"); ok {
			if f <= 0 || f > maxDays {
				p.add("engagement.decay.half_life_days", "must be more than 0 and at most "+strconv.Itoa(maxDays))
			} else {
				c.decay = newHalfLife(f)
			}
		}
	}
	if v := d.get("expire_after_days"); v != nil {
		if n, ok := p.integer(v, "engagement.decay.expire_after_days", 1, maxDays); ok {
			c.decay = decay{kind: decayExpire, expire: int32(n), zeroAge: int32(n)}
		}
	}
	if v := d.get("none"); v != nil {
		if b, ok := p.boolean(v, "engagement.decay.none"); ok && !b {
			p.add("engagement.decay.none", "must be true (omit it to choose another form)")
		}
	}
}

func (p *parser) compileGroups(c *compiled, g *node) {
	if !p.mapping(g, "engagement.groups") {
		return
	}
	for i, name := range g.keys {
		path := join("engagement.groups", name)
		if !idPattern.MatchString(name) {
			p.add(path, "group name must be 1 to 64 of a-z, 0-9 and -")
		}
		gd := groupDef{name: name}
		if p.mapping(g.vals[i], path, "max", "description") {
			gd.desc = p.description(g.vals[i], path)
			if v := g.vals[i].get("max"); v == nil {
				p.add(join(path, "max"), "required")
			} else if f, ok := p.num(v, join(path, "max")); ok {
				if f < 0 {
					p.add(join(path, "max"), "must not be negative")
				}
				gd.max = f
			}
		}
		p.groupIdx[name] = len(c.groups)
		c.groups = append(c.groups, gd)
	}
}

// groupRef resolves a rule's or burst's `group`, -1 for none.
func (p *parser) groupRef(n *node, path string) int {
	v := n.get("group")
	if v == nil {
		return -1
	}
	s, ok := p.str(v, join(path, "group"))
	if !ok {
		return -1
	}
	gi, ok := p.groupIdx[s]
	if !ok {
		p.add(join(path, "group"), "unknown group "+strconv.Quote(s)+" (declare it under engagement.groups)")
		return -1
	}
	return gi
}

// eventType reads an event type at path and checks it is known; hint ends
// the "did you mean" message.
func (p *parser) eventType(c *compiled, v *node, path, hint string) (string, bool) {
	s, ok := p.str(v, path)
	if !ok {
		return "", false
	}
	if !c.known[s] {
		p.add(path, "unknown event type "+strconv.Quote(s)+" (did you mean "+strconv.Quote(closest(s, slices.Sorted(maps.Keys(c.known))))+"?"+hint+")")
		return s, false
	}
	return s, true
}

func (p *parser) compileEngagementRules(c *compiled, v *node) {
	items, ok := p.list(v, "engagement.rules")
	if !ok {
		return
	}
	if len(items) > maxRules {
		p.add("engagement.rules", "more than "+strconv.Itoa(maxRules)+" rules")
		items = items[:maxRules]
	}
	for i, it := range items {
		path := index("engagement.rules", i)
		if !p.mapping(it, path, "id", "description", "event", "where", "points", "max_per_day", "max_total", "group") {
			continue
		}
		er := p.engagementRule(c, it, path)
		if er.id != "" {
			if _, dup := c.ruleIdx[er.id]; !dup {
				c.ruleIdx[er.id] = int32(len(c.eng))
			}
		}
		c.byType[er.event] = append(c.byType[er.event], int32(len(c.eng)))
		c.eng = append(c.eng, er)
	}
}

func (p *parser) engagementRule(c *compiled, it *node, path string) engRule {
	er := engRule{id: p.ruleID(it, path, p.ids), desc: p.description(it, path), points: p.points(it, path), group: p.groupRef(it, path)}
	if ev := it.get("event"); ev == nil {
		p.add(join(path, "event"), "required")
	} else {
		er.event, _ = p.eventType(c, ev, join(path, "event"), " declare new types in event_types")
	}
	if w := it.get("where"); w != nil && p.mapping(w, join(path, "where")) {
		for j, field := range w.keys {
			er.where = append(er.where, cond{field: field, m: p.matcher(w.vals[j], join(join(path, "where"), field), p.lists)})
		}
	}
	if v := it.get("max_per_day"); v != nil {
		if n, ok := p.integer(v, join(path, "max_per_day"), 1, math.MaxInt32); ok {
			er.maxPerDay = uint32(n)
		}
	}
	if v := it.get("max_total"); v != nil {
		if n, ok := p.integer(v, join(path, "max_total"), 1, math.MaxInt32); ok {
			er.maxTotal = uint32(n)
		}
	}
	er.dayCap = math.MaxUint32
	if er.maxPerDay > 0 {
		er.dayCap = er.maxPerDay
	}
	if er.maxTotal > 0 && er.maxTotal < er.dayCap {
		er.dayCap = er.maxTotal
	}
	return er
}

func (p *parser) compileBursts(c *compiled, v *node) {
	items, ok := p.list(v, "engagement.bursts")
	if !ok {
		return
	}
	if len(items) > maxRules {
		p.add("engagement.bursts", "more than "+strconv.Itoa(maxRules)+" bursts")
		items = items[:maxRules]
	}
	for i, it := range items {
		path := index("engagement.bursts", i)
		if !p.mapping(it, path, "id", "description", "rule", "min_count", "within_days", "points", "group") {
			continue
		}
		br := p.burst(c, it, path)
		if br.id != "" {
			c.burstIdx[br.id] = int32(len(c.bursts))
		}
		if br.rule >= 0 {
			c.burstsOfRule[br.rule] = append(c.burstsOfRule[br.rule], int32(len(c.bursts)))
		}
		c.bursts = append(c.bursts, br)
	}
}

func (p *parser) burst(c *compiled, it *node, path string) burstRule {
	br := burstRule{id: p.ruleID(it, path, p.ids), desc: p.description(it, path), points: p.points(it, path), group: p.groupRef(it, path), rule: -1}
	if rv := it.get("rule"); rv == nil {
		p.add(join(path, "rule"), "required")
	} else if s, ok := p.str(rv, join(path, "rule")); ok {
		if ri, ok := c.ruleIdx[s]; ok {
			br.rule = ri
		} else {
			msg := "no engagement rule " + strconv.Quote(s)
			if len(c.ruleIdx) > 0 {
				msg += " (did you mean " + strconv.Quote(closest(s, slices.Sorted(maps.Keys(c.ruleIdx)))) + "?)"
			}
			p.add(join(path, "rule"), msg)
		}
	}
	if v := it.get("min_count"); v == nil {
		p.add(join(path, "min_count"), "required")
	} else if n, ok := p.integer(v, join(path, "min_count"), 1, math.MaxInt32); ok {
		br.minCount = uint32(n)
	}
	if v := it.get("within_days"); v == nil {
		p.add(join(path, "within_days"), "required")
	} else if n, ok := p.integer(v, join(path, "within_days"), 1, maxDays); ok {
		br.withinDays = int32(n)
	}
	return br
}

// compileMQL reads the required mql section.
func (p *parser) compileMQL(c *compiled, m *node) {
	if m == nil {
		p.add("mql", "required (fit_min, engagement_min, instant_on)")
		return
	}
	if !p.mapping(m, "mql", "fit_min", "engagement_min", "instant_on") {
		return
	}
	c.fitMin, _ = p.requiredNum(m, "mql", "fit_min")
	c.engMin, _ = p.requiredNum(m, "mql", "engagement_min")
	v := m.get("instant_on")
	if v == nil {
		return
	}
	items, ok := p.list(v, "mql.instant_on")
	if !ok {
		return
	}
	for i, it := range items {
		path := index("mql.instant_on", i)
		s, ok := p.str(it, path)
		if !ok {
			continue
		}
		if !c.known[s] {
			p.add(path, "unknown event type "+strconv.Quote(s)+" (did you mean "+strconv.Quote(closest(s, slices.Sorted(maps.Keys(c.known))))+"?)")
		} else if isOutcome(s) {
			p.add(path, strconv.Quote(s)+" is a sales outcome, not a hand-raise")
		}
		c.instantOn[s] = true
	}
}

// requiredNum reads the number under key of m, reporting it when missing.
func (p *parser) requiredNum(m *node, path, key string) (float64, bool) {
	v := m.get(key)
	if v == nil {
		p.add(join(path, key), "required")
		return 0, false
	}
	return p.num(v, join(path, key))
}

func (p *parser) compileNurture(c *compiled, n *node) {
	if n == nil || !p.mapping(n, "nurture", "after_days_in_mql") {
		return
	}
	if v := n.get("after_days_in_mql"); v == nil {
		p.add("nurture.after_days_in_mql", "required (omit nurture to never nurture)")
	} else if d, ok := p.integer(v, "nurture.after_days_in_mql", 1, maxDays); ok {
		c.nurtureDays = int32(d)
	}
}

func (p *parser) compileExpiry(c *compiled, x *node) {
	if x == nil || !p.mapping(x, "expiry", "after_days_inactive") {
		return
	}
	if v := x.get("after_days_inactive"); v == nil {
		p.add("expiry.after_days_inactive", "required (omit expiry to never expire)")
	} else if d, ok := p.integer(v, "expiry.after_days_inactive", 1, maxDays); ok {
		c.expiryDays = int32(d)
	}
}
