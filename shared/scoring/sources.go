package scoring

import (
	"maps"
	"strconv"
	"strings"
)

// TypeTrack is the type of a Segment `track` call whose event name the
// rules do not map: the name is kept in property "event", so a rule can
// still score it (`event: track, where: {event: {eq: "Invite Sent"}}`).
const TypeTrack = "track"

// segmentEventDefaults map the Segment Spec's common event names to event
// types (docs/api.md "Sources"). Names the Spec has but no built-in type
// fits ("Signed In", "Invite Sent", "Order Completed", ...) are left out:
// they arrive as TypeTrack and the default rules score the ones that say
// something about buying.
var segmentEventDefaults = map[string]string{
	// B2B SaaS spec: signing up is starting to use the product.
	"Signed Up":       "trial_signup",
	"Trial Started":   "trial_signup",
	"Account Created": "trial_signup",
	// E-commerce spec (v2).
	"Product Added":             "cart_add",
	"Product Added to Wishlist": "wishlist_add",
	// Email spec. A spam complaint is an unsubscribe said louder.
	"Email Opened":         "email_open",
	"Email Link Clicked":   "email_click",
	"Unsubscribed":         "unsubscribe",
	"Email Marked as Spam": "unsubscribe",
	// Our own hand-raises and forms, named the Spec's Object-Action way.
	"Demo Requested":       "demo_request",
	"Quote Requested":      "quote_request",
	"Contact Requested":    "contact_request",
	"Form Submitted":       "form_submit",
	"Content Downloaded":   "content_download",
	"Newsletter Signed Up": "newsletter_signup",
	"Webinar Registered":   "webinar_register",
	"Webinar Attended":     "webinar_attend",
	"Ad Clicked":           "ad_click",
}

// SegmentEventDefaults returns the built-in table from Segment event names to
// event types, used unless a document's sources.segment.events overrides a
// name.
func SegmentEventDefaults() map[string]string {
	return maps.Clone(segmentEventDefaults)
}

// segmentKey is how event names are compared: trimmed and case-insensitive,
// because "Demo Requested" and "demo requested" are the same intent and
// tracking plans drift in case.
func segmentKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// maxSegmentName bounds an event name in the table (Segment itself has no
// limit; ours are labels, not payloads).
const maxSegmentName = 256

// SegmentEventType maps the event name of a Segment `track` call to an event
// type: the document's sources.segment.events entry for the name if any,
// else the built-in default. ok is false for a name mapped nowhere (or mapped
// to "track" by the document, which is how a default is switched off): the
// caller keeps such a call as TypeTrack with property "event" = the name.
func (r *Rules) SegmentEventType(name string) (eventType string, ok bool) {
	t, ok := r.c.segment[segmentKey(name)]
	if !ok || t == TypeTrack {
		return "", false
	}
	return t, true
}

// compileSources reads sources.segment.events. A document's table merges
// with the defaults: its entries win, every default it does not name stays.
func (p *parser) compileSources(c *compiled, v *node) {
	c.segment = make(map[string]string, len(segmentEventDefaults))
	for name, t := range segmentEventDefaults {
		c.segment[segmentKey(name)] = t
	}
	if v == nil || !p.mapping(v, "sources", "segment") {
		return
	}
	seg := v.get("segment")
	if seg == nil || !p.mapping(seg, "sources.segment", "events") {
		return
	}
	events := seg.get("events")
	if events == nil || !p.mapping(events, "sources.segment.events") {
		return
	}
	if len(events.keys) > maxRules {
		p.add("sources.segment.events", "more than "+strconv.Itoa(maxRules)+" names")
		return
	}
	first := map[string]string{} // segmentKey -> name as first written
	for i, name := range events.keys {
		path := join("sources.segment.events", name)
		key := segmentKey(name)
		if key == "" || len(name) > maxSegmentName {
			if key == "" {
				path = "sources.segment.events"
			}
			p.add(path, "event names are 1 to "+strconv.Itoa(maxSegmentName)+" characters")
			continue
		}
		if f, dup := first[key]; dup {
			p.add(path, "same name as "+strconv.Quote(f)+" (names are compared ignoring case and surrounding spaces)")
			continue
		}
		first[key] = name
		if t, ok := p.eventType(c, events.vals[i], path, ""); ok {
			c.segment[key] = t
		}
	}
}
