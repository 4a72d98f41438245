package ingest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadscore/leadscore/shared/httpapi"
	"github.com/leadscore/leadscore/shared/leadscore"
)

func TestPostSingleEvent(t *testing.T) {
	e := newEnv(t)
	resp := e.do(t, load(t, "post-event.json"))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d, body %s; want 202", resp.StatusCode, resp.Body)
	}
	var body AcceptedBody
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatal(err)
	}
	wantLead := leadscore.LeadID("ada@example.com")
	if len(body.Accepted) != 1 || body.Accepted[0].EventID != "ev-2026-11-22-0001" || body.Accepted[0].LeadID != wantLead || body.Duplicates != 0 {
		t.Fatalf("body %s, want the event accepted for %s", resp.Body, wantLead)
	}
	q := e.received(t, 1)[0]
	ev := q.msg.Event
	switch {
	case q.leadID != wantLead || q.msg.LeadID != wantLead:
		t.Errorf("queued lead_id attribute %q, body %q; want %q", q.leadID, q.msg.LeadID, wantLead)
	case q.msg.Kind != leadscore.KindEvent:
		t.Errorf("kind %q, want event", q.msg.Kind)
	case ev.Email != "ada@example.com":
		t.Errorf("email %q, want it trimmed and lower-cased", ev.Email)
	case !ev.OccurredAt.Equal(time.Date(2026, 11, 22, 10, 14, 0, 0, time.UTC)) || ev.OccurredAt.Location() != time.UTC:
		t.Errorf("occurred_at %v, want 2026-11-22T10:14:00Z in UTC", ev.OccurredAt)
	case ev.Lead["company_size"] != 250.0 || ev.Lead["job_title"] != "VP Engineering":
		t.Errorf("lead %v lost attributes", ev.Lead)
	case ev.Properties["url"] != "/pricing" || ev.AnonymousID != "anon-7f3c2a" || ev.Type != "page_view":
		t.Errorf("event %+v lost fields", ev)
	}
	if !strings.Contains(e.metrics.String(), `"EventsAccepted":1`) {
		t.Errorf("metrics %s lack EventsAccepted 1", e.metrics.String())
	}
	if !strings.Contains(e.logs.String(), wantLead) {
		t.Errorf("the request log line lacks lead_id %s: %s", wantLead, e.logs.String())
	}
}

func TestPostEventDefaults(t *testing.T) {
	e := newEnv(t)
	resp := e.do(t, withBody(load(t, "post-event.json"), `{"type":"page_view","anonymous_id":"anon-1"}`, false))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d, body %s", resp.StatusCode, resp.Body)
	}
	q := e.received(t, 1)[0]
	if !leadscore.ValidID(q.msg.Event.EventID) || !strings.HasPrefix(q.msg.Event.EventID, "ev_") {
		t.Errorf("generated event_id %q", q.msg.Event.EventID)
	}
	if !q.msg.Event.OccurredAt.Equal(testNow) {
		t.Errorf("occurred_at %v, want the request time %v", q.msg.Event.OccurredAt, testNow)
	}
	if q.leadID != leadscore.VisitorID("anon-1") {
		t.Errorf("lead_id %q, want the visitor id", q.leadID)
	}
}

func TestPostBatchCountsDuplicatesOnce(t *testing.T) {
	e := newEnv(t)
	resp := e.do(t, load(t, "post-events-batch.json"))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d, body %s", resp.StatusCode, resp.Body)
	}
	var body AcceptedBody
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatal(err)
	}
	if body.Duplicates != 1 || len(body.Accepted) != 2 || body.Accepted[0].EventID != "ev-b-1" || body.Accepted[1].EventID != "ev-b-2" {
		t.Fatalf("body %s, want ev-b-1 and ev-b-2 accepted and 1 duplicate", resp.Body)
	}
	got := e.received(t, 2)
	ids := []string{got[0].msg.Event.EventID, got[1].msg.Event.EventID}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"ev-b-1", "ev-b-2"}) {
		t.Errorf("queued %v, want each event once", ids)
	}
}

