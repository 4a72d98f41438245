package ingest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/leadscore/leadscore/shared/httpapi"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// Limits on one event (docs/api.md "Limits"). They keep one event far below the
// SQS message limit and the lead item far below DynamoDB's 400 KB, and they
// are generous for what a tracker or a form really sends.
const (
	MaxEvents         = 100  // events in one POST /v1/events
	MaxEventIDLen     = 128  // also the pattern's bound
	MaxTypeLen        = 64   // event type names
	MaxAnonymousIDLen = 128  // cookie ids (UUIDs, GA client ids) are far shorter
	MaxUserIDLen      = 256  // a sender's own id for the person (Segment's userId)
	MaxAttributeLen   = 256  // each string in "lead"
	MaxPropertyLen    = 2048 // each string in "properties" (URLs can be long)
	MaxKeys           = 50   // keys in "lead" and in "properties", each
	MaxKeyLen         = 64   // a key of "lead" or "properties"
	// FutureSkew is how far in the future occurred_at may be (client clocks
	// drift); docs/scoring.md relies on no event being dated later than that.
	FutureSkew = 5 * time.Minute
)

// earliestOccurredAt rejects dates no real lead activity has: a year-1 or
// 1970 timestamp is a client bug, and it would be scored as a very old event.
var earliestOccurredAt = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

var (
	eventIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)
	leadKeyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
)

// eventFields are the fields of docs/api.md "Event"; anything else is
// reported, because a misspelt "occured_at" would otherwise silently default
// to the time received and mis-date the event.
var eventFields = []string{"event_id", "type", "occurred_at", "email", "anonymous_id", "user_id",
	"account_id", "account", "lead", "properties"}

// leadStringFields and leadNumberFields are the documented lead attributes.
var (
	leadStringFields = map[string]bool{"first_name": true, "last_name": true, "company": true, "job_title": true,
		"industry": true, "country": true, "phone": true}
	leadNumberFields = map[string]bool{"company_size": true, "annual_revenue": true}
	// reservedLeadFields are attributes scoring derives itself.
	reservedLeadFields = map[string]string{
		"email":        "email belongs at the top level of the event, not in lead",
		"email_domain": "email_domain is derived from the email and cannot be set",
	}
	funnelStages = map[string]bool{"top": true, "middle": true, "bottom": true}
)

// normalizer validates raw events and turns them into scoring.Events,
// collecting every problem instead of stopping at the first.
type normalizer struct {
	now   time.Time
	rules *scoring.Rules
	// form makes problem paths the form's field names ("company_size")
	// rather than the event's ("lead.company_size").
	form    bool
	details []httpapi.Detail
	// unknownType is set when a type was not known to rules, so the caller
	// can refresh stale cached rules and try again before answering 400.
	unknownType bool
}

