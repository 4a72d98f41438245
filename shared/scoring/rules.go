package scoring

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// BuiltinEventTypes are the event types every rules document knows
// (CONTRACT.md "Event"); a document adds more with `event_types`.
var BuiltinEventTypes = []string{
	"page_view", "form_submit", "content_download", "trial_signup", "demo_use",
	"demo_request", "newsletter_signup", "webinar_register", "webinar_attend",
	"wishlist_add", "cart_add", "ad_click", "contact_request", "quote_request",
	"email_open", "email_click", "unsubscribe", "sales_accepted", "sales_rejected",
	"deal_won", "deal_lost",
	// What the sources send besides activity (docs/api.md "Sources"): a
	// Segment track call no rule maps (its name in property "event"), and
	// the identity calls, which score nothing unless a rule names them.
	TypeTrack, TypeIdentify, TypeGroup, TypeAlias,
}

// The event types of docs/api.md "Sources" that are not activity the
// default rules score.
const (
	TypeTrack    = "track"
	TypeIdentify = "identify"
	TypeGroup    = "group"
	TypeAlias    = "alias"
)

// Sales outcome event types drive the lifecycle rather than the score.
const (
	TypeSalesAccepted = "sales_accepted"
	TypeSalesRejected = "sales_rejected"
	TypeDealWon       = "deal_won"
	TypeDealLost      = "deal_lost"
)

// Limits that keep a hostile or mistaken document from costing the parser or
// every later evaluation more than a realistic one ever would.
const (
	maxDocumentBytes = 1 << 20
	maxRules         = 1000
	maxListItems     = 100000
	maxNesting       = 32
	maxDays          = 36500
)

