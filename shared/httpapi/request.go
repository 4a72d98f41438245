package httpapi

import (
	"encoding/base64"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// Request is what API Gateway sends: payload format 2.0.
type Request = events.APIGatewayV2HTTPRequest

// Body returns the request body, decoding base64 as API Gateway sends
// binary and form bodies, and answers 413 when either the raw or the decoded
// length is over limit (so a client cannot slip a large body past the check
// in either form).
func Body(req *Request, limit int) ([]byte, *Error) {
	tooLarge := Errorf(http.StatusRequestEntityTooLarge, CodePayloadTooLarge,
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
		return nil, Errorf(http.StatusBadRequest, CodeInvalidRequest, "the body is marked base64 but is not valid base64")
	}
	if len(b) > limit {
		return nil, tooLarge
	}
	return b, nil
}

// MediaType returns the request's media type, lower-cased, with parameters.
func MediaType(req *Request) (string, map[string]string) {
	ct := Header(req, "content-type")
	if ct == "" {
		return "", nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0])), nil
	}
	return mt, params
}

// IsJSONMediaType reports whether mt is JSON: application/json or a
// structured +json type.
func IsJSONMediaType(mt string) bool {
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// Header returns a request header. API Gateway v2 lower-cases header names;
// other callers (tests, the local stack) might not.
func Header(req *Request, name string) string {
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

// Query parses the raw query string (API Gateway's parsed map joins repeated
// keys with commas, which would corrupt a cursor).
func Query(req *Request) url.Values {
	if req.RawQueryString != "" {
		if q, err := url.ParseQuery(req.RawQueryString); err == nil {
			return q
		}
	}
	q := url.Values{}
	for k, v := range req.QueryStringParameters {
		q.Set(k, v)
	}
	return q
}
