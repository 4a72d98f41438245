package tracker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// Limits of POST /v1/collect. The tracker sends one event a request, well
// under 2 KB; the limits leave room for identify traits and bound what a
// public, unauthenticated route makes the function parse.
const (
	MaxCollectBytes  = 16 * 1024
	MaxCollectEvents = 20
)

// BrowserTypes are the event types a site key may send; identify is the
// only one that may carry an email and lead attributes
// (leadscore.identify(email, traits)). A site key is
// public and an Origin header is easy to forge outside a browser, so the
// list holds only what a page can honestly observe and what scores little:
// views, ad landings, and self-service actions the rules cap (content
// downloads in the content group). Left out on purpose:
//   - sales_accepted, sales_rejected, deal_won, deal_lost: sales outcomes
//     move the lifecycle; only the CRM, with a key, may send them;
//   - demo_request, contact_request, quote_request, trial_signup: hand-raises
//     that qualify a lead at once; they come through POST /v1/forms (origin
//     list, honeypot) or a server with a key;
//   - form_submit: forms post to /v1/forms themselves (the tracker only adds
//     the anonymous id to them);
//   - demo_use, webinar_attend, email_open, email_click, unsubscribe: known
//     to the product, webinar or email platform, not to a page;
//   - track, group, alias and types the rules declare: server-side sources.
var BrowserTypes = []string{
	"page_view", "ad_click", "content_download", "newsletter_signup",
	"webinar_register", "wishlist_add", "cart_add", scoring.TypeIdentify,
}

// Collect is one POST /v1/collect body:
//
//	{"site": "pk_live_...", "anonymous_id": "c0ffee...", "consent": true,
//	 "events": [{"type": "page_view", "event_id": "pv_...", "properties": {"url": "/pricing", "duration_s": 42}}]}
//
// The site key is in the body because navigator.sendBeacon cannot set
// headers. Events have the shape of POST /v1/events without occurred_at
// (the server's clock dates browser events) and without anonymous_id (the
// body's applies to all).
type Collect struct {
	Site        string `json:"site"`
	AnonymousID string `json:"anonymous_id"`
	// Consent is true once the visitor consented (leadscore.consent(true));
	// a site with consent_required drops requests without it.
	Consent bool `json:"consent"`
	// Events are event objects in POST /v1/events' shape, each with the
	// body's anonymous_id, ready for its validation.
	Events []map[string]any `json:"events"`
}

// Problem is one thing wrong with a collect body, naming the field.
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error refuses a collect body as a whole: it comes from the tracker, so a
// malformed one is a bug or a forgery, and nothing of it is accepted.
type Error struct {
	Problems []Problem
	// TooLarge marks a body over MaxCollectBytes (413).
	TooLarge bool
}

func (e *Error) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Field + ": " + p.Message
	}
	return strings.Join(msgs, "; ")
}

var (
	collectFields = []string{"site", "anonymous_id", "consent", "events"}
	eventFields   = []string{"event_id", "type", "email", "lead", "properties"}
)

// DecodeCollect decodes and checks a collect body: its shape, the event
// types, and that only identify carries an email or lead attributes. The
// site key and Origin are the HTTP layer's to check; the events' contents
// (properties, email shape) are POST /v1/events' validation's.
func DecodeCollect(body []byte) (*Collect, error) {
	if len(body) > MaxCollectBytes {
		return nil, &Error{TooLarge: true, Problems: []Problem{{"(body)", fmt.Sprintf("is larger than %d bytes", MaxCollectBytes)}}}
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(bytes.TrimSpace(body), &raw); err != nil {
		return nil, &Error{Problems: []Problem{{"(body)", "must be a JSON object {\"site\", \"anonymous_id\", \"events\": [...]}"}}}
	}
	d := &decoder{}
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		if !slices.Contains(collectFields, k) {
			d.problem(keyName("", k), "unknown field")
		}
	}
	c := &Collect{
		Site:        d.str(raw, "site", "site", 256),
		AnonymousID: d.str(raw, "anonymous_id", "anonymous_id", leadscore.MaxAnonymousIDLen),
	}
	if c.Site == "" && !d.reported("site") {
		d.problem("site", "is required: the site key from the snippet's data-site")
	}
	switch {
	case c.AnonymousID == "" && !d.reported("anonymous_id"):
		d.problem("anonymous_id", "is required")
	case c.AnonymousID != "" && !leadscore.PrintableASCII(c.AnonymousID):
		d.problem("anonymous_id", "must be printable ASCII without spaces")
	}
	if v, ok := raw["consent"]; ok && json.Unmarshal(v, &c.Consent) != nil {
		d.problem("consent", "must be true or false")
	}
	c.Events = d.events(raw["events"], c.AnonymousID)
	if len(d.problems) > 0 {
		return nil, &Error{Problems: d.problems}
	}
	return c, nil
}

