package strictjson

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// FuzzDecode: Decode agrees with encoding/json on syntax, refuses only
// documents encoding/json accepts, and what it accepts is clean text that
// survives a round trip unchanged.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"type":"page_view","anonymous_id":"a"}`, `{"events":[{"type":"a","type":"b"}]}`,
		`{"a":"\ud800"}`, `{"a":"\ud83d\ude00"}`, `{"a":"\u0000"}`, "{\"a\":\"\xff\"}", `[1,{"x":[]},"\\u"]`, `{"a":1,}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = Check(data) // arbitrary input must not panic Check either
		var plain any
		plainErr := json.Unmarshal(data, &plain)
		v, err := Decode(data)
		var se *Error
		switch {
		case plainErr != nil:
			if err == nil || errors.As(err, &se) {
				t.Fatalf("encoding/json says %v, Decode says %v", plainErr, err)
			}
			return
		case errors.As(err, &se):
			if se.Path == "" || se.Offset < 0 || se.Offset >= int64(len(data)) || data[se.Offset] != '"' {
				t.Fatalf("Error %+v does not point at a string in %q", se, data)
			}
			return
		case err != nil:
			t.Fatalf("Decode(%q) = %v, but encoding/json accepts it", data, err)
		}
		if !reflect.DeepEqual(v, plain) {
			t.Fatalf("Decode = %#v, encoding/json = %#v", v, plain)
		}
		checkStrings(t, v)
		again, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if w, err := Decode(again); err != nil || !reflect.DeepEqual(w, v) {
			t.Fatalf("round trip of %q: %v", again, err)
		}
	})
}

func checkStrings(t *testing.T, v any) {
	switch x := v.(type) {
	case string:
		if why := CheckText(x); why != "" {
			t.Fatalf("accepted string %q %s", x, why)
		}
	case []any:
		for _, e := range x {
			checkStrings(t, e)
		}
	case map[string]any:
		for k, e := range x {
			checkStrings(t, k)
			checkStrings(t, e)
		}
	}
}