// Problem is one thing wrong with a rules document. Path uses the document's
// own names ("engagement.rules[3].where.url") so a marketer can find it.
type Problem struct {
	Path    string `json:"field"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// RulesError lists every problem found in a document, not only the first, so
// one round trip through PUT /v1/rules shows the author all there is to fix.
type RulesError struct{ Problems []Problem }

func (e *RulesError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "invalid rules: " + strings.Join(parts, "; ")
}

// Rules is one parsed, validated and compiled rules document. It is immutable
// and safe for concurrent use; Version is the only field callers set, through
// WithVersion, because the store assigns versions on publish.
type Rules struct {
	Version int `json:"version"`
	c       *compiled
}

// compiled is shared by every version-copy of one document; states bind to
// it, so a WithVersion copy costs nothing to evaluate with.
type compiled struct {
	tree map[string]any

	fit    []fitRule
	eng    []engRule
	bursts []burstRule
	groups []groupDef

	engMax    float64
	hasEngMax bool
	decay     decay
	grades    []gradeBound

	fitMin, engMin float64
	instantOn      map[string]bool
	nurtureDays    int32
	expiryDays     int32

	byType       map[string][]int32
	eventTypes   []string
	known        map[string]bool
	ruleIdx      map[string]int32
	burstIdx     map[string]int32
	burstsOfRule [][]int32
}

type fitRule struct {
	id, desc string
	field    string
	match    matcher
	points   float64
}

type engRule struct {
	id, desc  string
	event     string
	where     []cond
	points    float64
	dayCap    uint32 // min(max_per_day, max_total), or MaxUint32
	maxPerDay uint32 // 0 = none
	maxTotal  uint32 // 0 = none
	group     int    // -1 = none
}

type burstRule struct {
	id, desc   string
	rule       int32
	minCount   uint32
	withinDays int32
	points     float64
	group      int
}

type groupDef struct {
	name, desc string
	max        float64
}

type gradeBound struct {
	name  string
	bound float64
}

type cond struct {
	field string
	m     matcher
}

const (
	decayNone = iota
	decayHalfLife
	decayExpire
)

// halfLivesToZero is where half-life decay is treated as exactly 0: 0.5^40 is
// about 9e-13, so no realistic point total can move a rounded score by then,
// and calling it 0 is what lets old days be dropped from the stored state.
const halfLivesToZero = 40

type decay struct {
	kind     int
	halfLife float64
	expire   int32
	zeroAge  int32 // ages >= zeroAge have factor 0 (MaxInt32: never)
	table    []float64
}

func (d *decay) factor(age int32) float64 {
	if age < 0 {
		age = 0
	}
	if age >= d.zeroAge {
		return 0
	}
	switch d.kind {
	case decayHalfLife:
		if int(age) < len(d.table) {
			return d.table[age]
		}
		return math.Exp2(-float64(age) / d.halfLife)
	default:
		return 1
	}
}

// ParseRules parses, validates and compiles a rules document, JSON or YAML
// (same shape; JSON is read as YAML). On invalid input it returns a
// *RulesError holding every problem found.
func ParseRules(doc []byte) (r *Rules, err error) {
	defer func() {
		// The YAML library is third-party code fed untrusted bytes; a panic
		// there must become a 400, never a crashed function.
		if p := recover(); p != nil {
			r, err = nil, &RulesError{Problems: []Problem{{Message: "document could not be read as YAML or JSON"}}}
		}
	}()
	if len(doc) > maxDocumentBytes {
		return nil, &RulesError{Problems: []Problem{{Message: "document larger than 1 MiB"}}}
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(doc))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &RulesError{Problems: []Problem{{Message: "empty document"}}}
		}
		return nil, &RulesError{Problems: []Problem{{Message: err.Error()}}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &RulesError{Problems: []Problem{{Message: "more than one YAML document; publish one"}}}
	}
	p := &parser{}
	n := p.convert(&root, "", 0)
	if len(p.probs) > 0 {
		return nil, &RulesError{Problems: p.probs}
	}
	c := p.compile(n)
	if len(p.probs) > 0 {
		return nil, &RulesError{Problems: p.probs}
	}
	return &Rules{Version: p.version, c: c}, nil
}

// Document returns the canonical JSON of the document (keys sorted, numbers
// as numbers), including "version", as GET /v1/rules serves it. Parsing it
// again gives the same rules.
func (r *Rules) Document() []byte {
	m := make(map[string]any, len(r.c.tree)+1)
	for k, v := range r.c.tree {
		m[k] = v
	}
	m["version"] = r.Version
	b, err := json.Marshal(m)
	if err != nil {
		// Only values that came out of the parser are in the tree.
		panic("scoring: rules document does not marshal: " + err.Error())
	}
	return b
}

// MarshalJSON makes a Rules value serialize as its document.
func (r *Rules) MarshalJSON() ([]byte, error) { return r.Document(), nil }

// WithVersion returns a copy of r carrying version v; the compiled rules are
// shared, so the copy is cheap and states need no rebinding work beyond ids.
func (r *Rules) WithVersion(v int) *Rules {
	cp := *r
	cp.Version = v
	return &cp
}

// InstantOn reports whether events of type t are hand-raises (mql.instant_on):
// ingestion sends them on the urgent queue so they are scored at once.
func (r *Rules) InstantOn(t string) bool { return r.c.instantOn[t] }

// KnownEventType reports whether t is a built-in type or declared in the
// document's event_types.
func (r *Rules) KnownEventType(t string) bool { return r.c.known[t] }

// EventTypes lists every known event type, sorted.
func (r *Rules) EventTypes() []string {
	out := make([]string, 0, len(r.c.known))
	for t := range r.c.known {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// ClosestEventType returns the known type nearest to t by edit distance
// (ties: alphabetical), for "unknown type, did you mean X" answers.
func (r *Rules) ClosestEventType(t string) string {
	return closest(t, r.EventTypes())
}

// Nearest returns the candidate with the smallest edit (Levenshtein)
// distance to s, ties going to the earlier candidate, and that distance; it
// is how every "did you mean" answer is chosen. Strings over 64 runes are
// never near anything: comparing them would cost their lengths' product,
// and names that long are not typos of ours.
func Nearest(s string, candidates []string) (string, int) {
	best, bestD := "", math.MaxInt
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best, bestD
}

// closest is Nearest for messages that always name a suggestion.
func closest(s string, candidates []string) string {
	c, _ := Nearest(s, candidates)
	return c
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		return math.MaxInt - 1
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// ---- generic tree ---------------------------------------------------------

// node is the document as a plain tree, with key order kept so problems are
// reported in the order the author wrote things.
type node struct {
	kind  byte // 'm' mapping, 's' sequence, 'v' scalar
	keys  []string
	vals  []*node
	items []*node
	val   any // string, float64, bool or nil
	isInt bool
}

func (n *node) get(key string) *node {
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

// plain turns the tree into encoding/json-friendly values for Document.
func (n *node) plain() any {
	switch n.kind {
	case 'm':
		m := make(map[string]any, len(n.keys))
		for i, k := range n.keys {
			m[k] = n.vals[i].plain()
		}
		return m
	case 's':
		s := make([]any, len(n.items))
		for i, it := range n.items {
			s[i] = it.plain()
		}
		return s
	}
	return n.val
}

type parser struct {
	probs   []Problem
	version int
}

func (p *parser) add(path, msg string) { p.probs = append(p.probs, Problem{Path: path, Message: msg}) }

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

func (p *parser) convert(y *yaml.Node, path string, depth int) *node {
	if depth > maxNesting {
		p.add(path, "nested too deeply")
		return &node{kind: 'v'}
	}
	switch y.Kind {
	case yaml.DocumentNode:
		if len(y.Content) == 0 {
			p.add(path, "empty document")
			return &node{kind: 'v'}
		}
		return p.convert(y.Content[0], path, depth+1)
	case yaml.AliasNode:
		// Aliases can expand exponentially; rules documents are short enough
		// to write out.
		p.add(path, "YAML aliases are not supported; write the value out")
		return &node{kind: 'v'}
	case yaml.MappingNode:
		n := &node{kind: 'm'}
		seen := map[string]bool{}
		for i := 0; i+1 < len(y.Content); i += 2 {
			k := y.Content[i]
			if k.Kind != yaml.ScalarNode {
				p.add(path, "keys must be plain strings")
				continue
			}
			if seen[k.Value] {
				p.add(join(path, k.Value), "duplicate key")
				continue
			}
			seen[k.Value] = true
			n.keys = append(n.keys, k.Value)
			n.vals = append(n.vals, p.convert(y.Content[i+1], join(path, k.Value), depth+1))
		}
		return n
	case yaml.SequenceNode:
		n := &node{kind: 's'}
		for i, c := range y.Content {
			n.items = append(n.items, p.convert(c, index(path, i), depth+1))
		}
		return n
	case yaml.ScalarNode:
		n := &node{kind: 'v'}
		switch y.ShortTag() {
		case "!!null":
		case "!!bool":
			b, err := strconv.ParseBool(strings.ToLower(y.Value))
			if err != nil {
				n.val = y.Value
			} else {
				n.val = b
			}
		case "!!int", "!!float":
			var v any
			if err := y.Decode(&v); err != nil {
				p.add(path, "not a number: "+strconv.Quote(y.Value))
				return n
			}
			switch x := v.(type) {
			case int:
				n.val, n.isInt = float64(x), true
			case int64:
				n.val, n.isInt = float64(x), true
			case uint64:
				n.val, n.isInt = float64(x), true
			case float64:
				if math.IsNaN(x) || math.IsInf(x, 0) {
					p.add(path, "must be a finite number")
					return n
				}
				n.val, n.isInt = x, x == math.Trunc(x)
			default:
				n.val = y.Value
			}
		default:
			n.val = y.Value
		}
		return n
	}
	p.add(path, "unsupported YAML node")
	return &node{kind: 'v'}
}

// ---- typed accessors --------------------------------------------------------

func typeName(n *node) string {
	switch n.kind {
	case 'm':
		return "a mapping"
	case 's':
		return "a list"
	}
	switch n.val.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "a value"
}

// mapping checks n is a mapping and, when allowed is given, that it has no
// other keys (no allowed keys: names are the author's, as in lists).
func (p *parser) mapping(n *node, path string, allowed ...string) bool {
	if n.kind != 'm' {
		p.add(path, "must be a mapping, got "+typeName(n))
		return false
	}
	if len(allowed) == 0 {
		return true
	}
	for _, k := range n.keys {
		ok := false
		for _, a := range allowed {
			if k == a {
				ok = true
				break
			}
		}
		if !ok {
			msg := "unknown key " + strconv.Quote(k)
			if s, d := Nearest(k, allowed); d <= 3 {
				msg += " (did you mean " + strconv.Quote(s) + "?)"
			}
			p.add(join(path, k), msg)
		}
	}
	return true
}

func (p *parser) str(n *node, path string) (string, bool) {
	if s, ok := n.val.(string); ok && n.kind == 'v' {
		return s, true
	}
	p.add(path, "must be a string, got "+typeName(n))
	return "", false
}

func (p *parser) num(n *node, path string) (float64, bool) {
	if f, ok := n.val.(float64); ok && n.kind == 'v' {
		return f, true
	}
	p.add(path, "must be a number, got "+typeName(n))
	return 0, false
}

func (p *parser) boolean(n *node, path string) (bool, bool) {
	if b, ok := n.val.(bool); ok && n.kind == 'v' {
		return b, true
	}
	p.add(path, "must be true or false, got "+typeName(n))
	return false, false
}

// integer accepts whole numbers within [lo, hi].
func (p *parser) integer(n *node, path string, lo, hi int) (int, bool) {
	f, ok := n.val.(float64)
	if !ok || n.kind != 'v' {
		p.add(path, "must be a whole number, got "+typeName(n))
		return 0, false
	}
	if f != math.Trunc(f) {
		p.add(path, "must be a whole number")
		return 0, false
	}
	if f < float64(lo) {
		if lo == 0 {
			p.add(path, "must not be negative")
		} else {
			p.add(path, "must be at least "+strconv.Itoa(lo))
		}
		return 0, false
	}
	if f > float64(hi) {
		p.add(path, "must be at most "+strconv.Itoa(hi))
		return 0, false
	}
	return int(f), true
}

func (p *parser) list(n *node, path string) ([]*node, bool) {
	if n.kind != 's' {
		p.add(path, "must be a list, got "+typeName(n))
		return nil, false
	}
	return n.items, true
}

var idPattern = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)
var typePattern = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)

// ---- compile -----------------------------------------------------------------

func (p *parser) compile(root *node) *compiled {
	c := &compiled{
		instantOn: map[string]bool{},
		byType:    map[string][]int32{},
		known:     map[string]bool{},
		ruleIdx:   map[string]int32{},
		burstIdx:  map[string]int32{},
	}
	if root.kind != 'm' {
		p.add("", "the document must be a mapping with fit, engagement, mql, ...; got "+typeName(root))
		return c
	}
	p.mapping(root, "", "version", "description", "event_types", "lists", "grades", "fit", "engagement", "mql", "nurture", "expiry")
	c.tree = root.plain().(map[string]any)
	delete(c.tree, "version")

	if v := root.get("version"); v != nil {
		if n, ok := p.integer(v, "version", 0, math.MaxInt32); ok {
			p.version = n
		}
	}
	if v := root.get("description"); v != nil {
		p.str(v, "description")
	}

	for _, t := range BuiltinEventTypes {
		c.known[t] = true
	}
	if v := root.get("event_types"); v != nil {
		if items, ok := p.list(v, "event_types"); ok {
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
	}

	lists := map[string]*strset{}
	for name, items := range builtinLists {
		lists[name] = newStrset(items)
	}
	if v := root.get("lists"); v != nil && p.mapping(v, "lists") {
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
			lists[name] = newStrset(strs)
		}
	}

	c.grades = []gradeBound{{"A", 80}, {"B", 60}, {"C", 40}, {"D", 20}}
	if v := root.get("grades"); v != nil && p.mapping(v, "grades") {
		c.grades = c.grades[:0]
		for i, name := range v.keys {
			path := join("grades", name)
			if name == "" || len(name) > 16 {
				p.add(path, "grade names are 1 to 16 characters")
				continue
			}
			if f, ok := p.num(v.vals[i], path); ok {
				c.grades = append(c.grades, gradeBound{name, f})
			}
		}
		// Highest bound first; equal bounds would make a grade unreachable.
		sort.SliceStable(c.grades, func(i, j int) bool { return c.grades[i].bound > c.grades[j].bound })
		for i := 1; i < len(c.grades); i++ {
			if c.grades[i].bound == c.grades[i-1].bound {
				p.add(join("grades", c.grades[i].name), "same bound as grade "+strconv.Quote(c.grades[i-1].name))
			}
		}
	}

	ids := map[string]string{} // id -> path where first defined
	claim := func(id, path string) {
		if first, dup := ids[id]; dup {
			p.add(path, "duplicate id "+strconv.Quote(id)+" (first used at "+first+")")
			return
		}
		ids[id] = path
	}
	ruleID := func(n *node, path string) string {
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
		claim(s, join(path, "id"))
		return s
	}
	desc := func(n *node, path string) string {
		if v := n.get("description"); v != nil {
			s, _ := p.str(v, join(path, "description"))
			return s
		}
		return ""
	}
	points := func(n *node, path string) float64 {
		v := n.get("points")
		if v == nil {
			p.add(join(path, "points"), "required")
			return 0
		}
		f, _ := p.num(v, join(path, "points"))
		return f
	}

	if v := root.get("fit"); v != nil {
		if items, ok := p.list(v, "fit"); ok {
			if len(items) > maxRules {
				p.add("fit", "more than "+strconv.Itoa(maxRules)+" rules")
				items = items[:maxRules]
			}
			for i, it := range items {
				path := index("fit", i)
				if !p.mapping(it, path, "id", "description", "field", "match", "points") {
					continue
				}
				fr := fitRule{id: ruleID(it, path), desc: desc(it, path), points: points(it, path)}
				if f := it.get("field"); f == nil {
					p.add(join(path, "field"), "required")
				} else if s, ok := p.str(f, join(path, "field")); ok {
					if s == "" {
						p.add(join(path, "field"), "must not be empty")
					}
					fr.field = s
				}
				if m := it.get("match"); m == nil {
					p.add(join(path, "match"), "required")
				} else {
					fr.match = p.matcher(m, join(path, "match"), lists)
				}
				c.fit = append(c.fit, fr)
			}
		}
	}

	groupIdx := map[string]int{}
	if e := root.get("engagement"); e != nil && p.mapping(e, "engagement", "decay", "max", "groups", "rules", "bursts") {
		c.decay = decay{kind: decayNone, zeroAge: math.MaxInt32}
		if d := e.get("decay"); d != nil && p.mapping(d, "engagement.decay", "half_life_days", "expire_after_days", "none") {
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
		if v := e.get("max"); v != nil {
			if f, ok := p.num(v, "engagement.max"); ok {
				if f < 0 {
					p.add("engagement.max", "must not be negative")
				}
				c.engMax, c.hasEngMax = f, true
			}
		}
		if g := e.get("groups"); g != nil && p.mapping(g, "engagement.groups") {
			for i, name := range g.keys {
				path := join("engagement.groups", name)
				if !idPattern.MatchString(name) {
					p.add(path, "group name must be 1 to 64 of a-z, 0-9 and -")
				}
				gd := groupDef{name: name}
				if p.mapping(g.vals[i], path, "max", "description") {
					gd.desc = desc(g.vals[i], path)
					if v := g.vals[i].get("max"); v == nil {
						p.add(join(path, "max"), "required")
					} else if f, ok := p.num(v, join(path, "max")); ok {
						if f < 0 {
							p.add(join(path, "max"), "must not be negative")
						}
						gd.max = f
					}
				}
				groupIdx[name] = len(c.groups)
				c.groups = append(c.groups, gd)
			}
		}
		groupRef := func(n *node, path string) int {
			v := n.get("group")
			if v == nil {
				return -1
			}
			s, ok := p.str(v, join(path, "group"))
			if !ok {
				return -1
			}
			gi, ok := groupIdx[s]
			if !ok {
				p.add(join(path, "group"), "unknown group "+strconv.Quote(s)+" (declare it under engagement.groups)")
				return -1
			}
			return gi
		}
		if v := e.get("rules"); v != nil {
			if items, ok := p.list(v, "engagement.rules"); ok {
				if len(items) > maxRules {
					p.add("engagement.rules", "more than "+strconv.Itoa(maxRules)+" rules")
					items = items[:maxRules]
				}
				for i, it := range items {
					path := index("engagement.rules", i)
					if !p.mapping(it, path, "id", "description", "event", "where", "points", "max_per_day", "max_total", "group") {
						continue
					}
					er := engRule{id: ruleID(it, path), desc: desc(it, path), points: points(it, path), group: groupRef(it, path)}
					if ev := it.get("event"); ev == nil {
						p.add(join(path, "event"), "required")
					} else if s, ok := p.str(ev, join(path, "event")); ok {
						if !c.known[s] {
							p.add(join(path, "event"), "unknown event type "+strconv.Quote(s)+" (did you mean "+strconv.Quote(closest(s, sortedKeys(c.known)))+"? declare new types in event_types)")
						}
						er.event = s
					}
					if w := it.get("where"); w != nil && p.mapping(w, join(path, "where")) {
						for j, field := range w.keys {
							er.where = append(er.where, cond{field: field, m: p.matcher(w.vals[j], join(join(path, "where"), field), lists)})
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
					if er.id != "" {
						if _, dup := c.ruleIdx[er.id]; !dup {
							c.ruleIdx[er.id] = int32(len(c.eng))
						}
					}
					c.byType[er.event] = append(c.byType[er.event], int32(len(c.eng)))
					c.eng = append(c.eng, er)
				}
			}
		}
		c.burstsOfRule = make([][]int32, len(c.eng))
		if v := e.get("bursts"); v != nil {
			if items, ok := p.list(v, "engagement.bursts"); ok {
				if len(items) > maxRules {
					p.add("engagement.bursts", "more than "+strconv.Itoa(maxRules)+" bursts")
					items = items[:maxRules]
				}
				for i, it := range items {
					path := index("engagement.bursts", i)
					if !p.mapping(it, path, "id", "description", "rule", "min_count", "within_days", "points", "group") {
						continue
					}
					br := burstRule{id: ruleID(it, path), desc: desc(it, path), points: points(it, path), group: groupRef(it, path), rule: -1}
					if rv := it.get("rule"); rv == nil {
						p.add(join(path, "rule"), "required")
					} else if s, ok := p.str(rv, join(path, "rule")); ok {
						ri, ok := c.ruleIdx[s]
						if !ok {
							msg := "no engagement rule " + strconv.Quote(s)
							if len(c.ruleIdx) > 0 {
								msg += " (did you mean " + strconv.Quote(closest(s, sortedKeys(c.ruleIdx))) + "?)"
							}
							p.add(join(path, "rule"), msg)
						}
						br.rule = ri
						if !ok {
							br.rule = -1
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
					if br.id != "" {
						c.burstIdx[br.id] = int32(len(c.bursts))
					}
					if br.rule >= 0 {
						c.burstsOfRule[br.rule] = append(c.burstsOfRule[br.rule], int32(len(c.bursts)))
					}
					c.bursts = append(c.bursts, br)
				}
			}
		}
	} else if e == nil {
		c.decay = decay{kind: decayNone, zeroAge: math.MaxInt32}
		c.burstsOfRule = [][]int32{}
	}

	if m := root.get("mql"); m == nil {
		p.add("mql", "required (fit_min, engagement_min, instant_on)")
	} else if p.mapping(m, "mql", "fit_min", "engagement_min", "instant_on") {
		if v := m.get("fit_min"); v == nil {
			p.add("mql.fit_min", "required")
		} else {
			c.fitMin, _ = p.num(v, "mql.fit_min")
		}
		if v := m.get("engagement_min"); v == nil {
			p.add("mql.engagement_min", "required")
		} else {
			c.engMin, _ = p.num(v, "mql.engagement_min")
		}
		if v := m.get("instant_on"); v != nil {
			if items, ok := p.list(v, "mql.instant_on"); ok {
				for i, it := range items {
					path := index("mql.instant_on", i)
					if s, ok := p.str(it, path); ok {
						if !c.known[s] {
							p.add(path, "unknown event type "+strconv.Quote(s)+" (did you mean "+strconv.Quote(closest(s, sortedKeys(c.known)))+"?)")
						} else if isOutcome(s) {
							p.add(path, strconv.Quote(s)+" is a sales outcome, not a hand-raise")
						}
						c.instantOn[s] = true
					}
				}
			}
		}
	}
	if n := root.get("nurture"); n != nil && p.mapping(n, "nurture", "after_days_in_mql") {
		if v := n.get("after_days_in_mql"); v == nil {
			p.add("nurture.after_days_in_mql", "required (omit nurture to never nurture)")
		} else if d, ok := p.integer(v, "nurture.after_days_in_mql", 1, maxDays); ok {
			c.nurtureDays = int32(d)
		}
	}
	if x := root.get("expiry"); x != nil && p.mapping(x, "expiry", "after_days_inactive") {
		if v := x.get("after_days_inactive"); v == nil {
			p.add("expiry.after_days_inactive", "required (omit expiry to never expire)")
		} else if d, ok := p.integer(v, "expiry.after_days_inactive", 1, maxDays); ok {
			c.expiryDays = int32(d)
		}
	}
	return c
}

func newHalfLife(h float64) decay {
	z := math.Ceil(halfLivesToZero * h)
	if z > math.MaxInt32-1 {
		z = math.MaxInt32 - 1
	}
	d := decay{kind: decayHalfLife, halfLife: h, zeroAge: int32(z)}
	n := min(int(z), 4096)
	d.table = make([]float64, n)
	for i := range d.table {
		d.table[i] = math.Exp2(-float64(i) / h)
	}
	return d
}

func isOutcome(t string) bool {
	switch t {
	case TypeSalesAccepted, TypeSalesRejected, TypeDealWon, TypeDealLost:
		return true
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// gradeOf returns the first grade whose bound fit reaches, else "F".
func (c *compiled) gradeOf(fit float64) string {
	for _, g := range c.grades {
		if fit >= g.bound {
			return g.name
		}
	}
	return "F"
}
