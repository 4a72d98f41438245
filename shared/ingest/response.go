package ingest

import (
	"encoding/json"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
)

// Error codes of the JSON error body (CONTRACT.md): stable strings a client
// can switch on; the message is for people.
const (
	CodeInvalidRequest    = "invalid_request"
	CodeInvalidJSON       = "invalid_json"
	CodeInvalidRules      = "invalid_rules"
	CodeUnauthorized      = "unauthorized"
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

// apiError is every non-2xx answer. Message and Details go to the client;
// nothing internal (no error text from AWS, no stack) is ever put in them.
type apiError struct {
	Status  int
	Code    string
	Message string
	Details []Detail
	// Extra fields merged into the body (e.g. the 503's not_accepted list).
	Extra map[string]any
}

func (e *apiError) body() map[string]any {
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

func errorf(status int, code, message string, details ...Detail) *apiError {
	return &apiError{Status: status, Code: code, Message: message, Details: details}
}

func internalError() *apiError {
	return errorf(http.StatusInternalServerError, CodeInternal, "internal error; the request was not processed, it is safe to retry")
}

func jsonResponse(status int, v any) events.APIGatewayV2HTTPResponse {
	body, err := json.Marshal(v)
	if err != nil {
		// Every body is built from JSON-safe values; this is unreachable, but
		// a client must still get a well-formed answer.
		status = http.StatusInternalServerError
		body = []byte(`{"error":"internal_error","message":"internal error","details":[]}`)
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers: map[string]string{
			"content-type":           "application/json; charset=utf-8",
			"cache-control":          "no-store",
			"x-content-type-options": "nosniff",
		},
		Body: string(body),
	}
}

func errorResponse(e *apiError) events.APIGatewayV2HTTPResponse {
	return jsonResponse(e.Status, e.body())
}

func htmlResponse(status int, page string) events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{
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
