package ingest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/leadscore/leadscore/shared/httpapi"
	"github.com/leadscore/leadscore/shared/leadscore"
)

// browserForm is the urlencoded post a browser sends from the demo page,
// with the fields replaced.
func browserForm(t *testing.T, fields url.Values) events.APIGatewayV2HTTPRequest {
	return withBody(load(t, "post-form-urlencoded.json"), fields.Encode(), true)
}

func TestFormFromBrowserRedirects(t *testing.T) {
	e := newEnv(t)
	resp := e.do(t, load(t, "post-form-urlencoded.json"))
	if resp.StatusCode != http.StatusSeeOther || resp.Headers["location"] != "http://localhost:3000/thanks" {
		t.Fatalf("status %d location %q body %s; want 303 to http://localhost:3000/thanks", resp.StatusCode, resp.Headers["location"], resp.Body)
	}
	q := e.received(t, 1)[0]
	ev := q.msg.Event
	wantLead := leadscore.LeadID("ada@example.com")
	switch {
	case q.leadID != wantLead:
		t.Errorf("lead_id %q, want %q", q.leadID, wantLead)
	case ev.Type != "form_submit" || ev.Email != "ada@example.com" || ev.AnonymousID != "anon-7f3c2a":
		t.Errorf("event %+v, want a form_submit from ada@example.com with the cookie id", ev)
	case ev.Lead["company_size"] != 250.0 || ev.Lead["job_title"] != "VP Engineering" || ev.Lead["last_name"] != "Lovelace":
		t.Errorf("lead attributes %v", ev.Lead)
	case ev.Properties["form_id"] != "contact" || ev.Properties["message"] != "Please call me":
		t.Errorf("properties %v, want form_id and the free-text field", ev.Properties)
	case ev.Properties["_redirect"] != nil || ev.Properties["_hp"] != nil:
		t.Errorf("control fields leaked into properties: %v", ev.Properties)
	case !ev.OccurredAt.Equal(testNow):
		t.Errorf("occurred_at %v, want the request time", ev.OccurredAt)
	}
}

func TestFormRedirectTargets(t *testing.T) {
	tests := []struct {
		name         string
		form         string
		origin       string
		redirect     string
		wantStatus   int
		wantLocation string
	}{
		{name: "allowed origin, any port", form: "contact", origin: "http://127.0.0.1:5173", redirect: "http://127.0.0.1:5173/done?x=1",
			wantStatus: 303, wantLocation: "http://127.0.0.1:5173/done?x=1"},
		{name: "other site: confirmation page, no redirect", form: "contact", origin: "http://localhost:3000", redirect: "https://evil.example/phish",
			wantStatus: 200},
		{name: "scheme-relative: not followed", form: "contact", origin: "http://localhost:3000", redirect: "//evil.example/",
			wantStatus: 200},
		{name: "javascript: not followed", form: "contact", origin: "http://localhost:3000", redirect: "javascript:alert(1)",
			wantStatus: 200},
		{name: "userinfo trick: not followed", form: "contact", origin: "http://localhost:3000", redirect: "http://localhost:3000@evil.example/",
			wantStatus: 200},
		{name: "disallowed redirect falls back to the thank-you URL", form: "ebook", origin: "https://www.example.com", redirect: "https://evil.example/",
			wantStatus: 303, wantLocation: "https://www.example.com/thanks"},
		{name: "no redirect, thank-you URL", form: "ebook", origin: "https://www.example.com",
			wantStatus: 303, wantLocation: "https://www.example.com/thanks"},
	}
	e := newEnv(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := url.Values{"email": {"ada@example.com"}}
			if tc.redirect != "" {
				v.Set("_redirect", tc.redirect)
			}
			req := withHeader(browserForm(t, v), "origin", tc.origin)
			req.RawPath, req.PathParameters = "/v1/forms/"+tc.form, map[string]string{"form_id": tc.form}
			resp := e.do(t, req)
			if resp.StatusCode != tc.wantStatus || resp.Headers["location"] != tc.wantLocation {
				t.Fatalf("status %d location %q; want %d %q", resp.StatusCode, resp.Headers["location"], tc.wantStatus, tc.wantLocation)
			}
			if tc.wantStatus == 200 && !strings.Contains(resp.Body, "Thank you") {
				t.Errorf("confirmation page %q", resp.Body)
			}
		})
	}
	got := e.received(t, len(tests))
	for _, q := range got {
		if ft := q.msg.Event.Properties["form_id"]; ft == "ebook" && (q.msg.Event.Type != "content_download" || q.msg.Event.Properties["funnel_stage"] != "bottom") {
			t.Errorf("ebook form queued %+v, want content_download at funnel_stage bottom from its configuration", q.msg.Event)
		}
	}
}

