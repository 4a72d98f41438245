package leadscore

import (
	"regexp"
	"unicode"
	"unicode/utf8"
)

// Limits on one event's fields (docs/api.md "Limits"), the same for every
// way in: POST /v1/events refuses values past them, and the Segment,
// RudderStack and tracker routes map what they receive within them. They
// keep one event far below the SQS message limit and the lead item far
// below DynamoDB's 400 KB, and they are generous for what a tracker or a
// form really sends.
const (
	MaxEventIDLen     = 128  // also the ID syntax's bound
	MaxTypeLen        = 64   // event type names
	MaxAnonymousIDLen = 128  // cookie ids (UUIDs, GA client ids) are far shorter
	MaxUserIDLen      = 256  // a sender's own id for the person (Segment's userId)
	MaxAttributeLen   = 256  // each string in "lead" and "account"
	MaxPropertyLen    = 2048 // each string in "properties" (URLs can be long)
	MaxKeys           = 50   // keys in "lead", "account" and "properties", each
	MaxKeyLen         = 64   // a key of "lead", "account" or "properties"
)

var (
	idPattern            = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)
	attributeNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
)

// ValidID reports whether s has the syntax of an event_id or an account_id:
// [A-Za-z0-9_.:-]{1,128}, safe in a storage key and a log line.
func ValidID(s string) bool { return idPattern.MatchString(s) }

// ValidAttributeName reports whether k may name a lead or account
// attribute: [a-z][a-z0-9_]{0,63}, so a rule can name it.
func ValidAttributeName(k string) bool { return attributeNamePattern.MatchString(k) }

// ValidPropertyName reports whether k may name an event property: 1 to
// MaxKeyLen printable ASCII characters without spaces.
func ValidPropertyName(k string) bool {
	return k != "" && len(k) <= MaxKeyLen && PrintableASCII(k)
}

// PrintableASCII reports whether s is printable ASCII without spaces: the
// syntax of anonymous ids and property names.
func PrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// PrintableText reports whether s is valid UTF-8 without control
// characters: the syntax of user ids, which are a sender's own and may be
// any text.
func PrintableText(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return utf8.ValidString(s)
}

// JSONKind names the kind of a value decoded from JSON into an any ("a
// string", "an object"), for problems such as "must be a number, got a
// string".
func JSONKind(v any) string {
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
	}
	return "an unsupported value"
}
