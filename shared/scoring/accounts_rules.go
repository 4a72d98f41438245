package scoring

import (
	"maps"
	"math"
	"slices"
	"strconv"
)

// accountRules is the compiled `accounts` section (docs/scoring.md section
// 7). A document without the section gets the zero-config form: membership
// by account_id or non-free email domain, engagement with the defaults below,
// no fit rules (fit 0) and no MQA.
type accountRules struct {
	excludeName string
	exclude     *strset // nil: no domain is excluded

	fit    []fitRule
	grades []gradeBound

	perContactMax float64
	engagedMin    float64
	breadthPoints float64
	breadthMax    float64

	mqa              bool // false: no mqa section, accounts never become MQAs
	mqaFitMin        float64
	mqaEngagementMin float64
	mqaContactsMin   int
}

// Defaults of accounts.engagement, used for each key the document leaves
// out (and when it has no accounts section): the values docs/scoring.md
// section 7 shows, which keep one enthusiast from carrying an account.
const (
	defaultPerContactMax = 50
	defaultEngagedMin    = 10
	defaultBreadthPoints = 10
	defaultBreadthMax    = 30
	defaultExcludeList   = "free_email_domains"
)

// compileAccounts reads the accounts section; it runs after lists and
// grades, which it refers to.
func (p *parser) compileAccounts(c *compiled, v *node) {
	a := &c.accounts
	a.excludeName = defaultExcludeList
	a.exclude = p.lists[defaultExcludeList]
	a.grades = c.grades
	a.perContactMax, a.engagedMin = defaultPerContactMax, defaultEngagedMin
	a.breadthPoints, a.breadthMax = defaultBreadthPoints, defaultBreadthMax
	if v == nil || !p.mapping(v, "accounts", "description", "exclude_domains", "fit", "grades", "engagement", "mqa") {
		return
	}
	if d := v.get("description"); d != nil {
		p.str(d, "accounts.description")
	}
	if x := v.get("exclude_domains"); x != nil {
		p.compileExcludeDomains(a, x)
	}
	a.fit = p.compileFitRules(v.get("fit"), "accounts.fit", map[string]string{})
	a.grades = p.compileGrades(v.get("grades"), "accounts.grades", c.grades)
	if e := v.get("engagement"); e != nil {
		p.compileAccountEngagement(a, e)
	}
	if m := v.get("mqa"); m != nil {
		p.compileMQA(a, m)
	}
}

func (p *parser) compileExcludeDomains(a *accountRules, x *node) {
	name, ok := p.str(x, "accounts.exclude_domains")
	if !ok {
		return
	}
	set, ok := p.lists[name]
	if !ok {
		p.add("accounts.exclude_domains", "unknown list "+strconv.Quote(name)+" (did you mean "+strconv.Quote(closest(name, slices.Sorted(maps.Keys(p.lists))))+"? declare it under lists)")
		return
	}
	a.excludeName, a.exclude = name, set
}

func (p *parser) compileAccountEngagement(a *accountRules, e *node) {
	const path = "accounts.engagement"
	if !p.mapping(e, path, "per_contact_max", "engaged_min", "breadth_points", "breadth_max") {
		return
	}
	for _, f := range []struct {
		key string
		dst *float64
	}{
		{"per_contact_max", &a.perContactMax},
		{"engaged_min", &a.engagedMin},
		{"breadth_points", &a.breadthPoints},
		{"breadth_max", &a.breadthMax},
	} {
		if v := e.get(f.key); v != nil {
			if n, ok := p.num(v, join(path, f.key)); ok {
				if n < 0 {
					p.add(join(path, f.key), "must not be negative")
				}
				*f.dst = n
			}
		}
	}
}

func (p *parser) compileMQA(a *accountRules, m *node) {
	const path = "accounts.mqa"
	if !p.mapping(m, path, "fit_min", "engagement_min", "engaged_contacts_min") {
		return
	}
	a.mqa = true
	a.mqaFitMin, _ = p.requiredNum(m, path, "fit_min")
	a.mqaEngagementMin, _ = p.requiredNum(m, path, "engagement_min")
	a.mqaContactsMin = 1
	if v := m.get("engaged_contacts_min"); v != nil {
		if n, ok := p.integer(v, join(path, "engaged_contacts_min"), 1, math.MaxInt32); ok {
			a.mqaContactsMin = n
		}
	}
}

// excluded reports whether domain is on the accounts.exclude_domains list.
func (a *accountRules) excluded(domain string) bool {
	return a.exclude != nil && a.exclude.has(domain)
}

func (a *accountRules) gradeOf(fit float64) string {
	for _, g := range a.grades {
		if fit >= g.bound {
			return g.name
		}
	}
	return "F"
}
