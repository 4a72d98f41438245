package ingest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/leadscore/leadscore/shared/strictjson"
)

// Body limits per route (README "Limits"). CONTRACT.md caps every body at
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

// body returns the request body, decoding base64 as API Gateway sends
// binary and form bodies, and answers 413 when either the raw or the decoded
// length is over limit (so a client cannot slip a large body past the check
// in either form).
func body(req *events.APIGatewayV2HTTPRequest, limit int) ([]byte, *apiError) {
	tooLarge := errorf(http.StatusRequestEntityTooLarge, CodePayloadTooLarge,
		fmt.Sprintf("the body is larger than %d bytes", limit))
	if !req.IsBase64Encoded {
		if len(req.Body) > limit {
			return nil, tooLarge
		}
		return []byte(req.Body), nil
	}
	if len(req.Body) > base64.StdEncoding.EncodedLen(limit) {
		return nil, tooLarge
	}
	b, err := base64.StdEncoding.DecodeString(req.Body)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, CodeInvalidRequest, "the body is marked base64 but is not valid base64")
	}
	if len(b) > limit {
		return nil, tooLarge
	}
	return b, nil
}

// mediaType returns the request's media type, lower-cased, with parameters.
func mediaType(req *events.APIGatewayV2HTTPRequest) (string, map[string]string) {
	ct := header(req, "content-type")
	if ct == "" {
		return "", nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0])), nil
	}
	return mt, params
}

func isJSONMediaType(mt string) bool {
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// decodeJSON parses body into generic values. A syntax error is answered
// with the byte offset where parsing failed, so a client can find it; a
// duplicate key, invalid UTF-8, a lone surrogate or a NUL with the field
// (strictjson says why encoding/json alone is not enough).
func decodeJSON(body []byte) (any, *apiError) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errorf(http.StatusBadRequest, CodeInvalidJSON, "the body is empty; send an event object or {\"events\": [...]}")
	}
	v, err := strictjson.Decode(body)
	if err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		var strict *strictjson.Error
		switch {
		case errors.As(err, &strict):
			return nil, errorf(http.StatusBadRequest, CodeInvalidJSON,
				fmt.Sprintf("the body is not valid JSON text: %s %s at byte offset %d", strict.Path, strict.Problem, strict.Offset),
				Detail{Field: strict.Path, Message: strict.Problem})
		case errors.As(err, &syn):
			// Go counts the offending byte as read; clients (and editors)
			// want the 0-based offset of that byte. At the end of the input
			// the offset is the length: where the missing byte should be.
			off := syn.Offset
			if off > 0 && off <= int64(len(body)) && !strings.Contains(syn.Error(), "unexpected end") {
				off--
			}
			return nil, errorf(http.StatusBadRequest, CodeInvalidJSON,
				fmt.Sprintf("the body is not valid JSON: %s at byte offset %d", syn.Error(), off),
				Detail{Field: "(body)", Message: fmt.Sprintf("offset %d: %s", off, syn.Error())})
		case errors.As(err, &typ):
			// Into a generic value only a number out of float64 range fails.
			return nil, errorf(http.StatusBadRequest, CodeInvalidJSON,
				fmt.Sprintf("the body holds an unrepresentable %s at byte offset %d", typ.Value, typ.Offset),
				Detail{Field: "(body)", Message: fmt.Sprintf("offset %d: %s out of range", typ.Offset, typ.Value)})
		default:
			return nil, errorf(http.StatusBadRequest, CodeInvalidJSON, "the body is not valid JSON")
		}
	}
	return v, nil
}

