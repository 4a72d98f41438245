package segment

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// eventPageView is what page and screen calls become; the other calls
// become scoring.TypeTrack (unless the rules map the name), TypeIdentify,
// TypeGroup and TypeAlias, which carry identity rather than activity.
const eventPageView = "page_view"

// What one message maps to is bounded by the limits of POST /v1/events
// (leadscore.MaxKeys and the rest, docs/api.md "Event"), so a mapped event
// always fits it; values past them that leadscore cannot use are left out
// rather than refused, so a message is never refused for extra data, only
// for a field leadscore maps that is wrong.

// maxEventName bounds a track call's event name.
const maxEventName = 200

// Mapper turns Segment messages into leadscore events. The zero value maps
// every track call to type "track".
type Mapper struct {
	// EventType maps a track call's event name to a leadscore event type
	// (the rules' sources.segment.events table). When it is nil or does not
	// know the name, the call is kept as type "track", with property
	// "event" = the name, so a rule can still score it.
	EventType func(name string) (eventType string, ok bool)
}

// Map returns the event a message stands for. received is when the request
// reached the server (the Spec's receivedAt). When problems is not empty
// the event must not be used; each problem names its field.
//
// The event is mapped, not yet validated as POST /v1/events validates
// (email shape, event type known to the rules): the caller does that next,
// and generates an event_id when the message had no messageId.
func (m Mapper) Map(it *Item, received time.Time) (scoring.Event, []Problem) {
	mp := &mapping{it: it, msg: &it.Message}
	msg := mp.msg
	ev := scoring.Event{
		EventID:     EventID(string(msg.MessageID)),
		OccurredAt:  mp.occurredAt(received),
		AnonymousID: strings.TrimSpace(string(msg.AnonymousID)),
		UserID:      mp.userID("userId", msg.UserID),
		Email:       mp.email(),
	}
	switch msg.Type {
	case TypeIdentify:
		ev.Type = scoring.TypeIdentify
		ev.Lead = mp.lead()
	case TypeTrack:
		ev.Type, ev.Properties = m.track(mp)
	case TypePage, TypeScreen:
		ev.Type, ev.Properties = eventPageView, mp.page()
	case TypeGroup:
		ev.Type = scoring.TypeGroup
		ev.AccountID = mp.groupID()
		ev.Account = mp.account()
	case TypeAlias:
		ev.Type = scoring.TypeAlias
		ev.Properties = mp.alias()
	}
	if ev.Email == "" && ev.UserID == "" && ev.AnonymousID == "" && !mp.reported("userId") {
		mp.problem("userId", "a userId or an anonymousId is required")
	}
	return ev, mp.problems
}

// EventID is the event_id of a message: its messageId when it fits
// event_id's syntax, else a digest of it (so a resent message still dedupes),
// else "" (no messageId: one is generated as for any event sent without).
func EventID(messageID string) string {
	switch {
	case messageID == "":
		return ""
	case leadscore.ValidID(messageID):
		return messageID
	default:
		sum := sha256.Sum256([]byte(messageID))
		return "sg_" + hex.EncodeToString(sum[:20])
	}
}

// mapping is one message being mapped, and what was wrong with it.
type mapping struct {
	it       *Item
	msg      *Message
	problems []Problem
}

func (mp *mapping) problem(field, format string, args ...any) {
	mp.problems = append(mp.problems, Problem{Field: mp.it.field(field), Message: fmt.Sprintf(format, args...)})
}

func (mp *mapping) reported(field string) bool {
	for _, p := range mp.problems {
		if p.Field == mp.it.field(field) {
			return true
		}
	}
	return false
}

// occurredAt corrects the sender's timestamp by its clock skew, as the Spec
// does: timestamp = receivedAt - (sentAt - originalTimestamp). Without
// sentAt the timestamp is used as sent; without a timestamp, received.
func (mp *mapping) occurredAt(received time.Time) time.Time {
	field, raw := "timestamp", mp.msg.Timestamp
	if raw == "" {
		field, raw = "originalTimestamp", mp.msg.OriginalTimestamp
	}
	if raw == "" {
		return received.UTC()
	}
	ts, ok := mp.time(field, raw)
	if !ok {
		return received.UTC()
	}
	if mp.msg.SentAt == "" {
		return ts.UTC()
	}
	sent, ok := mp.time("sentAt", mp.msg.SentAt)
	if !ok {
		return received.UTC()
	}
	return received.Add(-sent.Sub(ts)).UTC()
}

