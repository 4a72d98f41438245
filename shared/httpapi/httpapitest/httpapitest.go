// Package httpapitest holds what the tests of the HTTP functions (shared/ingest,
// shared/api) share: loading API Gateway v2 requests from testdata, editing
// them as API Gateway would carry them, and checking answers against the
// contract's error shape and the no-personal-data-in-logs invariant.
package httpapitest

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/leadscore/leadscore/shared/httpapi"
)

// Load reads an API Gateway v2 request from testdata/requests/name.
func Load(t testing.TB, name string) httpapi.Request {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "requests", name))
	if err != nil {
		t.Fatal(err)
	}
	var req httpapi.Request
	if err := json.Unmarshal(b, &req); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return req
}

// WithBody replaces the body as API Gateway would carry it.
func WithBody(req httpapi.Request, body string, b64 bool) httpapi.Request {
	req.IsBase64Encoded = b64
	if b64 {
		req.Body = base64.StdEncoding.EncodeToString([]byte(body))
	} else {
		req.Body = body
	}
	req.Headers = maps.Clone(req.Headers)
	if req.Headers == nil {
		req.Headers = map[string]string{}
	}
	req.Headers["content-length"] = strconv.Itoa(len(body))
	return req
}

// WithHeader sets header k to v, or removes it when v is empty.
func WithHeader(req httpapi.Request, k, v string) httpapi.Request {
	req.Headers = maps.Clone(req.Headers)
	if req.Headers == nil {
		req.Headers = map[string]string{}
	}
	if v == "" {
		delete(req.Headers, k)
	} else {
		req.Headers[k] = v
	}
	return req
}

var emailInLog = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)

// CheckAnswer fails the test if logs hold an email address (docs/architecture.md,
// the invariant on personal data in logs) or a 5xx carries SDK internals.
func CheckAnswer(t testing.TB, resp httpapi.Response, logs string) {
	t.Helper()
	if m := emailInLog.FindString(logs); m != "" {
		t.Fatalf("a log line carries an email address %q:\n%s", m, logs)
	}
	if resp.StatusCode >= 500 && strings.Contains(resp.Body, "operation error") {
		t.Fatalf("a %d carries internals: %s", resp.StatusCode, resp.Body)
	}
}

// ErrorBody is the docs/api.md error shape.
type ErrorBody struct {
	Error   string           `json:"error"`
	Message string           `json:"message"`
	Details []httpapi.Detail `json:"details"`
}

// DecodeError decodes resp's body, failing the test unless it has every
// field of the error shape.
func DecodeError(t testing.TB, resp httpapi.Response) ErrorBody {
	t.Helper()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(resp.Body), &raw); err != nil {
		t.Fatalf("error body %q is not JSON: %v", resp.Body, err)
	}
	for _, k := range []string{"error", "message", "details"} {
		if _, ok := raw[k]; !ok {
			t.Fatalf("error body %s lacks %q", resp.Body, k)
		}
	}
	var b ErrorBody
	if err := json.Unmarshal([]byte(resp.Body), &b); err != nil {
		t.Fatal(err)
	}
	return b
}

// Text is the message and every detail, for checking what a client reads.
func (b ErrorBody) Text() string {
	var s strings.Builder
	s.WriteString(b.Message)
	for _, d := range b.Details {
		s.WriteString("\n" + d.Field + ": " + d.Message)
	}
	return s.String()
}

// Fields lists the details' field paths.
func Fields(ds []httpapi.Detail) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Field
	}
	return out
}