// rawEvents splits a decoded body into the raw events and the path prefix
// of each ("" for a single event, "events[i]" in a batch).
func rawEvents(doc any) ([]any, []string, *apiError) {
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, nil, errorf(http.StatusBadRequest, CodeInvalidRequest,
			"the body must be an event object or {\"events\": [...]}",
			Detail{Field: "(body)", Message: "must be an object, got " + jsonKind(doc)})
	}
	list, isBatch := obj["events"]
	if !isBatch {
		return []any{doc}, []string{""}, nil
	}
	var details []Detail
	for k := range obj {
		if k != "events" {
			details = append(details, Detail{Field: k, Message: "unknown field; a batch body holds only \"events\""})
		}
	}
	arr, ok := list.([]any)
	switch {
	case !ok:
		details = append(details, Detail{Field: "events", Message: "must be an array, got " + jsonKind(list)})
	case len(arr) == 0:
		details = append(details, Detail{Field: "events", Message: "must hold at least one event"})
	case len(arr) > MaxEvents:
		details = append(details, Detail{Field: "events", Message: fmt.Sprintf("holds %d events; at most %d are accepted per request", len(arr), MaxEvents)})
	}
	if len(details) > 0 {
		return nil, nil, errorf(http.StatusBadRequest, CodeInvalidRequest, "the request has problems; see details", details...)
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
	bad []Detail
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
		f.bad = append(f.bad, Detail{Field: name, Message: "the field name " + why})
	} else if why := strictjson.CheckText(value); why != "" {
		f.bad = append(f.bad, Detail{Field: name, Message: why})
	}
}

// textErr answers the fields add found unusable as text.
func (f *formValues) textErr() *apiError {
	if len(f.bad) == 0 {
		return nil
	}
	return errorf(http.StatusBadRequest, CodeInvalidRequest, "the form has fields that are not valid text", f.bad...)
}

// decodeForm parses an urlencoded or multipart form body. Multipart file
// parts are skipped: forms carry text fields only.
func decodeForm(mt string, params map[string]string, body []byte) (*formValues, *apiError) {
	f := &formValues{values: map[string]string{}}
	tooMany := errorf(http.StatusBadRequest, CodeInvalidRequest, fmt.Sprintf("the form has more than %d fields", MaxFormFields))
	switch mt {
	case "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, errorf(http.StatusBadRequest, CodeInvalidRequest, "the form body is not valid application/x-www-form-urlencoded")
		}
		if len(vals) > MaxFormFields {
			return nil, tooMany
		}
		// ParseQuery loses field order; order only affects problem order,
		// which sortedKeys makes deterministic anyway.
		for _, name := range sortedKeys(anyMap(vals)) {
			f.add(name, vals[name][0])
		}
		return f, f.textErr()
	case "multipart/form-data":
		boundary := params["boundary"]
		if boundary == "" {
			return nil, errorf(http.StatusBadRequest, CodeInvalidRequest, "multipart/form-data without a boundary parameter")
		}
		r := multipart.NewReader(bytes.NewReader(body), boundary)
		for {
			part, err := r.NextPart()
			if err == io.EOF {
				return f, f.textErr()
			}
			if err != nil {
				return nil, errorf(http.StatusBadRequest, CodeInvalidRequest, "the multipart form body is malformed")
			}
			name := part.FormName()
			if name == "" || part.FileName() != "" {
				_ = part.Close()
				continue
			}
			// The whole body is already bounded by MaxFormBodyBytes.
			v, err := io.ReadAll(part)
			if err != nil {
				return nil, errorf(http.StatusBadRequest, CodeInvalidRequest, "the multipart form body is malformed")
			}
			f.add(name, string(v))
			if len(f.names) > MaxFormFields {
				return nil, tooMany
			}
		}
	default:
		return nil, unsupportedMedia("application/x-www-form-urlencoded or multipart/form-data")
	}
}

func unsupportedMedia(want string) *apiError {
	return errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "Content-Type must be "+want,
		Detail{Field: "content-type", Message: "must be " + want})
}

func anyMap(v url.Values) map[string]any {
	m := make(map[string]any, len(v))
	for k := range v {
		m[k] = nil
	}
	return m
}

// header returns a request header. API Gateway v2 lower-cases header names;
// other callers (tests, the local stack) might not.
func header(req *events.APIGatewayV2HTTPRequest, name string) string {
	if v, ok := req.Headers[name]; ok {
		return v
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