func (mp *mapping) time(field, raw string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(raw))
	if err != nil {
		mp.problem(field, "must be an ISO-8601 date-time with a time zone, such as 2026-11-22T10:15:00.000Z")
		return time.Time{}, false
	}
	return t, true
}

// userID checks an id that names a person (userId, previousId): any
// printable text, bounded.
func (mp *mapping) userID(field string, id ID) string {
	s := strings.TrimSpace(string(id))
	switch {
	case s == "":
		return ""
	case len(s) > leadscore.MaxUserIDLen:
		mp.problem(field, "is longer than %d bytes", leadscore.MaxUserIDLen)
	case !leadscore.PrintableText(s):
		mp.problem(field, "must be printable text")
	default:
		return s
	}
	return ""
}

// email is the person's address: traits.email on identify, else
// context.traits.email. (A group call's traits.email is the company's.)
func (mp *mapping) email() string {
	if mp.msg.Type == TypeIdentify {
		if e := mp.emailIn(mp.msg.Traits, "traits.email"); e != "" {
			return e
		}
	}
	if c := mp.msg.Context; c != nil {
		return mp.emailIn(c.Traits, "context.traits.email")
	}
	return ""
}

func (mp *mapping) emailIn(traits map[string]any, field string) string {
	v, ok := traits["email"]
	if !ok || v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		mp.problem(field, "must be a string, got %s", leadscore.JSONKind(v))
		return ""
	}
	return leadscore.NormalizeEmail(s)
}

// track maps a track call: the rules' table names its type, else "track".
func (m Mapper) track(mp *mapping) (string, map[string]any) {
	name := strings.TrimSpace(mp.msg.Event)
	switch {
	case name == "":
		mp.problem("event", "is required: the name of the action, such as \"Demo Requested\"")
		return scoring.TypeTrack, nil
	case utf8.RuneCountInString(name) > maxEventName:
		mp.problem("event", "is longer than %d characters", maxEventName)
		return scoring.TypeTrack, nil
	}
	typ := scoring.TypeTrack
	if m.EventType != nil {
		if t, ok := m.EventType(name); ok {
			typ = t
		}
	}
	props := properties(mp.msg.Properties, 6) // event, utm_*
	props["event"] = name
	mp.campaign(props)
	return typ, props
}

// page maps a page or screen call to a page_view whose url is the page's
// path; the other properties are kept.
func (mp *mapping) page() map[string]any {
	msg := mp.msg
	props := properties(msg.Properties, 10) // url, title, referrer, name, category, utm_*
	var ctxPage Page
	if msg.Context != nil && msg.Context.Page != nil {
		ctxPage = *msg.Context.Page
	}
	path := firstNonEmpty(str(msg.Properties["path"]), pathOf(str(msg.Properties["url"])), ctxPage.Path, pathOf(ctxPage.URL))
	delete(props, "path")
	delete(props, "url")
	setIfAbsent(props, "url", path)
	setIfAbsent(props, "title", ctxPage.Title)
	setIfAbsent(props, "referrer", ctxPage.Referrer)
	setIfAbsent(props, "name", msg.Name)
	setIfAbsent(props, "category", msg.Category)
	mp.campaign(props)
	return props
}

// campaign adds context.campaign as the utm_* properties the browser
// tracker sends, unless the properties already have them.
func (mp *mapping) campaign(props map[string]any) {
	if mp.msg.Context == nil || mp.msg.Context.Campaign == nil {
		return
	}
	c := mp.msg.Context.Campaign
	setIfAbsent(props, "utm_campaign", c.Name)
	setIfAbsent(props, "utm_source", c.Source)
	setIfAbsent(props, "utm_medium", c.Medium)
	setIfAbsent(props, "utm_term", c.Term)
	setIfAbsent(props, "utm_content", c.Content)
}