func (n *normalizer) problem(field, format string, args ...any) {
	n.details = append(n.details, httpapi.Detail{Field: field, Message: fmt.Sprintf(format, args...)})
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// path names a field of the event for problem reports.
func (n *normalizer) path(prefix, group, name string) string {
	if n.form {
		return name
	}
	if group != "" {
		name = group + "." + name
	}
	return join(prefix, name)
}

// event validates one raw event (a decoded JSON object) found at prefix and
// returns it normalized. ok is false when it had a problem (recorded).
func (n *normalizer) event(prefix string, raw any) (ev scoring.Event, ok bool) {
	before := len(n.details)
	obj, isObj := raw.(map[string]any)
	if !isObj {
		field := prefix
		if field == "" {
			field = "(body)"
		}
		n.problem(field, "must be an event object, got %s", jsonKind(raw))
		return ev, false
	}
	for k := range obj {
		if !contains(eventFields, k) {
			msg := "unknown field"
			if c, d := scoring.Nearest(k, eventFields); d <= 2 {
				msg += fmt.Sprintf("; did you mean %q?", c)
			}
			n.problem(join(prefix, k), "%s", msg)
		}
	}

	switch v := obj["event_id"].(type) {
	case nil:
		ev.EventID = NewEventID()
	case string:
		if v == "" {
			n.problem(n.path(prefix, "", "event_id"), "must not be empty; leave it out to have one generated")
		} else if !eventIDPattern.MatchString(v) {
			n.problem(n.path(prefix, "", "event_id"), "must match [A-Za-z0-9_.:-]{1,128}")
		} else {
			ev.EventID = v
		}
	default:
		n.problem(n.path(prefix, "", "event_id"), "must be a string, got %s", jsonKind(v))
	}

	switch v := obj["type"].(type) {
	case nil:
		n.problem(n.path(prefix, "", "type"), "is required")
	case string:
		switch {
		case v == "":
			n.problem(n.path(prefix, "", "type"), "is required")
		case len(v) > MaxTypeLen:
			n.problem(n.path(prefix, "", "type"), "is longer than %d characters", MaxTypeLen)
		case !n.rules.KnownEventType(v):
			n.unknownType = true
			msg := fmt.Sprintf("unknown event type %q", v)
			if c := n.rules.ClosestEventType(v); c != "" {
				msg += fmt.Sprintf("; did you mean %q?", c)
			}
			n.problem(n.path(prefix, "", "type"), "%s", msg)
		default:
			ev.Type = v
		}
	default:
		n.problem(n.path(prefix, "", "type"), "must be a string, got %s", jsonKind(v))
	}

	ev.OccurredAt = n.now
	if s := n.str(obj, prefix, "", "occurred_at", 64); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		switch {
		case err != nil:
			n.problem(n.path(prefix, "", "occurred_at"), "must be an RFC 3339 date-time such as 2026-11-22T10:15:00Z")
		case t.After(n.now.Add(FutureSkew)):
			n.problem(n.path(prefix, "", "occurred_at"), "is more than %s in the future", FutureSkew)
		case t.Before(earliestOccurredAt):
			n.problem(n.path(prefix, "", "occurred_at"), "is before 2000-01-01")
		default:
			ev.OccurredAt = t.UTC()
		}
	}

	if raw := n.str(obj, prefix, "", "email", leadscore.MaxEmailLen+32); raw != "" {
		email, idnaErr := leadscore.CanonicalEmail(raw)
		switch {
		case len(email) > leadscore.MaxEmailLen:
			n.problem(n.path(prefix, "", "email"), "is longer than %d characters", leadscore.MaxEmailLen)
		case !leadscore.ValidEmail(email):
			// The address itself is not echoed: error bodies get logged by
			// clients and proxies, and it is personal data.
			n.problem(n.path(prefix, "", "email"), "is not a valid email address")
		case idnaErr != nil:
			n.problem(n.path(prefix, "", "email"), "has a domain that is not a valid internationalized domain name (IDNA)")
		default:
			ev.Email = email
		}
	}
	if id := n.str(obj, prefix, "", "anonymous_id", MaxAnonymousIDLen); id != "" {
		if !printableNoSpace(id) {
			n.problem(n.path(prefix, "", "anonymous_id"), "must be printable ASCII without spaces")
		} else {
			ev.AnonymousID = id
		}
	}
	n.sourceFields(obj, prefix, &ev)
	if ev.Email == "" && ev.AnonymousID == "" && ev.UserID == "" &&
		!n.has(obj, "email") && !n.has(obj, "anonymous_id") && !n.has(obj, "user_id") {
		n.problem(n.path(prefix, "", "email"), "an email, an anonymous_id or a user_id is required")
	}

	ev.Lead = n.lead(obj["lead"], prefix)
	ev.Properties = n.properties(obj["properties"], prefix)
	return ev, len(n.details) == before
}

// sourceFields reads what a source knows besides the email and cookie: the
// sender's own id for the person, and the account (docs/api.md "Event").
func (n *normalizer) sourceFields(obj map[string]any, prefix string, ev *scoring.Event) {
	if id := strings.TrimSpace(n.str(obj, prefix, "", "user_id", MaxUserIDLen)); id != "" {
		if !printableText(id) {
			n.problem(n.path(prefix, "", "user_id"), "must be printable text")
		} else {
			ev.UserID = id
		}
	}
	if id := n.str(obj, prefix, "", "account_id", MaxEventIDLen); id != "" {
		if !eventIDPattern.MatchString(id) {
			n.problem(n.path(prefix, "", "account_id"), "must match [A-Za-z0-9_.:-]{1,128}")
		} else {
			ev.AccountID = id
		}
	}
	ev.Account = n.account(obj["account"], prefix)
}

