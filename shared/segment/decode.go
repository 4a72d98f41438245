package segment

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Segment's limits (its HTTP API answers 400 beyond them, and its libraries
// never send more): 32 KB a message, 500 KB a batch.
const (
	MaxMessageBytes = 32 * 1024
	MaxBatchBytes   = 500 * 1024
	// MaxBatchMessages bounds the messages of one batch. Segment has no
	// count limit; the libraries flush every 15 (analytics-node) or 20
	// (rudder-sdk-node) messages, so 1000 is far above any real batch and
	// bounds what one request makes the function enqueue.
	MaxBatchMessages = 1000
)

// Error is a problem with the whole body: nothing in it is accepted, and
// the HTTP layer answers 400 (as Segment does for oversize and bad JSON).
type Error struct {
	Field   string // "(body)", "batch"
	Message string
	// TooLarge marks a body or message over Segment's limits.
	TooLarge bool
}

func (e *Error) Error() string { return e.Field + ": " + e.Message }

// Problem is what is wrong with one message. The other messages of its
// batch are still accepted. Field names the value as the sender wrote it:
// "batch[3].traits.email", or "traits.email" for a single message.
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Item is one decoded message and where it was in the body.
type Item struct {
	// Path prefixes the message's fields in problems: "batch[3]", "[3]"
	// (a webhook's array), or "" (a single message).
	Path    string
	Message Message
}

// field names a field of the item's message.
func (it *Item) field(name string) string {
	switch {
	case it.Path == "":
		return name
	case name == "":
		return it.Path
	default:
		return it.Path + "." + name
	}
}

// Payload is what one request body held: the messages that decoded and the
// problems of those that did not.
type Payload struct {
	Items    []Item
	Problems []Problem
}

// DecodeBatch decodes the body of POST /v1/batch: {"batch": [...],
// "sentAt", "context"}. The batch's sentAt and context fill in what a
// message lacks.
func DecodeBatch(body []byte) (*Payload, error) {
	if len(body) > MaxBatchBytes {
		return nil, &Error{Field: "(body)", Message: fmt.Sprintf("the batch is larger than %d bytes", MaxBatchBytes), TooLarge: true}
	}
	var b BatchBody
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, bodyError(err, "a batch object {\"batch\": [...]}")
	}
	if b.Batch == nil {
		return nil, &Error{Field: "batch", Message: "is required: send {\"batch\": [messages]}"}
	}
	if len(b.Batch) > MaxBatchMessages {
		return nil, &Error{Field: "batch", Message: fmt.Sprintf("holds %d messages; at most %d are accepted in one request", len(b.Batch), MaxBatchMessages)}
	}
	p := &Payload{}
	for i, raw := range b.Batch {
		p.add(fmt.Sprintf("batch[%d]", i), raw, "", &b)
	}
	return p, nil
}

// DecodeMessage decodes the body of POST /v1/track, /v1/identify, ... :
// one message, whose type is the route's (typ), whatever the body says.
func DecodeMessage(body []byte, typ string) (*Payload, error) {
	if len(body) > MaxMessageBytes {
		return nil, &Error{Field: "(body)", Message: fmt.Sprintf("the message is larger than %d bytes", MaxMessageBytes), TooLarge: true}
	}
	if err := wantJSON(body, '{', "a message object"); err != nil {
		return nil, err
	}
	p := &Payload{}
	p.add("", body, typ, nil)
	return p, nil
}

// DecodeWebhook decodes what Segment's webhook destinations post: one
// message, or an array of them.
func DecodeWebhook(body []byte) (*Payload, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '[' {
		return DecodeMessage(body, "")
	}
	if len(body) > MaxBatchBytes {
		return nil, &Error{Field: "(body)", Message: fmt.Sprintf("the array is larger than %d bytes", MaxBatchBytes), TooLarge: true}
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, bodyError(err, "a message object or an array of them")
	}
	if len(raws) > MaxBatchMessages {
		return nil, &Error{Field: "(body)", Message: fmt.Sprintf("holds %d messages; at most %d are accepted in one request", len(raws), MaxBatchMessages)}
	}
	p := &Payload{}
	for i, raw := range raws {
		p.add(fmt.Sprintf("[%d]", i), raw, "", nil)
	}
	return p, nil
}

