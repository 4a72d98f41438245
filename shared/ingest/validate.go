package ingest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/leadscore/leadscore/shared/httpapi"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// Limits of POST /v1/events (docs/api.md "Limits"); the limits on one
// event's fields are leadscore.MaxKeys and the rest, shared with the other
// routes.
const (
	MaxEvents = 100 // events in one POST /v1/events
	// FutureSkew is how far in the future occurred_at may be (client clocks
	// drift); docs/scoring.md relies on no event being dated later than that.
	FutureSkew = 5 * time.Minute
)

// earliestOccurredAt rejects dates no real lead activity has: a year-1 or
// 1970 timestamp is a client bug, and it would be scored as a very old event.
var earliestOccurredAt = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

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
		n.problem(field, "must be an event object, got %s", leadscore.JSONKind(raw))
		return ev, false
	}
	n.unknownFields(obj, prefix)
	ev.EventID = n.eventID(obj["event_id"], prefix)
	ev.Type = n.eventType(obj["type"], prefix)
	ev.OccurredAt = n.occurredAt(obj, prefix)

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
	if id := n.str(obj, prefix, "", "anonymous_id", leadscore.MaxAnonymousIDLen); id != "" {
		if !leadscore.PrintableASCII(id) {
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

// unknownFields reports the fields docs/api.md "Event" does not have, with
// the nearest one when it looks misspelt.
func (n *normalizer) unknownFields(obj map[string]any, prefix string) {
	for k := range obj {
		if !slices.Contains(eventFields, k) {
			msg := "unknown field"
			if c, d := scoring.Nearest(k, eventFields); d <= 2 {
				msg += fmt.Sprintf("; did you mean %q?", c)
			}
			n.problem(join(prefix, k), "%s", msg)
		}
	}
}

// eventID is the event's event_id, or a new one when it was left out.
func (n *normalizer) eventID(v any, prefix string) string {
	switch v := v.(type) {
	case nil:
		return NewEventID()
	case string:
		if v == "" {
			n.problem(n.path(prefix, "", "event_id"), "must not be empty; leave it out to have one generated")
		} else if !leadscore.ValidID(v) {
			n.problem(n.path(prefix, "", "event_id"), "must match [A-Za-z0-9_.:-]{1,128}")
		} else {
			return v
		}
	default:
		n.problem(n.path(prefix, "", "event_id"), "must be a string, got %s", leadscore.JSONKind(v))
	}
	return ""
}

// eventType is the event's type when the rules know it; an unknown one is
// reported with the closest known type, and noted so stale cached rules
// can be refreshed.
func (n *normalizer) eventType(v any, prefix string) string {
	switch v := v.(type) {
	case nil:
		n.problem(n.path(prefix, "", "type"), "is required")
	case string:
		switch {
		case v == "":
			n.problem(n.path(prefix, "", "type"), "is required")
		case len(v) > leadscore.MaxTypeLen:
			n.problem(n.path(prefix, "", "type"), "is longer than %d characters", leadscore.MaxTypeLen)
		case !n.rules.KnownEventType(v):
			n.unknownType = true
			msg := fmt.Sprintf("unknown event type %q", v)
			if c := n.rules.ClosestEventType(v); c != "" {
				msg += fmt.Sprintf("; did you mean %q?", c)
			}
			n.problem(n.path(prefix, "", "type"), "%s", msg)
		default:
			return v
		}
	default:
		n.problem(n.path(prefix, "", "type"), "must be a string, got %s", leadscore.JSONKind(v))
	}
	return ""
}

// occurredAt is the event's occurred_at, or the time received when it was
// left out or refused: not in the future beyond FutureSkew, not before 2000.
func (n *normalizer) occurredAt(obj map[string]any, prefix string) time.Time {
	s := n.str(obj, prefix, "", "occurred_at", 64)
	if s == "" {
		return n.now
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	switch {
	case err != nil:
		n.problem(n.path(prefix, "", "occurred_at"), "must be an RFC 3339 date-time such as 2026-11-22T10:15:00Z")
	case t.After(n.now.Add(FutureSkew)):
		n.problem(n.path(prefix, "", "occurred_at"), "is more than %s in the future", FutureSkew)
	case t.Before(earliestOccurredAt):
		n.problem(n.path(prefix, "", "occurred_at"), "is before 2000-01-01")
	default:
		return t.UTC()
	}
	return n.now
}

// sourceFields reads what a source knows besides the email and cookie: the
// sender's own id for the person, and the account (docs/api.md "Event").
func (n *normalizer) sourceFields(obj map[string]any, prefix string, ev *scoring.Event) {
	if id := strings.TrimSpace(n.str(obj, prefix, "", "user_id", leadscore.MaxUserIDLen)); id != "" {
		if !leadscore.PrintableText(id) {
			n.problem(n.path(prefix, "", "user_id"), "must be printable text")
		} else {
			ev.UserID = id
		}
	}
	if id := n.str(obj, prefix, "", "account_id", leadscore.MaxEventIDLen); id != "" {
		if !leadscore.ValidID(id) {
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
		n.problem(join(prefix, "account"), "must be an object, got %s", leadscore.JSONKind(raw))
		return nil
	}
	if len(obj) > leadscore.MaxKeys {
		n.problem(join(prefix, "account"), "has %d attributes; at most %d are accepted", len(obj), leadscore.MaxKeys)
		return nil
	}
	out := make(map[string]any, len(obj))
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		p := n.path(prefix, "account", k)
		switch {
		case obj[k] == nil:
		case !leadscore.ValidAttributeName(k):
			n.problem(p, "attribute names must match [a-z][a-z0-9_]{0,63}")
		case leadNumberFields[k]:
			if f, ok := n.number(p, obj[k]); ok {
				out[k] = f
			}
		default:
			if v, ok := n.scalar(p, obj[k], leadscore.MaxAttributeLen); ok {
				out[k] = v
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
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
		n.problem(n.path(prefix, group, key), "must be a string, got %s", leadscore.JSONKind(v))
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
		n.problem(join(prefix, "lead"), "must be an object, got %s", leadscore.JSONKind(raw))
		return nil
	}
	if len(obj) > leadscore.MaxKeys {
		n.problem(join(prefix, "lead"), "has %d attributes; at most %d are accepted", len(obj), leadscore.MaxKeys)
		return nil
	}
	out := make(map[string]any, len(obj))
	for _, k := range slices.Sorted(maps.Keys(obj)) {
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
			if s := strings.TrimSpace(n.str(obj, prefix, "lead", k, leadscore.MaxAttributeLen)); s != "" {
				out[k] = s
			}
		default:
			if !leadscore.ValidAttributeName(k) {
				n.problem(p, "attribute names must match [a-z][a-z0-9_]{0,63}")
				continue
			}
			if val, ok := n.scalar(p, v, leadscore.MaxAttributeLen); ok {
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
		n.problem(join(prefix, "properties"), "must be an object, got %s", leadscore.JSONKind(raw))
		return nil
	}
	if len(obj) > leadscore.MaxKeys {
		n.problem(join(prefix, "properties"), "has %d properties; at most %d are accepted", len(obj), leadscore.MaxKeys)
		return nil
	}
	out := make(map[string]any, len(obj))
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		v := obj[k]
		p := n.path(prefix, "properties", k)
		if !leadscore.ValidPropertyName(k) {
			n.problem(p, "property names must be 1 to %d printable characters without spaces", leadscore.MaxKeyLen)
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
			if val, ok := n.scalar(p, v, leadscore.MaxPropertyLen); ok {
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
		n.problem(path, "must be a number, got %s", leadscore.JSONKind(v))
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
		n.problem(path, "must be a string, number or boolean, got %s", leadscore.JSONKind(v))
		return nil, false
	}
}

// NewEventID returns a random event id for an event sent without one.
func NewEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return "ev_" + hex.EncodeToString(b[:])
}
