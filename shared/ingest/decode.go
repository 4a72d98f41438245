package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/leadscore/leadscore/shared/httpapi"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/strictjson"
)

// Body limits per route (docs/api.md "Limits"). docs/api.md caps every body at
// 256 KiB; form posts are text fields only, so they get far less, which also
// bounds what an anonymous public route makes the function parse.
const (
	MaxEventsBodyBytes = 256 * 1024
	MaxFormBodyBytes   = 64 * 1024
	MaxRulesBodyBytes  = 256 * 1024
	// MaxFormFields bounds the fields of one form post (mapped fields,
	// properties and control fields together).
	MaxFormFields = 64
)

// decodeJSON parses body into generic values. A syntax error is answered
// with the byte offset where parsing failed, so a client can find it; a
// duplicate key, invalid UTF-8, a lone surrogate or a NUL with the field
// (strictjson says why encoding/json alone is not enough).
func decodeJSON(body []byte) (any, *httpapi.Error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidJSON, "the body is empty; send an event object or {\"events\": [...]}")
	}
	v, err := strictjson.Decode(body)
	if err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		var strict *strictjson.Error
		switch {
		case errors.As(err, &strict):
			return nil, strictError(strict)
		case errors.As(err, &syn):
			// Go counts the offending byte as read; clients (and editors)
			// want the 0-based offset of that byte. At the end of the input
			// the offset is the length: where the missing byte should be.
			off := syn.Offset
			if off > 0 && off <= int64(len(body)) && !strings.Contains(syn.Error(), "unexpected end") {
				off--
			}
			return nil, httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidJSON,
				fmt.Sprintf("the body is not valid JSON: %s at byte offset %d", syn.Error(), off),
				httpapi.Detail{Field: "(body)", Message: fmt.Sprintf("offset %d: %s", off, syn.Error())})
		case errors.As(err, &typ):
			// Into a generic value only a number out of float64 range fails.
			return nil, httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidJSON,
				fmt.Sprintf("the body holds an unrepresentable %s at byte offset %d", typ.Value, typ.Offset),
				httpapi.Detail{Field: "(body)", Message: fmt.Sprintf("offset %d: %s out of range", typ.Offset, typ.Value)})
		default:
			return nil, httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidJSON, "the body is not valid JSON")
		}
	}
	return v, nil
}

// strictJSON answers a JSON body that encoding/json would read only by
// repairing it (a repeated key, invalid UTF-8, a lone surrogate, a NUL), for
// the routes whose own decoders use encoding/json (Segment, collect); it
// says nothing of syntax, which those decoders report.
func strictJSON(body []byte) *httpapi.Error {
	var strict *strictjson.Error
	if errors.As(strictjson.Check(body), &strict) {
		return strictError(strict)
	}
	return nil
}

func strictError(e *strictjson.Error) *httpapi.Error {
	return httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidJSON,
		fmt.Sprintf("the body is not valid JSON text: %s %s at byte offset %d", e.Path, e.Problem, e.Offset),
		httpapi.Detail{Field: e.Path, Message: e.Problem})
}

// rawEvents splits a decoded body into the raw events and the path prefix
// of each ("" for a single event, "events[i]" in a batch).
func rawEvents(doc any) ([]any, []string, *httpapi.Error) {
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, nil, httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest,
			"the body must be an event object or {\"events\": [...]}",
			httpapi.Detail{Field: "(body)", Message: "must be an object, got " + leadscore.JSONKind(doc)})
	}
	list, isBatch := obj["events"]
	if !isBatch {
		return []any{doc}, []string{""}, nil
	}
	var details []httpapi.Detail
	for k := range obj {
		if k != "events" {
			details = append(details, httpapi.Detail{Field: k, Message: "unknown field; a batch body holds only \"events\""})
		}
	}
	arr, ok := list.([]any)
	switch {
	case !ok:
		details = append(details, httpapi.Detail{Field: "events", Message: "must be an array, got " + leadscore.JSONKind(list)})
	case len(arr) == 0:
		details = append(details, httpapi.Detail{Field: "events", Message: "must hold at least one event"})
	case len(arr) > MaxEvents:
		details = append(details, httpapi.Detail{Field: "events", Message: fmt.Sprintf("holds %d events; at most %d are accepted per request", len(arr), MaxEvents)})
	}
	if len(details) > 0 {
		return nil, nil, httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest, "the request has problems; see details", details...)
	}
	prefixes := make([]string, len(arr))
	for i := range arr {
		prefixes[i] = fmt.Sprintf("events[%d]", i)
	}
	return arr, prefixes, nil
}

// formValues is a decoded form post: the first value of each field, in
// the order fields first appeared.
type formValues struct {
	names  []string
	values map[string]string
	// bad lists fields that are not valid UTF-8 text or hold a NUL, which
	// JSON bodies may not carry either (strictjson.CheckText).
	bad []httpapi.Detail
}

func (f *formValues) add(name, value string) {
	if _, seen := f.values[name]; seen {
		// A repeated name (checkbox group) keeps its first value, as
		// net/http's FormValue does.
		return
	}
	f.names = append(f.names, name)
	f.values[name] = value
	if why := strictjson.CheckText(name); why != "" {
		f.bad = append(f.bad, httpapi.Detail{Field: name, Message: "the field name " + why})
	} else if why := strictjson.CheckText(value); why != "" {
		f.bad = append(f.bad, httpapi.Detail{Field: name, Message: why})
	}
}

// textErr answers the fields add found unusable as text.
func (f *formValues) textErr() *httpapi.Error {
	if len(f.bad) == 0 {
		return nil
	}
	return httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest, "the form has fields that are not valid text", f.bad...)
}

// decodeForm parses an urlencoded or multipart form body. Multipart file
// parts are skipped: forms carry text fields only.
func decodeForm(mt string, params map[string]string, body []byte) (*formValues, *httpapi.Error) {
	f := &formValues{values: map[string]string{}}
	tooMany := httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest, fmt.Sprintf("the form has more than %d fields", MaxFormFields))
	switch mt {
	case "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest, "the form body is not valid application/x-www-form-urlencoded")
		}
		if len(vals) > MaxFormFields {
			return nil, tooMany
		}
		// ParseQuery loses field order; order only affects problem order,
		// which sorting the names makes deterministic anyway.
		for _, name := range slices.Sorted(maps.Keys(vals)) {
			f.add(name, vals[name][0])
		}
		return f, f.textErr()
	case "multipart/form-data":
		boundary := params["boundary"]
		if boundary == "" {
			return nil, httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest, "multipart/form-data without a boundary parameter")
		}
		r := multipart.NewReader(bytes.NewReader(body), boundary)
		for {
			part, err := r.NextPart()
			if err == io.EOF {
				return f, f.textErr()
			}
			if err != nil {
				return nil, httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest, "the multipart form body is malformed")
			}
			name := part.FormName()
			if name == "" || part.FileName() != "" {
				_ = part.Close()
				continue
			}
			// The whole body is already bounded by MaxFormBodyBytes.
			v, err := io.ReadAll(part)
			if err != nil {
				return nil, httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest, "the multipart form body is malformed")
			}
			f.add(name, string(v))
			if len(f.names) > MaxFormFields {
				return nil, tooMany
			}
		}
	default:
		return nil, httpapi.UnsupportedMedia("application/x-www-form-urlencoded or multipart/form-data")
	}
}