// account validates the account's attributes: a flat object like lead.
func (n *normalizer) account(raw any, prefix string) map[string]any {
	if raw == nil {
		return nil
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		n.problem(join(prefix, "account"), "must be an object, got %s", jsonKind(raw))
		return nil
	}
	if len(obj) > MaxKeys {
		n.problem(join(prefix, "account"), "has %d attributes; at most %d are accepted", len(obj), MaxKeys)
		return nil
	}
	out := make(map[string]any, len(obj))
	for _, k := range sortedKeys(obj) {
		p := n.path(prefix, "account", k)
		switch {
		case obj[k] == nil:
		case !leadKeyPattern.MatchString(k):
			n.problem(p, "attribute names must match [a-z][a-z0-9_]{0,63}")
		case leadNumberFields[k]:
			if f, ok := n.number(p, obj[k]); ok {
				out[k] = f
			}
		default:
			if v, ok := n.scalar(p, obj[k], MaxAttributeLen); ok {
				out[k] = v
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// printableText is text without control characters.
func printableText(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return utf8.ValidString(s)
}

// has reports whether obj carries a non-empty value for key (a present but
// malformed one has already been reported, so "required" would be noise).
func (n *normalizer) has(obj map[string]any, key string) bool {
	v, ok := obj[key]
	if !ok || v == nil {
		return false
	}
	s, isStr := v.(string)
	return !isStr || strings.TrimSpace(s) != ""
}

// str returns obj[key] as a string, reporting a non-string or an oversized
// one. Absent and null give "".
func (n *normalizer) str(obj map[string]any, prefix, group, key string, max int) string {
	v, ok := obj[key]
	if !ok || v == nil {
		return ""
	}
	s, isStr := v.(string)
	if !isStr {
		n.problem(n.path(prefix, group, key), "must be a string, got %s", jsonKind(v))
		return ""
	}
	if utf8.RuneCountInString(s) > max {
		n.problem(n.path(prefix, group, key), "is longer than %d characters", max)
		return ""
	}
	return s
}

func (n *normalizer) lead(raw any, prefix string) map[string]any {
	if raw == nil {
		return nil
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		n.problem(join(prefix, "lead"), "must be an object, got %s", jsonKind(raw))
		return nil
	}
	if len(obj) > MaxKeys {
		n.problem(join(prefix, "lead"), "has %d attributes; at most %d are accepted", len(obj), MaxKeys)
		return nil
	}
	out := make(map[string]any, len(obj))
	for _, k := range sortedKeys(obj) {
		v := obj[k]
		p := n.path(prefix, "lead", k)
		if why, reserved := reservedLeadFields[k]; reserved {
			n.problem(p, "%s", why)
			continue
		}
		if v == nil {
			continue
		}
		switch {
		case leadNumberFields[k]:
			if f, ok := n.number(p, v); ok {
				out[k] = f
			}
		case leadStringFields[k]:
			if s := strings.TrimSpace(n.str(obj, prefix, "lead", k, MaxAttributeLen)); s != "" {
				out[k] = s
			}
		default:
			if !leadKeyPattern.MatchString(k) {
				n.problem(p, "attribute names must match [a-z][a-z0-9_]{0,63}")
				continue
			}
			if val, ok := n.scalar(p, v, MaxAttributeLen); ok {
				out[k] = val
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (n *normalizer) properties(raw any, prefix string) map[string]any {
	if raw == nil {
		return nil
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		n.problem(join(prefix, "properties"), "must be an object, got %s", jsonKind(raw))
		return nil
	}
	if len(obj) > MaxKeys {
		n.problem(join(prefix, "properties"), "has %d properties; at most %d are accepted", len(obj), MaxKeys)
		return nil
	}
	out := make(map[string]any, len(obj))
	for _, k := range sortedKeys(obj) {
		v := obj[k]
		p := n.path(prefix, "properties", k)
		if len(k) == 0 || len(k) > MaxKeyLen || !printableNoSpace(k) {
			n.problem(p, "property names must be 1 to %d printable characters without spaces", MaxKeyLen)
			continue
		}
		if v == nil {
			continue
		}
		switch k {
		case "duration_s":
			if f, ok := n.number(p, v); ok {
				out[k] = f
			}
		case "funnel_stage":
			s, isStr := v.(string)
			if !isStr || !funnelStages[s] {
				n.problem(p, "must be one of top, middle, bottom")
				continue
			}
			out[k] = s
		default:
			if val, ok := n.scalar(p, v, MaxPropertyLen); ok {
				out[k] = val
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// number accepts a JSON number or a numeric string (forms and many CRMs send
// numbers as strings) that is finite and not negative.
func (n *normalizer) number(path string, v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case string:
		s := strings.TrimSpace(x)
		var err error
		f, err = strconv.ParseFloat(s, 64)
		if err != nil || s == "" {
			n.problem(path, "must be a number")
			return 0, false
		}
	default:
		n.problem(path, "must be a number, got %s", jsonKind(v))
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		n.problem(path, "must be a finite number, not negative")
		return 0, false
	}
	return f, true
}

// scalar accepts a string (bounded), a number or a boolean: the values the
// scoring operators can test.
func (n *normalizer) scalar(path string, v any, max int) (any, bool) {
	switch x := v.(type) {
	case string:
		if utf8.RuneCountInString(x) > max {
			n.problem(path, "is longer than %d characters", max)
			return nil, false
		}
		return x, true
	case float64:
		return x, true
	case bool:
		return x, true
	default:
		n.problem(path, "must be a string, number or boolean, got %s", jsonKind(v))
		return nil, false
	}
}

// NewEventID returns a random event id for an event sent without one.
func NewEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return "ev_" + hex.EncodeToString(b[:])
}

func printableNoSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	default:
		return "an unsupported value"
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// sortedKeys makes problem order, and so error bodies, deterministic.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
