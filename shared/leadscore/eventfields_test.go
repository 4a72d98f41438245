package leadscore

import (
	"strings"
	"testing"
)

func TestEventFieldSyntax(t *testing.T) {
	tests := []struct {
		name  string
		check func(string) bool
		in    string
		want  bool
	}{
		{"ValidID", ValidID, "ev_01:a.b-c", true},
		{"ValidID", ValidID, strings.Repeat("a", MaxEventIDLen), true},
		{"ValidID", ValidID, strings.Repeat("a", MaxEventIDLen+1), false},
		{"ValidID", ValidID, "", false},
		{"ValidID", ValidID, "has space", false},
		{"ValidID", ValidID, "slash/no", false},
		{"ValidAttributeName", ValidAttributeName, "company_size", true},
		{"ValidAttributeName", ValidAttributeName, "a" + strings.Repeat("b", 63), true},
		{"ValidAttributeName", ValidAttributeName, "a" + strings.Repeat("b", 64), false},
		{"ValidAttributeName", ValidAttributeName, "Company", false},
		{"ValidAttributeName", ValidAttributeName, "1st", false},
		{"ValidPropertyName", ValidPropertyName, "utm_source", true},
		{"ValidPropertyName", ValidPropertyName, "Order-ID", true},
		{"ValidPropertyName", ValidPropertyName, strings.Repeat("k", MaxKeyLen+1), false},
		{"ValidPropertyName", ValidPropertyName, "", false},
		{"ValidPropertyName", ValidPropertyName, "two words", false},
		{"PrintableASCII", PrintableASCII, "GA1.2.3-4", true},
		{"PrintableASCII", PrintableASCII, "tab\there", false},
		{"PrintableASCII", PrintableASCII, "café", false},
		{"PrintableText", PrintableText, "José Müller 42", true},
		{"PrintableText", PrintableText, "line\nbreak", false},
		{"PrintableText", PrintableText, "bad\xffutf8", false},
	}
	for _, tt := range tests {
		if got := tt.check(tt.in); got != tt.want {
			t.Errorf("%s(%q) = %v, want %v", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestJSONKind(t *testing.T) {
	for v, want := range map[any]string{nil: "null", "s": "a string", 1.5: "a number", true: "a boolean", 3: "an unsupported value"} {
		if got := JSONKind(v); got != want {
			t.Errorf("JSONKind(%v) = %q, want %q", v, got, want)
		}
	}
	if got := JSONKind([]any{}); got != "an array" {
		t.Errorf("JSONKind([]any{}) = %q", got)
	}
	if got := JSONKind(map[string]any{}); got != "an object" {
		t.Errorf("JSONKind(map) = %q", got)
	}
}
