// Package segment speaks the Segment Spec (also what RudderStack's SDKs
// send): the wire shapes of its messages, a decoder with Segment's size
// limits, and the mapping of a message to a leadscore event
// (docs/api.md "Sources"). It is pure: no clock (the receive time is an
// argument), no AWS, no HTTP.
//
// wire.go holds plain structs that mirror the Spec's JSON; decode.go turns
// bodies into them; mapping.go turns them into scoring.Events.
package segment

import (
	"bytes"
	"encoding/json"
	"reflect"
)

// The Spec's message types.
const (
	TypeIdentify = "identify"
	TypeTrack    = "track"
	TypePage     = "page"
	TypeScreen   = "screen"
	TypeGroup    = "group"
	TypeAlias    = "alias"
)

// Message is one Segment Spec message of any type. Fields a type does not
// use are empty. Unknown fields (Segment's and RudderStack's libraries add
// `_metadata`, `channel`, `version`...) are ignored, as Segment does.
type Message struct {
	// Common fields.
	Type        string `json:"type"`
	MessageID   ID     `json:"messageId"`
	AnonymousID ID     `json:"anonymousId"`
	UserID      ID     `json:"userId"`
	// Timestamp is when the call happened by the sender's clock
	// (Segment's libraries set it; it is the Spec's originalTimestamp).
	Timestamp string `json:"timestamp"`
	// OriginalTimestamp is RudderStack's name for the same thing.
	OriginalTimestamp string         `json:"originalTimestamp"`
	SentAt            string         `json:"sentAt"`
	ReceivedAt        string         `json:"receivedAt"`
	Context           *Context       `json:"context"`
	Integrations      map[string]any `json:"integrations"`

	// identify and group.
	Traits map[string]any `json:"traits"`
	// track.
	Event string `json:"event"`
	// track, page and screen.
	Properties map[string]any `json:"properties"`
	// page and screen.
	Name     string `json:"name"`
	Category string `json:"category"`
	// group.
	GroupID ID `json:"groupId"`
	// alias.
	PreviousID ID `json:"previousId"`
}

// Context is the Spec's context object, the parts leadscore reads.
type Context struct {
	Traits    map[string]any `json:"traits"`
	Page      *Page          `json:"page"`
	Campaign  *Campaign      `json:"campaign"`
	UserAgent string         `json:"userAgent"`
	IP        string         `json:"ip"`
	Locale    string         `json:"locale"`
	Library   *Library       `json:"library"`
}

// Page is context.page, and the fields of a page call's properties.
type Page struct {
	Path     string `json:"path"`
	Referrer string `json:"referrer"`
	Search   string `json:"search"`
	Title    string `json:"title"`
	URL      string `json:"url"`
}

// Campaign is context.campaign (the UTM parameters).
type Campaign struct {
	Name    string `json:"name"`
	Source  string `json:"source"`
	Medium  string `json:"medium"`
	Term    string `json:"term"`
	Content string `json:"content"`
}

// Library names the sending library.
type Library struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// BatchBody is the body of POST /v1/batch. Its sentAt and context apply to
// every message that lacks its own. analytics-node also puts the write key
// in the body; leadscore authenticates by the Authorization header only, so
// a key is never read from a body that may be logged.
type BatchBody struct {
	Batch        []json.RawMessage `json:"batch"`
	SentAt       string            `json:"sentAt"`
	Context      *Context          `json:"context"`
	Integrations map[string]any    `json:"integrations"`
	WriteKey     string            `json:"writeKey"`
}

// ID is an identifier the Spec sends as a string; libraries also send
// numbers (RudderStack's historically), which are kept as their JSON text.
type ID string

// UnmarshalJSON accepts a string, a number or null.
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*id = ""
		return nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = ID(s)
		return nil
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*id = ID(n.String())
		return nil
	default:
		// An UnmarshalTypeError gets the field's path from encoding/json,
		// so the problem can name it.
		return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeFor[ID]()}
	}
}
