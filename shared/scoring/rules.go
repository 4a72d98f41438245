package scoring

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// BuiltinEventTypes are the event types every rules document knows
// (docs/api.md "Event"); a document adds more with `event_types`.
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

// The identity calls of docs/api.md "Sources" (TypeTrack is in sources.go):
// who someone is, which account they belong to, which ids are one person.
const (
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

	segment  map[string]string // segmentKey(Segment event name) -> event type
	accounts accountRules

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
	m := maps.Clone(r.c.tree)
	if m == nil {
		m = map[string]any{}
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

// Points maps every lead fit rule, engagement rule and burst id to its
// points: the published values the signals report compares suggestions
// with. (Account fit rules: AccountFitPoints.)
func (r *Rules) Points() map[string]float64 {
	c := r.c
	m := make(map[string]float64, len(c.fit)+len(c.eng)+len(c.bursts))
	for _, f := range c.fit {
		m[f.id] = f.points
	}
	for _, e := range c.eng {
		m[e.id] = e.points
	}
	for _, b := range c.bursts {
		m[b.id] = b.points
	}
	return m
}

// KnownEventType reports whether t is a built-in type or declared in the
// document's event_types.
func (r *Rules) KnownEventType(t string) bool { return r.c.known[t] }

// EventTypes lists every known event type, sorted.
func (r *Rules) EventTypes() []string { return slices.Sorted(maps.Keys(r.c.known)) }

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

	// What one compile pass shares between sections (see compile.go).
	lists    map[string]*strset // named lists for in_list: shipped, then the document's
	ids      map[string]string  // fit, engagement and burst ids -> path where first used
	groupIdx map[string]int     // engagement group name -> index in compiled.groups
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
		return p.scalar(y, path)
	}
	p.add(path, "unsupported YAML node")
	return &node{kind: 'v'}
}

// scalar converts a YAML scalar: null, a boolean, a finite number (whole
// numbers flagged so Document writes them back as integers), else a string.
func (p *parser) scalar(y *yaml.Node, path string) *node {
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

// gradeOf returns the first grade whose bound fit reaches, else "F".
func (c *compiled) gradeOf(fit float64) string {
	for _, g := range c.grades {
		if fit >= g.bound {
			return g.name
		}
	}
	return "F"
}