func TestFormMultipartFromScript(t *testing.T) {
	e := newEnv(t)
	resp := e.do(t, load(t, "post-form-multipart.json"))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d body %s; want 202", resp.StatusCode, resp.Body)
	}
	if resp.Headers["access-control-allow-origin"] != "http://127.0.0.1:5173" {
		t.Errorf("CORS header %q, want the allowed origin echoed", resp.Headers["access-control-allow-origin"])
	}
	var body AcceptedBody
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatal(err)
	}
	wantLead := leadscore.LeadID("grace@example.org")
	if len(body.Accepted) != 1 || body.Accepted[0].LeadID != wantLead {
		t.Fatalf("body %s, want one event for %s", resp.Body, wantLead)
	}
	q := e.received(t, 1)[0]
	if q.msg.Event.Lead["company"] != "Navy" || q.msg.Event.Properties["utm_source"] != "newsletter" || q.msg.Event.EventID != body.Accepted[0].EventID {
		t.Errorf("queued %+v", q.msg.Event)
	}
}

func TestFormHoneypotIsDroppedQuietly(t *testing.T) {
	e := newEnv(t)
	for _, accept := range []string{"text/html", "application/json"} {
		req := withHeader(browserForm(t, url.Values{"email": {"bot@example.com"}, "_hp": {"http://spam.example"},
			"_redirect": {"http://localhost:3000/thanks"}}), "accept", accept)
		resp := e.do(t, req)
		want := http.StatusSeeOther
		if accept == "application/json" {
			want = http.StatusAccepted
		}
		if resp.StatusCode != want {
			t.Errorf("Accept %s: status %d, want %d as for a real submission", accept, resp.StatusCode, want)
		}
	}
	e.queueEmpty(t)
	if !strings.Contains(e.metrics.String(), MetricFormSpamDropped) {
		t.Errorf("metrics %s lack %s", e.metrics.String(), MetricFormSpamDropped)
	}
}

