package strictjson

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func TestDecodeRefusesWhatEncodingJSONRepairs(t *testing.T) {
	tests := []struct {
		name, doc, path string
		offset          int64
	}{
		{"duplicate top-level key", `{"type":"a","type":"b"}`, "type", 12},
		{"duplicate nested key", `{"events":[{"lead":{"x":1, "x":2}}]}`, "events[0].lead.x", 27},
		{"invalid UTF-8 value", "{\"a\":[\"ok\",\"\xff\"]}", "a[1]", 11},
		{"invalid UTF-8 key", "{\"\xc3\":1}", "\ufffd", 1},
		{"truncated UTF-8 sequence", "{\"a\":\"\xe2\x82\"}", "a", 5},
		{"UTF-8-encoded surrogate", "{\"a\":\"\xed\xa0\x80\"}", "a", 5},
		{"lone high surrogate", `{"a":"\ud800"}`, "a", 5},
		{"high surrogate then a plain escape", `{"a":"\ud800\n"}`, "a", 5},
		{"high surrogate then another high", `{"a":"\ud800\ud800"}`, "a", 5},
		{"lone low surrogate", `{"a":"x\uDC00"}`, "a", 5},
		{"NUL escape", `{"a":"\u0000"}`, "a", 5},
		{"NUL in a key", `{"\u0000":1}`, "\x00", 1},
		{"top-level string", `"\ud800"`, "(body)", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var plain any
			if err := json.Unmarshal([]byte(tc.doc), &plain); err != nil {
				t.Fatalf("encoding/json refuses %q (%v); the case would not test strictness", tc.doc, err)
			}
			_, err := Decode([]byte(tc.doc))
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("Decode(%q) = %v, want an *Error", tc.doc, err)
			}
			if se.Path != tc.path || se.Offset != tc.offset || se.Problem == "" {
				t.Errorf("Decode(%q) = %+v, want path %q at offset %d", tc.doc, se, tc.path, tc.offset)
			}
		})
	}
}

func TestDecodeAcceptsWhatIsWellFormed(t *testing.T) {
	docs := []string{
		`{"a":"\ud83d\ude00","b":"\u00e9\t\"\\\/","c":[1,2.5e3,true,null,{}],"d":{"a":1}}`,
		`{"a":{"x":1},"b":{"x":2}}`, // the same key in two objects
		`[{"k":1},{"k":2}]`,
		"{\"caf\u00e9\":\"\u65e5\u672c\"}",
		`"\ufffd"`, // a real replacement character is text like any other
		` 12 `,
	}
	for _, doc := range docs {
		v, err := Decode([]byte(doc))
		if err != nil {
			t.Errorf("Decode(%q) = %v", doc, err)
			continue
		}
		var want any
		_ = json.Unmarshal([]byte(doc), &want)
		if !reflect.DeepEqual(v, want) {
			t.Errorf("Decode(%q) = %#v, want encoding/json's %#v", doc, v, want)
		}
	}
}

func TestDecodePassesSyntaxErrorsThrough(t *testing.T) {
	var syn *json.SyntaxError
	if _, err := Decode([]byte(`{"a":1,}`)); !errors.As(err, &syn) || syn.Offset != 8 {
		t.Errorf("Decode of a syntax error = %v, want encoding/json's *SyntaxError at 8", err)
	}
	var typ *json.UnmarshalTypeError
	if _, err := Decode([]byte(`{"a":1e999}`)); !errors.As(err, &typ) {
		t.Errorf("Decode of an out-of-range number = %v, want *json.UnmarshalTypeError", err)
	}
}

func TestCheckText(t *testing.T) {
	for s, want := range map[string]bool{"Ada": true, "Jos\u00e9": true, "": true, "\ufffd": true,
		"a\xffb": false, "a\x00b": false, "\xed\xa0\x80": false} {
		if got := CheckText(s) == ""; got != want {
			t.Errorf("CheckText(%q) ok = %v, want %v", s, got, want)
		}
	}
}
