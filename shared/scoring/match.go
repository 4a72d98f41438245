package scoring

import (
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

type opKind uint8

const (
	opEq opKind = iota
	opIn
	opPrefix
	opContains
	opRegex
	opGte
	opGt
	opLte
	opLt
	opExists
)

var operatorNames = []string{"eq", "in", "in_list", "prefix", "contains", "regex", "gte", "gt", "lte", "lt", "exists"}

// operand is one compiled operator. Strings are stored lower-cased because
// every string comparison except regex ignores case (see README).
type operand struct {
	kind   opKind
	str    string
	num    float64
	hasNum bool
	b      bool
	hasB   bool
	set    *strset
	nums   []float64
	bools  []bool
	re     *regexp.Regexp
}

// matcher is the compiled `match:` (or one `where:` field): all operators
// must hold.
type matcher []operand

func (p *parser) matcher(n *node, path string, lists map[string]*strset) matcher {
	if n.kind != 'm' {
		p.add(path, "must be a mapping of operators ("+strings.Join(operatorNames, ", ")+"), got "+typeName(n))
		return nil
	}
	if len(n.keys) == 0 {
		p.add(path, "needs at least one operator")
		return nil
	}
	var m matcher
	for i, op := range n.keys {
		if o, ok := p.operand(op, n.vals[i], path, lists); ok {
			m = append(m, o)
		}
	}
	return m
}

// operand compiles one operator of the matcher at path.
func (p *parser) operand(op string, v *node, path string, lists map[string]*strset) (operand, bool) {
	opPath := join(path, op)
	switch op {
	case "eq":
		if v.kind != 'v' || v.val == nil {
			p.add(opPath, "must be a string, number or boolean, got "+typeName(v))
			return operand{}, false
		}
		return scalarOperand(opEq, v.val), true
	case "in":
		return p.inOperand(v, opPath)
	case "in_list":
		s, ok := p.str(v, opPath)
		if !ok {
			return operand{}, false
		}
		set, ok := lists[s]
		if !ok {
			p.add(opPath, "unknown list "+strconv.Quote(s)+" (declare it under lists)")
			return operand{}, false
		}
		return operand{kind: opIn, set: set}, true
	case "prefix", "contains":
		s, ok := p.str(v, opPath)
		if !ok {
			return operand{}, false
		}
		if s == "" {
			p.add(opPath, "must not be empty")
			return operand{}, false
		}
		k := opPrefix
		if op == "contains" {
			k = opContains
		}
		return operand{kind: k, str: strings.ToLower(s)}, true
	case "regex":
		return p.regexOperand(v, opPath)
	case "gte", "gt", "lte", "lt":
		f, ok := p.num(v, opPath)
		if !ok {
			return operand{}, false
		}
		k := map[string]opKind{"gte": opGte, "gt": opGt, "lte": opLte, "lt": opLt}[op]
		return operand{kind: k, num: f, hasNum: true}, true
	case "exists":
		b, ok := p.boolean(v, opPath)
		return operand{kind: opExists, b: b}, ok
	}
	msg := "unknown operator " + strconv.Quote(op)
	if s, d := Nearest(op, operatorNames); d <= 2 {
		msg += " (did you mean " + strconv.Quote(s) + "?)"
	}
	p.add(path, msg)
	return operand{}, false
}

// inOperand compiles `in: [...]`; a numeric string also matches as a number.
func (p *parser) inOperand(v *node, opPath string) (operand, bool) {
	items, ok := p.list(v, opPath)
	if !ok {
		return operand{}, false
	}
	o := operand{kind: opIn}
	var strs []string
	for j, it := range items {
		if it.kind != 'v' || it.val == nil {
			p.add(index(opPath, j), "must be a string, number or boolean, got "+typeName(it))
			continue
		}
		switch x := it.val.(type) {
		case string:
			strs = append(strs, x)
			if f, ok := parseNumber(x); ok {
				o.nums = append(o.nums, f)
			}
		case float64:
			o.nums = append(o.nums, x)
		case bool:
			o.bools = append(o.bools, x)
		}
	}
	o.set = newStrset(strs)
	return o, true
}

func (p *parser) regexOperand(v *node, opPath string) (operand, bool) {
	s, ok := p.str(v, opPath)
	if !ok {
		return operand{}, false
	}
	if len(s) > 4096 {
		p.add(opPath, "regex longer than 4096 characters")
		return operand{}, false
	}
	re, err := regexp.Compile(s)
	if err != nil {
		p.add(opPath, "bad regex (RE2 syntax): "+err.Error())
		return operand{}, false
	}
	return operand{kind: opRegex, re: re}, true
}

func scalarOperand(k opKind, v any) operand {
	o := operand{kind: k}
	switch x := v.(type) {
	case string:
		o.str = strings.ToLower(x)
		o.num, o.hasNum = parseNumber(x)
		if b, err := strconv.ParseBool(o.str); err == nil && (o.str == "true" || o.str == "false") {
			o.b, o.hasB = b, true
		}
	case float64:
		o.num, o.hasNum = x, true
		o.str = strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		o.b, o.hasB = x, true
		o.str = strconv.FormatBool(x)
	}
	return o
}

// parseNumber accepts numeric strings because form posts deliver every field
// as text ("company_size=250"). Cheap pre-checks keep the common non-numeric
// case from allocating a strconv error.
func parseNumber(s string) (float64, bool) {
	if s == "" || len(s) > 64 {
		return 0, false
	}
	c := s[0]
	if !(c >= '0' && c <= '9') && c != '-' && c != '+' && c != '.' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9') && c != '-' && c != '+' && c != '.' && c != 'e' && c != 'E' {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// present reports whether v is a usable value: missing, null and empty strings
// are all "not known" (a form posted with an empty company field tells us
// nothing about the company).
func present(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	}
	return true
}

// numeric converts the value types events carry to a number.
func numeric(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case string:
		return parseNumber(x)
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float32:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

func (m matcher) match(v any) bool {
	ok := present(v)
	for i := range m {
		o := &m[i]
		if o.kind == opExists {
			if ok != o.b {
				return false
			}
			continue
		}
		if !ok || !o.matchValue(v) {
			return false
		}
	}
	return true
}

func (o *operand) matchValue(v any) bool {
	switch o.kind {
	case opEq:
		switch x := v.(type) {
		case string:
			if strings.EqualFold(x, o.str) {
				return true
			}
			if o.hasNum {
				if f, ok := parseNumber(x); ok {
					return f == o.num
				}
			}
			return false
		case bool:
			return o.hasB && x == o.b
		}
		f, ok := numeric(v)
		return ok && o.hasNum && f == o.num
	case opIn:
		switch x := v.(type) {
		case string:
			if o.set.has(x) {
				return true
			}
			if len(o.nums) > 0 {
				if f, ok := parseNumber(x); ok {
					return containsNum(o.nums, f)
				}
			}
			return false
		case bool:
			for _, b := range o.bools {
				if b == x {
					return true
				}
			}
			return false
		}
		f, ok := numeric(v)
		return ok && containsNum(o.nums, f)
	case opPrefix:
		s, ok := v.(string)
		return ok && hasPrefixFold(s, o.str)
	case opContains:
		s, ok := v.(string)
		return ok && containsFold(s, o.str)
	case opRegex:
		switch x := v.(type) {
		case string:
			return o.re.MatchString(x)
		case bool:
			return o.re.MatchString(strconv.FormatBool(x))
		}
		if f, ok := numeric(v); ok {
			return o.re.MatchString(strconv.FormatFloat(f, 'f', -1, 64))
		}
		return false
	case opGte, opGt, opLte, opLt:
		f, ok := numeric(v)
		if !ok {
			return false
		}
		switch o.kind {
		case opGte:
			return f >= o.num
		case opGt:
			return f > o.num
		case opLte:
			return f <= o.num
		}
		return f < o.num
	}
	return false
}

func containsNum(nums []float64, f float64) bool {
	for _, n := range nums {
		if n == f {
			return true
		}
	}
	return false
}

// strset is a case-insensitive set of strings: a short slice for small lists
// (cheaper than hashing), a map of lower-cased keys for long ones such as
// free_email_domains.
type strset struct {
	small []string
	m     map[string]struct{}
}

func newStrset(items []string) *strset {
	s := &strset{}
	if len(items) <= 8 {
		for _, it := range items {
			s.small = append(s.small, strings.ToLower(it))
		}
		return s
	}
	s.m = make(map[string]struct{}, len(items))
	for _, it := range items {
		s.m[strings.ToLower(it)] = struct{}{}
	}
	return s
}

func (s *strset) has(v string) bool {
	if s.m == nil {
		for _, it := range s.small {
			if strings.EqualFold(it, v) {
				return true
			}
		}
		return false
	}
	// Lower-case into a stack buffer: the compiler turns m[string(b)] into a
	// lookup without allocating, which keeps Apply allocation-free.
	var buf [128]byte
	if len(v) <= len(buf) {
		ascii := true
		for i := 0; i < len(v); i++ {
			c := v[i]
			if c >= utf8.RuneSelf {
				ascii = false
				break
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf[i] = c
		}
		if ascii {
			_, ok := s.m[string(buf[:len(v)])]
			return ok
		}
	}
	_, ok := s.m[strings.ToLower(v)]
	return ok
}

// hasPrefixFold reports whether s starts with prefix (already lower-case),
// ignoring case, without allocating.
func hasPrefixFold(s, prefix string) bool {
	for prefix != "" {
		if s == "" {
			return false
		}
		pr, pn := utf8.DecodeRuneInString(prefix)
		sr, sn := utf8.DecodeRuneInString(s)
		if !equalFoldRune(sr, pr) {
			return false
		}
		prefix, s = prefix[pn:], s[sn:]
	}
	return true
}

// containsFold reports whether sub (already lower-case) occurs in s,
// ignoring case, without allocating.
func containsFold(s, sub string) bool {
	if isASCII(s) && isASCII(sub) {
		for i := 0; i+len(sub) <= len(s); i++ {
			j := 0
			for ; j < len(sub); j++ {
				c := s[i+j]
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				if c != sub[j] {
					break
				}
			}
			if j == len(sub) {
				return true
			}
		}
		return false
	}
	for i := 0; ; {
		if hasPrefixFold(s[i:], sub) {
			return true
		}
		if i >= len(s) {
			return false
		}
		_, n := utf8.DecodeRuneInString(s[i:])
		i += n
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func equalFoldRune(a, b rune) bool {
	if a == b {
		return true
	}
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		return a == b
	}
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}