func TestFormRejections(t *testing.T) {
	tests := []struct {
		name       string
		req        func(t *testing.T) events.APIGatewayV2HTTPRequest
		wantStatus int
		wantCode   string
		wantFields []string
	}{
		{name: "origin not allowed", wantStatus: 403, wantCode: httpapi.CodeOriginNotAllowed, wantFields: []string{"origin"},
			req: func(t *testing.T) events.APIGatewayV2HTTPRequest {
				return withHeader(withHeader(load(t, "post-form-multipart.json"), "origin", "https://evil.example"), "accept", "application/json")
			}},
		{name: "opaque origin", wantStatus: 403, wantCode: httpapi.CodeOriginNotAllowed,
			req: func(t *testing.T) events.APIGatewayV2HTTPRequest {
				return withHeader(load(t, "post-form-multipart.json"), "origin", "null")
			}},
		{name: "referer of another site when Origin is absent", wantStatus: 403, wantCode: httpapi.CodeOriginNotAllowed,
			req: func(t *testing.T) events.APIGatewayV2HTTPRequest {
				r := withHeader(load(t, "post-form-multipart.json"), "origin", "")
				return withHeader(r, "referer", "https://evil.example/page")
			}},
		{name: "unknown form", wantStatus: 404, wantCode: httpapi.CodeNotFound, wantFields: []string{"form_id"},
			req: func(t *testing.T) events.APIGatewayV2HTTPRequest {
				r := load(t, "post-form-multipart.json")
				r.RawPath, r.PathParameters = "/v1/forms/nope", map[string]string{"form_id": "nope"}
				return r
			}},
		{name: "JSON body", wantStatus: 415, wantCode: httpapi.CodeUnsupportedMedia,
			req: func(t *testing.T) events.APIGatewayV2HTTPRequest {
				return withHeader(withBody(load(t, "post-form-multipart.json"), `{"email":"a@b.co"}`, false), "content-type", "application/json")
			}},
		{name: "body over the form limit", wantStatus: 413, wantCode: httpapi.CodePayloadTooLarge,
			req: func(t *testing.T) events.APIGatewayV2HTTPRequest {
				r := withBody(load(t, "post-form-urlencoded.json"), "email=a%40b.co&message="+strings.Repeat("x", MaxFormBodyBytes), true)
				return withHeader(r, "accept", "application/json")
			}},
		{name: "bad fields, named as the form names them", wantStatus: 400, wantCode: httpapi.CodeInvalidRequest, wantFields: []string{"company_size", "email"},
			req: func(t *testing.T) events.APIGatewayV2HTTPRequest {
				return withHeader(browserForm(t, url.Values{"email": {"not-an-email"}, "company_size": {"51-200"}}), "accept", "application/json")
			}},
		{name: "neither email nor anonymous id", wantStatus: 400, wantCode: httpapi.CodeInvalidRequest, wantFields: []string{"email"},
			req: func(t *testing.T) events.APIGatewayV2HTTPRequest {
				return withHeader(browserForm(t, url.Values{"company": {"Acme"}}), "accept", "application/json")
			}},
		{name: "multipart without boundary", wantStatus: 400, wantCode: httpapi.CodeInvalidRequest,
			req: func(t *testing.T) events.APIGatewayV2HTTPRequest {
				return withHeader(load(t, "post-form-multipart.json"), "content-type", "multipart/form-data")
			}},
		{name: "invalid base64", wantStatus: 400, wantCode: httpapi.CodeInvalidRequest,
			req: func(t *testing.T) events.APIGatewayV2HTTPRequest {
				r := load(t, "post-form-multipart.json")
				r.Body = "!!!not base64"
				return r
			}},
	}
	e := newEnv(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.do(t, tc.req(t))
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d body %s; want %d", resp.StatusCode, resp.Body, tc.wantStatus)
			}
			b := decodeError(t, resp)
			if b.Error != tc.wantCode {
				t.Errorf("code %q, want %q", b.Error, tc.wantCode)
			}
			for _, f := range tc.wantFields {
				if !slices.Contains(fields(b.Details), f) {
					t.Errorf("details %v lack %q", fields(b.Details), f)
				}
			}
		})
	}
	e.queueEmpty(t)
}

func TestFormErrorForBrowserIsAPage(t *testing.T) {
	e := newEnv(t)
	resp := e.do(t, browserForm(t, url.Values{"email": {"<script>@x"}, "company_size": {"lots"}}))
	if resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(resp.Headers["content-type"], "text/html") {
		t.Fatalf("status %d type %q; want a 400 HTML page", resp.StatusCode, resp.Headers["content-type"])
	}
	if !strings.Contains(resp.Body, "company_size") || strings.Contains(resp.Body, "<script>") {
		t.Errorf("page %q should name the field and escape input", resp.Body)
	}
	e.queueEmpty(t)
}

func TestFormPreflight(t *testing.T) {
	e := newEnv(t)
	resp := e.do(t, load(t, "options-form.json"))
	if resp.StatusCode != http.StatusNoContent || resp.Headers["access-control-allow-origin"] != "http://localhost:8080" ||
		!strings.Contains(resp.Headers["access-control-allow-methods"], "POST") {
		t.Fatalf("preflight: status %d headers %v", resp.StatusCode, resp.Headers)
	}
	resp = e.do(t, withHeader(load(t, "options-form.json"), "origin", "https://evil.example"))
	if resp.StatusCode != http.StatusForbidden || resp.Headers["access-control-allow-origin"] != "" {
		t.Fatalf("preflight from another site: status %d headers %v; want 403 without CORS headers", resp.StatusCode, resp.Headers)
	}
}