type decoder struct {
	problems []Problem
}

func (d *decoder) problem(field, format string, args ...any) {
	d.problems = append(d.problems, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (d *decoder) reported(field string) bool {
	return slices.ContainsFunc(d.problems, func(p Problem) bool { return p.Field == field })
}

// str reads a string field of at most max bytes; absent gives "".
func (d *decoder) str(raw map[string]json.RawMessage, key, field string, max int) string {
	v, ok := raw[key]
	if !ok {
		return ""
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		d.problem(field, "must be a string")
		return ""
	}
	if len(s) > max {
		d.problem(field, "is longer than %d bytes", max)
		return ""
	}
	return s
}

// events checks the events list and gives each the anonymous id.
func (d *decoder) events(raw json.RawMessage, anonymousID string) []map[string]any {
	var list []json.RawMessage
	switch {
	case raw == nil:
		d.problem("events", "is required: a list of events")
		return nil
	case json.Unmarshal(raw, &list) != nil:
		d.problem("events", "must be an array of event objects")
		return nil
	case len(list) == 0:
		d.problem("events", "is empty")
		return nil
	case len(list) > MaxCollectEvents:
		d.problem("events", "holds %d events; at most %d are accepted", len(list), MaxCollectEvents)
		return nil
	}
	out := make([]map[string]any, 0, len(list))
	for i, r := range list {
		if ev := d.event(fmt.Sprintf("events[%d]", i), r); ev != nil {
			ev["anonymous_id"] = anonymousID
			out = append(out, ev)
		}
	}
	return out
}

// event checks one event's fields and type.
func (d *decoder) event(path string, raw json.RawMessage) map[string]any {
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil || ev == nil {
		d.problem(path, "must be an event object")
		return nil
	}
	before := len(d.problems)
	for _, k := range slices.Sorted(maps.Keys(ev)) {
		if !slices.Contains(eventFields, k) {
			d.problem(keyName(path, k), "is not accepted from a browser (fields: %s)", strings.Join(eventFields, ", "))
		}
	}
	typ, _ := ev["type"].(string)
	switch {
	case typ == "":
		d.problem(path+".type", "is required: one of %s", strings.Join(BrowserTypes, ", "))
	case !slices.Contains(BrowserTypes, typ):
		d.problem(path+".type", "%q cannot be sent with a site key: browser events are %s", truncate(typ, 64), strings.Join(BrowserTypes, ", "))
	case typ == scoring.TypeIdentify && ev["email"] == nil:
		d.problem(path+".email", "is required on identify")
	}
	if typ != scoring.TypeIdentify {
		for _, k := range []string{"email", "lead"} {
			if _, ok := ev[k]; ok {
				d.problem(path+"."+k, "only identify carries %s", k)
			}
		}
	}
	if len(d.problems) > before {
		return nil
	}
	return ev
}

// keyName names a field for a problem; an empty or odd key is quoted so
// the name is never empty and never ambiguous.
func keyName(prefix, k string) string {
	if k == "" || !leadscore.PrintableASCII(k) {
		k = strconv.Quote(k)
	}
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
