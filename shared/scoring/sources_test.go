package scoring

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestSegmentEventTypeDefaults(t *testing.T) {
	r := mustRules(t, withMQL("")) // no sources section: the defaults
	for name, want := range map[string]string{
		"Trial Started":             "trial_signup",
		"Signed Up":                 "trial_signup",
		"Product Added":             "cart_add",
		"Product Added to Wishlist": "wishlist_add",
		"Email Opened":              "email_open",
		"Email Link Clicked":        "email_click",
		"Unsubscribed":              "unsubscribe",
		"Demo Requested":            "demo_request",
		"  demo requested ":         "demo_request", // case and spaces do not matter
	} {
		if got, ok := r.SegmentEventType(name); !ok || got != want {
			t.Errorf("SegmentEventType(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
	for _, name := range []string{"Invite Sent", "Order Completed", "Signed In", ""} {
		if got, ok := r.SegmentEventType(name); ok {
			t.Errorf("SegmentEventType(%q) = %q, want unmapped", name, got)
		}
	}
}

func TestSegmentEventsMergeWithDefaults(t *testing.T) {
	r := mustRules(t, withMQL(`
event_types: [invite]
sources:
  segment:
    events:
      "Invite Sent": invite
      "signed up": demo_use        # overrides the default, whatever the case
      "Email Opened": track        # switches a default off
`))
	for name, want := range map[string]string{"Invite Sent": "invite", "Signed Up": "demo_use", "Trial Started": "trial_signup", "Product Added": "cart_add"} {
		if got, ok := r.SegmentEventType(name); !ok || got != want {
			t.Errorf("SegmentEventType(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
	if got, ok := r.SegmentEventType("Email Opened"); ok {
		t.Errorf("Email Opened mapped to %q, want switched off", got)
	}
	// The defaults themselves are untouched by a document.
	if got, _ := DefaultRules().SegmentEventType("Signed Up"); got != "trial_signup" {
		t.Errorf("defaults changed by a document: Signed Up -> %q", got)
	}
}

func TestSegmentEventsProblems(t *testing.T) {
	got := problemsOf(t, withMQL(`
sources:
  segment:
    events:
      "Demo Requested": demo_requst
      "demo requested": demo_request
      "": page_view
      "Signed In": 3
    colour: red
`))
	want := []Problem{
		{"sources.segment.colour", `unknown key "colour"`},
		{"sources.segment.events.Demo Requested", `unknown event type "demo_requst" (did you mean "demo_request"?)`},
		{"sources.segment.events.demo requested", `same name as "Demo Requested" (names are compared ignoring case and surrounding spaces)`},
		{"sources.segment.events", "event names are 1 to 256 characters"},
		{"sources.segment.events.Signed In", "must be a string, got a number"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n got %s\nwant %s", join2(got), join2(want))
	}
	got = problemsOf(t, withMQL("sources: {segmnt: {events: {}}}"))
	if len(got) != 1 || got[0].Message != `unknown key "segmnt" (did you mean "segment"?)` {
		t.Errorf("problems %v", got)
	}
}

// The shipped table names only known types, and the shipped document lists
// every default for the marketer who reads it.
func TestSegmentEventDefaultsAreDocumented(t *testing.T) {
	doc := string(DefaultRulesYAML())
	r := DefaultRules()
	for _, name := range slices.Sorted(maps.Keys(segmentEventDefaults)) {
		typ := segmentEventDefaults[name]
		if !r.KnownEventType(typ) {
			t.Errorf("default %q maps to unknown type %q", name, typ)
		}
		if !strings.Contains(doc, `"`+name+`"`) {
			t.Errorf("default_rules.yaml does not mention %q", name)
		}
	}
	if got, ok := r.SegmentEventType("Meeting Booked"); !ok || got != "demo_request" {
		t.Errorf("default document's own entry: %q, %v", got, ok)
	}
	if m := SegmentEventDefaults(); len(m) != len(segmentEventDefaults) {
		t.Errorf("SegmentEventDefaults has %d entries", len(m))
	}
}

// An unmapped Segment call arrives as type track with its name in "event";
// the default rules score "Invite Sent" that way.
func TestDefaultRulesScoreInviteSent(t *testing.T) {
	r := DefaultRules()
	_, bd := engagementOf(t, r, []Event{ev(TypeTrack, daysAgo(0), map[string]any{"event": "Invite Sent"})}, noon)
	if c := contribution(bd, "invite-sent"); c.Points != 10 || c.Events != 1 {
		t.Errorf("invite-sent %+v, want 10 points from 1 event", c)
	}
}