// add decodes one message found at path. typ, when set, is the route's
// message type; batch, when set, supplies sentAt and context.
func (p *Payload) add(path string, raw json.RawMessage, typ string, batch *BatchBody) {
	it := Item{Path: path}
	fail := func(field, msg string) {
		p.Problems = append(p.Problems, Problem{Field: it.field(field), Message: msg})
	}
	if len(raw) > MaxMessageBytes {
		fail("", fmt.Sprintf("is larger than %d bytes", MaxMessageBytes))
		return
	}
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		fail("", "must be a message object, got "+jsonKind(t))
		return
	}
	if err := json.Unmarshal(raw, &it.Message); err != nil {
		field, msg := fieldError(err)
		fail(field, msg)
		return
	}
	m := &it.Message
	if typ != "" {
		m.Type = typ
	}
	switch m.Type {
	case TypeIdentify, TypeTrack, TypePage, TypeScreen, TypeGroup, TypeAlias:
	case "":
		fail("type", "is required: one of identify, track, page, screen, group, alias")
		return
	default:
		fail("type", fmt.Sprintf("unknown message type %q: one of identify, track, page, screen, group, alias", truncate(m.Type, 64)))
		return
	}
	if batch != nil {
		inherit(m, batch)
	}
	p.Items = append(p.Items, it)
}

// inherit fills what a batched message lacks from the batch.
func inherit(m *Message, b *BatchBody) {
	if m.SentAt == "" {
		m.SentAt = b.SentAt
	}
	if b.Context == nil {
		return
	}
	if m.Context == nil {
		c := *b.Context
		m.Context = &c
		return
	}
	c := m.Context
	if c.Traits == nil {
		c.Traits = b.Context.Traits
	}
	if c.Page == nil {
		c.Page = b.Context.Page
	}
	if c.Campaign == nil {
		c.Campaign = b.Context.Campaign
	}
	if c.UserAgent == "" {
		c.UserAgent = b.Context.UserAgent
	}
	if c.IP == "" {
		c.IP = b.Context.IP
	}
}

// Decompress returns the body as sent before Content-Encoding (rudder-sdk-node
// gzips every batch by default). It reads at most limit bytes of output, so
// a small compressed body cannot expand into a large one.
func Decompress(body []byte, contentEncoding string, limit int) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(contentEncoding)) {
	case "", "identity":
		return body, nil
	case "gzip", "x-gzip":
	default:
		return nil, &Error{Field: "Content-Encoding", Message: fmt.Sprintf("%q is not supported; send gzip or nothing", truncate(contentEncoding, 32))}
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, &Error{Field: "(body)", Message: "is marked gzip but is not gzip data"}
	}
	out, err := io.ReadAll(io.LimitReader(zr, int64(limit)+1))
	if err != nil {
		return nil, &Error{Field: "(body)", Message: "is marked gzip but does not decompress: " + err.Error()}
	}
	if len(out) > limit {
		return nil, &Error{Field: "(body)", Message: fmt.Sprintf("decompresses to more than %d bytes", limit), TooLarge: true}
	}
	return out, nil
}

// wantJSON checks that body is one JSON value starting with open.
func wantJSON(body []byte, open byte, what string) error {
	t := bytes.TrimSpace(body)
	if len(t) == 0 {
		return &Error{Field: "(body)", Message: "is empty; send " + what}
	}
	if !json.Valid(t) {
		var v any
		return bodyError(json.Unmarshal(t, &v), what)
	}
	if t[0] != open {
		return &Error{Field: "(body)", Message: "must be " + what + ", got " + jsonKind(t)}
	}
	return nil
}

// bodyError describes a body that is not the JSON expected.
func bodyError(err error, what string) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return &Error{Field: "(body)", Message: fmt.Sprintf("is not valid JSON: %s at byte offset %d", syn.Error(), syn.Offset)}
	}
	field, msg := fieldError(err)
	if field == "" {
		field = "(body)"
	}
	return &Error{Field: field, Message: msg + "; send " + what}
}

// fieldError names the field a decoding error is about, as the sender wrote
// it ("context.traits"), and says what it must be.
func fieldError(err error) (field, msg string) {
	var typ *json.UnmarshalTypeError
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &typ):
		return typ.Field, "must be " + wantKind(typ.Type.Kind().String(), typ.Type.String()) + ", got " + gotKind(typ.Value)
	case errors.As(err, &syn):
		return "", fmt.Sprintf("is not valid JSON: %s", syn.Error())
	default:
		return "", "is not a valid message: " + err.Error()
	}
}

// wantKind names a Go destination type in JSON's words.
func wantKind(kind, name string) string {
	switch {
	case name == "segment.ID":
		return "a string or a number"
	case kind == "string":
		return "a string"
	case kind == "map", kind == "ptr", kind == "struct":
		return "an object"
	case kind == "slice":
		return "an array"
	default:
		return "a " + kind
	}
}

// gotKind names the JSON value encoding/json reports ("string", "bool",
// "number 1e999") with an article, as the rest of the messages do.
func gotKind(value string) string {
	switch {
	case value == "bool":
		return "a boolean"
	case value == "array", value == "object":
		return "an " + value
	case value == "string", strings.HasPrefix(value, "number"):
		return "a " + value
	default:
		return value
	}
}

// jsonKind names the kind of a raw JSON value for problem messages.
func jsonKind(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// truncate bounds echoed input so an error body stays small.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
