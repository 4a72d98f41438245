// Package strictjson reads JSON request bodies the way every leadscore route
// must read them: as encoding/json does, but refusing what encoding/json
// quietly repairs. encoding/json keeps the last of a key given twice in one
// object, and turns invalid UTF-8 and escapes of lone UTF-16 surrogates
// (`"\ud800"`) into U+FFFD; another JSON reader (a proxy, a SIEM, the rules
// parser) may keep the first key or refuse the text, so the same body would
// mean two things. NUL characters are refused too: no field has a use for
// one, and C-based tools downstream truncate strings at it.
//
// The checks apply to keys and string values alike. See docs/api.md
// "Errors" for how routes answer them.
package strictjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Error is a problem in an otherwise well-formed JSON document.
type Error struct {
	// Path names the offending value or key the way error details do:
	// "events[0].lead.first_name"; "(body)" for the top-level value.
	Path string
	// Offset is the byte offset where the offending key or string starts.
	Offset int64
	// Problem says what is wrong, without repeating the value (which may be
	// personal data).
	Problem string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s (byte offset %d)", e.Path, e.Problem, e.Offset)
}

// Decode parses data into generic values, as json.Unmarshal into an `any`
// does. A syntax or range error is encoding/json's own (*json.SyntaxError,
// *json.UnmarshalTypeError); a duplicate key, invalid UTF-8, a lone
// surrogate or a NUL character is an *Error naming where it is.
func Decode(data []byte) (any, error) {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	if err := Check(data); err != nil {
		return nil, err
	}
	return v, nil
}

// Check reports the first strictness problem of a syntactically valid JSON
// document, or nil. It does not report syntax errors itself: call it on
// data json.Unmarshal accepted (Decode does both).
func Check(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // numbers are not checked; this avoids range errors
	w := walker{dec: dec, data: data}
	err := w.value("")
	if se, ok := err.(*Error); ok {
		return se
	}
	return nil // syntax errors are json.Unmarshal's to report
}

// CheckText reports why s cannot be stored as text ("is not valid UTF-8",
// "contains a NUL character"), or "" when it can. Form posts use it for the
// text fields that do not come through JSON.
func CheckText(s string) string {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return "is not valid UTF-8"
		case r == 0:
			return "contains a NUL character"
		}
		i += size
	}
	return ""
}

// walker follows the decoder's tokens, keeping the path of the current
// value and the raw bytes of each string token.
type walker struct {
	dec  *json.Decoder
	data []byte
	prev int64 // input offset after the previous token
}

// token returns the next token and, for a string, its raw literal (quotes
// included) and where it starts.
func (w *walker) token() (json.Token, []byte, int64, error) {
	tok, err := w.dec.Token()
	if err != nil {
		return nil, nil, 0, err
	}
	end := w.dec.InputOffset()
	seg := w.data[w.prev:end]
	w.prev = end
	if _, isStr := tok.(string); !isStr {
		return tok, nil, 0, nil
	}
	// Between two tokens there is only whitespace, ',' and ':', none of
	// which is a quote: the literal starts at the first one.
	i := bytes.IndexByte(seg, '"')
	return tok, seg[i:], end - int64(len(seg)-i), nil
}

// value walks one value at path.
func (w *walker) value(path string) error {
	tok, raw, start, err := w.token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case string:
		return check(raw, path, start)
	case json.Delim:
		if t == '{' {
			return w.object(path)
		}
		if t == '[' {
			return w.array(path)
		}
	}
	return nil
}

func (w *walker) object(path string) error {
	seen := map[string]bool{}
	for w.dec.More() {
		tok, raw, start, err := w.token()
		if err != nil {
			return err
		}
		key := tok.(string) // inside an object, a key comes first
		at := join(path, key)
		if err := check(raw, at, start); err != nil {
			return err
		}
		if seen[key] {
			return &Error{Path: at, Offset: start, Problem: "is given twice in one object; each key may appear once"}
		}
		seen[key] = true
		if err := w.value(at); err != nil {
			return err
		}
	}
	_, _, _, err := w.token() // '}'
	return err
}

func (w *walker) array(path string) error {
	for i := 0; w.dec.More(); i++ {
		if err := w.value(path + "[" + strconv.Itoa(i) + "]"); err != nil {
			return err
		}
	}
	_, _, _, err := w.token() // ']'
	return err
}

// join names key inside path; an empty key is written "" so that a path
// is never empty.
func join(path, key string) string {
	if key == "" {
		key = `""`
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// check inspects a raw string literal (quotes included, syntax already
// valid) for the text encoding/json would repair.
func check(raw []byte, path string, start int64) error {
	fail := func(problem string) error {
		if path == "" {
			path = "(body)"
		}
		return &Error{Path: path, Offset: start, Problem: problem}
	}
	s := raw[1 : len(raw)-1]
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				return fail("is not valid UTF-8")
			}
			i += size
			continue
		}
		if s[i+1] != 'u' {
			i += 2 // \" \\ \/ \b \f \n \r \t
			continue
		}
		r := hex4(s[i+2 : i+6])
		i += 6
		switch {
		case r == 0:
			return fail("contains a NUL character (\\u0000)")
		case r >= 0xDC00 && r <= 0xDFFF:
			return fail("contains a lone UTF-16 surrogate escape (a low surrogate without a high one)")
		case r >= 0xD800 && r <= 0xDBFF:
			if i+6 > len(s) || s[i] != '\\' || s[i+1] != 'u' {
				return fail("contains a lone UTF-16 surrogate escape (a high surrogate without a low one)")
			}
			if lo := hex4(s[i+2 : i+6]); lo < 0xDC00 || lo > 0xDFFF {
				return fail("contains a lone UTF-16 surrogate escape (a high surrogate without a low one)")
			}
			i += 6
		}
	}
	return nil
}

// hex4 reads four hex digits (the syntax is already valid).
func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		default:
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}
