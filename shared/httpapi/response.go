package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
)

// Response is what a route answers: API Gateway's payload format 2.0.
type Response = events.APIGatewayV2HTTPResponse

// JSON answers status with v as its JSON body. Nothing personal is cached
// by a browser or proxy (no-store).
func JSON(status int, v any) Response {
	body, err := json.Marshal(v)
	if err != nil {
		// Every body is built from JSON-safe values; this is unreachable, but
		// a client must still get a well-formed answer.
		status = http.StatusInternalServerError
		body = []byte(`{"error":"internal_error","message":"internal error","details":[]}`)
	}
	return Response{
		StatusCode: status,
		Headers: map[string]string{
			"content-type":           "application/json; charset=utf-8",
			"cache-control":          "no-store",
			"x-content-type-options": "nosniff",
		},
		Body: string(body),
	}
}

// ErrorResponse answers e in the contract's error shape.
func ErrorResponse(e *Error) Response {
	return JSON(e.Status, e.Body())
}

// HTML answers status with page under a strict content security policy: no
// script, no outside resource. A route that runs its own script (the local
// demo page) replaces the header.
func HTML(status int, page string) Response {
	return Response{
		StatusCode: status,
		Headers: map[string]string{
			"content-type":            "text/html; charset=utf-8",
			"cache-control":           "no-store",
			"x-content-type-options":  "nosniff",
			"content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
		},
		Body: page,
	}
}

// NoContent is a 204 that no cache keeps.
func NoContent() Response {
	return Response{StatusCode: http.StatusNoContent, Headers: map[string]string{"cache-control": "no-store"}}
}

// WithHeaders returns r with hs added (replacing headers of the same name).
func WithHeaders(r Response, hs map[string]string) Response {
	if r.Headers == nil {
		r.Headers = map[string]string{}
	}
	for k, v := range hs {
		r.Headers[k] = v
	}
	return r
}