// groupID is a group call's groupId, which becomes the lead's account_id.
func (mp *mapping) groupID() string {
	id := strings.TrimSpace(string(mp.msg.GroupID))
	switch {
	case id == "":
		mp.problem("groupId", "is required: the account's id")
	case !leadscore.ValidID(id):
		mp.problem("groupId", "must match [A-Za-z0-9_.:-]{1,128} (it becomes the account_id)")
	default:
		return id
	}
	return ""
}

// alias maps an alias call: from now on previousId and userId are the same
// person. The score function stitches them (docs/api.md "Sources").
func (mp *mapping) alias() map[string]any {
	prev := mp.userID("previousId", mp.msg.PreviousID)
	if prev == "" && !mp.reported("previousId") {
		mp.problem("previousId", "is required: the id the person had before userId")
	}
	if strings.TrimSpace(string(mp.msg.UserID)) == "" {
		mp.problem("userId", "is required on alias: the person's new id")
	}
	if prev == "" {
		return nil
	}
	return map[string]any{"previous_id": prev}
}

// properties copies the scalar properties leadscore can store: at most
// leadscore.MaxKeys-reserve of them (in key order, so the choice is stable),
// leaving room for the ones the mapping adds. Nested values, empty or
// oversized keys and strings past leadscore.MaxPropertyLen are left out.
func properties(in map[string]any, reserve int) map[string]any {
	out := make(map[string]any, min(len(in), leadscore.MaxKeys)+reserve)
	for _, k := range slices.Sorted(maps.Keys(in)) {
		if len(out) >= leadscore.MaxKeys-reserve {
			break
		}
		if !leadscore.ValidPropertyName(k) {
			continue
		}
		if v, ok := scalar(in[k], leadscore.MaxPropertyLen); ok {
			out[k] = v
		}
	}
	return out
}

// scalar returns v when it is a value rules can test: a string (at most max
// characters, trimmed), a finite number or a boolean.
func scalar(v any, max int) (any, bool) {
	switch x := v.(type) {
	case string:
		s := strings.TrimSpace(x)
		if s == "" || utf8.RuneCountInString(s) > max {
			return nil, false
		}
		return s, true
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case bool:
		return x, true
	}
	return nil, false
}

// number reads a count or amount: a non-negative finite number, or a
// numeric string (CRMs send numbers as strings).
func number(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case string:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	return f, !math.IsNaN(f) && !math.IsInf(f, 0) && f >= 0
}

// pathOf is the path of a URL ("/pricing"), "/" for a bare origin, or "".
func pathOf(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	if u.Path == "" && u.Host != "" {
		return "/"
	}
	return u.Path
}

// snakeCase turns a trait name as senders write it (annualRevenue,
// "Annual Revenue", annual-revenue) into an attribute name
// (annual_revenue); "" when the result is not one.
func snakeCase(key string) string {
	var b strings.Builder
	prevLower := false
	for _, r := range key {
		switch {
		case unicode.IsUpper(r):
			if prevLower {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
			prevLower = false
		case r == ' ' || r == '-' || r == '.':
			b.WriteByte('_')
			prevLower = false
		default:
			b.WriteRune(r)
			prevLower = unicode.IsLower(r) || unicode.IsDigit(r)
		}
	}
	s := b.String()
	if !leadscore.ValidAttributeName(s) {
		return ""
	}
	return s
}

func str(v any) string {
	s, _ := v.(string)
	return strings.TrimSpace(s)
}

func firstNonEmpty(xs ...string) string {
	for _, x := range xs {
		if x != "" {
			return x
		}
	}
	return ""
}

// setIfAbsent adds a non-empty string the sender did not already set, if it
// fits a property.
func setIfAbsent(props map[string]any, key, value string) {
	if _, ok := props[key]; ok || value == "" {
		return
	}
	if v, ok := scalar(value, leadscore.MaxPropertyLen); ok {
		props[key] = v
	}
}
