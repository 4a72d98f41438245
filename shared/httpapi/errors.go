// Package httpapi is the HTTP plumbing the API Gateway HTTP API functions
// (functions/ingest and functions/api) share: the route table and its
// matching, the API key check, the JSON error shape, JSON and HTML
// responses, request bodies, and the access log line and request metrics of
// every request. docs/api.md "HTTP API" is the contract it serves.
//
// A function builds a Router from its route table once per process and hands
// every request to Router.Handle. The routes themselves live in the function's
// own package (shared/ingest, shared/api).
package httpapi

import (
	"net/http"
)

// Error codes of the JSON error body (docs/api.md "Errors"): stable strings a
// client can switch on; the message is for people.
const (
	CodeInvalidRequest    = "invalid_request"
	CodeInvalidJSON       = "invalid_json"
	CodeInvalidRules      = "invalid_rules"
	CodeUnauthorized      = "unauthorized"
	CodeForbidden         = "forbidden"
	CodeOriginNotAllowed  = "origin_not_allowed"
	CodeNotFound          = "not_found"
	CodeMethodNotAllowed  = "method_not_allowed"
	CodePayloadTooLarge   = "payload_too_large"
	CodeUnsupportedMedia  = "unsupported_media_type"
	CodeQueueUnavailable  = "queue_unavailable"
	CodeStoreUnavailable  = "store_unavailable"
	CodeInternal          = "internal_error"
	CodeFormMisconfigured = "form_misconfigured"
)

// Detail names one problem: the field path (`events[3].email`) and what is
// wrong with it.
type Detail struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is every non-2xx answer. Message and Details go to the client;
// nothing internal (no error text from AWS, no stack) is ever put in them.
type Error struct {
	Status  int
	Code    string
	Message string
	Details []Detail
	// Extra fields merged into the body (e.g. the 503's not_accepted list).
	Extra map[string]any
}

// Error makes *Error an error, for callers that pass it along as one.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Body is the JSON body of e: {"error","message","details"} and any Extra.
func (e *Error) Body() map[string]any {
	details := e.Details
	if details == nil {
		details = []Detail{}
	}
	b := map[string]any{"error": e.Code, "message": e.Message, "details": details}
	for k, v := range e.Extra {
		b[k] = v
	}
	return b
}

// Errorf returns an Error with status, code, message and details.
func Errorf(status int, code, message string, details ...Detail) *Error {
	return &Error{Status: status, Code: code, Message: message, Details: details}
}

// Internal is the 500 of an unexpected failure: it says nothing of the cause.
func Internal() *Error {
	return Errorf(http.StatusInternalServerError, CodeInternal, "internal error; the request was not processed, it is safe to retry")
}

// StoreUnavailable is the 503 of a failed table read or write.
func StoreUnavailable() *Error {
	return Errorf(http.StatusServiceUnavailable, CodeStoreUnavailable, "the lead store is unavailable; try again shortly")
}

// UnsupportedMedia is the 415 naming the content types a route takes.
func UnsupportedMedia(want string) *Error {
	return Errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "Content-Type must be "+want,
		Detail{Field: "content-type", Message: "must be " + want})
}