func TestPostHundredEvents(t *testing.T) {
	e := newEnv(t)
	var evs []string
	for i := range 100 {
		evs = append(evs, `{"event_id":"ev-`+strconv.Itoa(i)+`","type":"page_view","email":"u`+strconv.Itoa(i%7)+`@example.com","properties":{"url":"/p/`+strconv.Itoa(i)+`"}}`)
	}
	resp := e.do(t, withBody(load(t, "post-event.json"), `{"events":[`+strings.Join(evs, ",")+`]}`, false))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d, body %s", resp.StatusCode, resp.Body)
	}
	got := e.received(t, 100)
	for _, q := range got {
		if q.leadID != leadscore.LeadID(q.msg.Event.Email) {
			t.Fatalf("event %s queued with lead_id %s, want the id of its email", q.msg.Event.EventID, q.leadID)
		}
	}
}

// TestPostEventRejections covers every validation rule: status, code, each
// problem's field path, and that nothing reached the queue.
func TestPostEventRejections(t *testing.T) {
	big := strings.Repeat("x", 300)
	tests := []struct {
		name        string
		body        string
		b64         bool
		contentType string
		apiKey      string
		wantStatus  int
		wantCode    string
		wantFields  []string
		wantText    string // in the message or a detail
	}{
		{name: "no email and no anonymous_id", body: `{"type":"page_view"}`,
			wantStatus: 400, wantCode: httpapi.CodeInvalidRequest, wantFields: []string{"email"}, wantText: "or a user_id is required"},
		{name: "malformed email", body: `{"type":"page_view","email":"ada@"}`,
			wantStatus: 400, wantCode: httpapi.CodeInvalidRequest, wantFields: []string{"email"}, wantText: "not a valid email"},
		{name: "unknown type names the closest", body: `{"type":"page_veiw","anonymous_id":"a"}`,
			wantStatus: 400, wantCode: httpapi.CodeInvalidRequest, wantFields: []string{"type"}, wantText: `did you mean "page_view"`},
		{name: "missing type", body: `{"anonymous_id":"a"}`,
			wantStatus: 400, wantCode: httpapi.CodeInvalidRequest, wantFields: []string{"type"}, wantText: "required"},
		{name: "occurred_at not RFC 3339", body: `{"type":"page_view","anonymous_id":"a","occurred_at":"22/11/2026"}`,
			wantStatus: 400, wantCode: httpapi.CodeInvalidRequest, wantFields: []string{"occurred_at"}, wantText: "RFC 3339"},
		{name: "occurred_at 6 minutes ahead", body: `{"type":"page_view","anonymous_id":"a","occurred_at":"2026-11-22T10:21:00Z"}`,
			wantStatus: 400, wantCode: httpapi.CodeInvalidRequest, wantFields: []string{"occurred_at"}, wantText: "in the future"},
		{name: "event_id with a space", body: `{"type":"page_view","anonymous_id":"a","event_id":"ev 1"}`,
			wantStatus: 400, wantCode: httpapi.CodeInvalidRequest, wantFields: []string{"event_id"}, wantText: "[A-Za-z0-9_.:-]"},
		{name: "event_id too long", body: `{"type":"page_view","anonymous_id":"a","event_id":"` + strings.Repeat("a", 129) + `"}`,
			wantStatus: 400, wantCode: httpapi.CodeInvalidRequest, wantFields: []string{"event_id"}},
		{name: "oversized strings", body: `{"type":"page_view","anonymous_id":"a","lead":{"company":"` + big + `"},"properties":{"url":"` + strings.Repeat(big, 7) + `"}}`,
			wantStatus: 400, wantCode: httpapi.CodeInvalidRequest, wantFields: []string{"lead.company", "properties.url"}, wantText: "longer than"},
		{name: "non-numeric company_size and annual_revenue", body: `{"type":"page_view","anonymous_id":"a","lead":{"company_size":"lots","annual_revenue":true}}`,
			wantStatus: 400, wantCode: httpapi.CodeInvalidRequest, wantFields: []string{"lead.annual_revenue", "lead.company_size"}, wantText: "must be a number"},
		{name: "misspelt field", body: `{"type":"page_view","anonymous_id":"a","occured_at":"2026-11-22T10:00:00Z"}`,
			wantStatus: 400, wantCode: httpapi.CodeInvalidRequest, wantFields: []string{"occured_at"}, wantText: `did you mean "occurred_at"`},
		{name: "nested property", body: `{"type":"page_view","anonymous_id":"a","properties":{"utm":{"source":"x"}}}`,
			wantStatus: 400, wantCode: httpapi.CodeInvalidRequest, wantFields: []string{"properties.utm"}},
		{name: "funnel stage outside top, middle, bottom", body: `{"type":"content_download","anonymous_id":"a","properties":{"funnel_stage":"bofu"}}`,
			wantStatus: 400, wantCode: httpapi.CodeInvalidRequest, wantFields: []string{"properties.funnel_stage"}},
		// Accounts (docs/scoring.md section 7): a bounded id, a flat and small object.
		{name: "account_id outside the pattern", body: `{"events":[{"type":"page_view","email":"a@b.co","account_id":"acme corp/1"}]}`,
			wantStatus: 400, wantCode: httpapi.CodeInvalidRequest, wantFields: []string{"events[0].account_id"}, wantText: "[A-Za-z0-9_.:-]{1,128}"},
		{name: "account_id too long", body: `{"type":"page_view","email":"a@b.co","account_id":"` + strings.Repeat("a", 129) + `"}`,
			wantStatus: 400, wantCode: httpapi.CodeInvalidRequest, wantFields: []string{"account_id"}},
		{name: "account with 1,000 keys", body: `{"type":"page_view","email":"a@b.co","account":{` + thousandKeys() + `}}`,
			wantStatus: 400, wantCode: httpapi.CodeInvalidRequest, wantFields: []string{"account"}, wantText: "at most 50"},
		{name: "nested account object", body: `{"events":[{"type":"page_view","email":"a@b.co","account":{"foo":{"bar":1},"tags":["x"]}}]}`,
			wantStatus: 400, wantCode: httpapi.CodeInvalidRequest, wantFields: []string{"events[0].account.foo", "events[0].account.tags"}},
		{name: "account that is not an object", body: `{"type":"page_view","email":"a@b.co","account":"Acme"}`,
			wantStatus: 400, wantCode: httpapi.CodeInvalidRequest, wantFields: []string{"account"}},
		{name: "every problem of a batch at once", body: `{"events":[{"type":"page_view","anonymous_id":"a"},{"type":"page_view"},{"type":"nope","email":"x"},{"type":"page_view","email":"a@b.co","occurred_at":"soon"}]}`,
			wantStatus: 400, wantCode: httpapi.CodeInvalidRequest, wantFields: []string{"events[1].email", "events[2].type", "events[2].email", "events[3].occurred_at"}},
		{name: "101 events", body: `{"events":[` + strings.TrimSuffix(strings.Repeat(`{"type":"page_view","anonymous_id":"a"},`, 101), ",") + `]}`,
			wantStatus: 400, wantCode: httpapi.CodeInvalidRequest, wantFields: []string{"events"}, wantText: "at most 100"},
		{name: "empty batch", body: `{"events":[]}`, wantStatus: 400, wantCode: httpapi.CodeInvalidRequest, wantFields: []string{"events"}},
		{name: "array body", body: `[{"type":"page_view"}]`, wantStatus: 400, wantCode: httpapi.CodeInvalidRequest, wantFields: []string{"(body)"}},
		{name: "bad JSON names the offset", body: `{"type":"page_view",}`,
			wantStatus: 400, wantCode: httpapi.CodeInvalidJSON, wantFields: []string{"(body)"}, wantText: "offset 20"},
		{name: "trailing garbage", body: `{"type":"page_view","anonymous_id":"a"} x`,
			wantStatus: 400, wantCode: httpapi.CodeInvalidJSON, wantText: "offset"},
		{name: "empty body", body: ``, wantStatus: 400, wantCode: httpapi.CodeInvalidJSON},
		{name: "body over 256 KiB", body: `{"type":"page_view","anonymous_id":"` + strings.Repeat("a", 256*1024) + `"}`,
			wantStatus: 413, wantCode: httpapi.CodePayloadTooLarge},
		{name: "base64 body over 256 KiB decoded", b64: true, body: `{"type":"page_view","anonymous_id":"` + strings.Repeat("a", 256*1024) + `"}`,
			wantStatus: 413, wantCode: httpapi.CodePayloadTooLarge},
		{name: "wrong content type", body: `{"type":"page_view","anonymous_id":"a"}`, contentType: "text/plain",
			wantStatus: 415, wantCode: httpapi.CodeUnsupportedMedia, wantFields: []string{"content-type"}},
		{name: "form content type", body: `type=page_view`, contentType: "application/x-www-form-urlencoded",
			wantStatus: 415, wantCode: httpapi.CodeUnsupportedMedia},
		{name: "no API key", body: `{"type":"page_view","anonymous_id":"a"}`, apiKey: "-",
			wantStatus: 401, wantCode: httpapi.CodeUnauthorized},
		{name: "wrong API key", body: `{"type":"page_view","anonymous_id":"a"}`, apiKey: "test-kez",
			wantStatus: 401, wantCode: httpapi.CodeUnauthorized},
	}
	e := newEnv(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := withBody(load(t, "post-event.json"), tc.body, tc.b64)
			if tc.contentType != "" {
				req = withHeader(req, "content-type", tc.contentType)
			}
			switch tc.apiKey {
			case "":
			case "-":
				req = withHeader(req, "x-api-key", "")
			default:
				req = withHeader(req, "x-api-key", tc.apiKey)
			}
			resp := e.do(t, req)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, body %s; want %d", resp.StatusCode, resp.Body, tc.wantStatus)
			}
			b := decodeError(t, resp)
			if b.Error != tc.wantCode {
				t.Errorf("error code %q, want %q", b.Error, tc.wantCode)
			}
			got := fields(b.Details)
			for _, f := range tc.wantFields {
				if !slices.Contains(got, f) {
					t.Errorf("details name %v, want %q among them (body %s)", got, f, resp.Body)
				}
			}
			if tc.wantText != "" && !strings.Contains(b.Text(), tc.wantText) {
				t.Errorf("body %s does not say %q", resp.Body, tc.wantText)
			}
			if ct := resp.Headers["content-type"]; !strings.HasPrefix(ct, "application/json") {
				t.Errorf("content-type %q", ct)
			}
		})
	}
	e.queueEmpty(t)
}

func TestJSONErrorOffsets(t *testing.T) {
	tests := []struct {
		body string
		want string
	}{
		{`{"type":"page_view",}`, "offset 20"},                     // the '}'
		{`{"type" "page_view"}`, "offset 8"},                       // the second string
		{`{"type":"page_view"`, "offset 19"},                       // end of input
		{`{"type":"page_view","anonymous_id":"a"} x`, "offset 40"}, // the 'x'
	}
	for _, tc := range tests {
		_, e := decodeJSON([]byte(tc.body))
		if e == nil || e.Status != http.StatusBadRequest || !strings.Contains(e.Message, tc.want) {
			t.Errorf("decodeJSON(%s) = %+v, want a 400 naming %s", tc.body, e, tc.want)
		}
	}
}

// thousandKeys is the inside of a JSON object with 1,000 keys.
func thousandKeys() string {
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprintf(`"k%d":%d`, i, i)
	}
	return strings.Join(keys, ",")
}
