package ingest

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/leadscore/leadscore/shared/httpapi"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/mock"
	"github.com/leadscore/leadscore/shared/scoring"
	"github.com/leadscore/leadscore/shared/segment"
)

func fuzzHandler(t testing.TB) *Handler {
	h, err := New(Options{Queue: &mock.ScoreQueue{}, Rules: &mock.RulesStore{}, APIKey: testKey, Forms: testForms,
		Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func fuzzLog() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }

func fuzzRequest(body []byte, contentType string, b64 bool) *events.APIGatewayV2HTTPRequest {
	req := &events.APIGatewayV2HTTPRequest{Headers: map[string]string{"content-type": contentType}, Body: string(body), IsBase64Encoded: b64}
	if b64 {
		req.Body = base64.StdEncoding.EncodeToString(body)
	}
	return req
}

// checkRejection: a rejection is a 4xx in the contract's shape.
func checkRejection(t *testing.T, e *httpapi.Error) {
	if e.Status < 400 || e.Status >= 500 {
		t.Fatalf("status %d (%s: %s), want a 4xx", e.Status, e.Code, e.Message)
	}
	if e.Code == "" || e.Message == "" {
		t.Fatalf("rejection without code or message: %+v", e)
	}
	if _, err := json.Marshal(e.Body()); err != nil {
		t.Fatalf("error body does not marshal: %v", err)
	}
}

// checkBatch: what would be enqueued is normalized and consistent.
func checkBatch(t *testing.T, b *batch) {
	if len(b.msgs) == 0 || len(b.msgs) > MaxEvents || len(b.paths) != len(b.msgs) {
		t.Fatalf("%d messages, %d paths", len(b.msgs), len(b.paths))
	}
	seen := map[[2]string]bool{} // (lead, event_id): the scope of an event_id
	for _, m := range b.msgs {
		ev := m.Event
		if k := [2]string{m.LeadID, ev.EventID}; seen[k] {
			t.Fatalf("event_id %q enqueued twice for %s", ev.EventID, m.LeadID)
		} else {
			seen[k] = true
		}
		if !leadscore.ValidID(ev.EventID) {
			t.Fatalf("event_id %q does not match the pattern", ev.EventID)
		}
		if m.LeadID != leadscore.SubjectID(ev) || m.Kind != leadscore.KindEvent {
			t.Fatalf("message %+v: lead_id is not the subject id", m)
		}
		if ev.Email == "" && ev.AnonymousID == "" && ev.UserID == "" {
			t.Fatal("an event with no email, anonymous_id or user_id was accepted")
		}
		if ev.Email != leadscore.NormalizeEmail(ev.Email) || (ev.Email != "" && !leadscore.ValidEmail(ev.Email)) {
			t.Fatalf("email %q is not normalized and valid", ev.Email)
		}
		if ev.OccurredAt.After(testNow.Add(FutureSkew)) || ev.OccurredAt.Location() != time.UTC {
			t.Fatalf("occurred_at %v is in the future or not UTC", ev.OccurredAt)
		}
		if _, err := json.Marshal(m); err != nil {
			t.Fatalf("message does not marshal: %v", err)
		}
	}
}

func FuzzDecodeEvents(f *testing.F) {
	for _, name := range []string{"post-event.json", "post-events-batch.json"} {
		req := load(f, name)
		f.Add([]byte(req.Body), "application/json", false)
	}
	f.Add([]byte(`{"type":"page_view","anonymous_id":"a","occurred_at":"2026-11-22T10:19:59.999999999+00:00"}`), "application/json; charset=utf-8", true)
	f.Add([]byte(`{"events":[{"type":"page_view","email":"A@B.CO","lead":{"company_size":"1e3"}},{"type":1}]}`), "application/vnd.api+json", false)
	f.Add([]byte(`{"type":"page_view",}`), "application/json", false)
	f.Add([]byte(`{"type":"page_view","anonymous_id":"a","lead":{"annual_revenue":1e400}}`), "application/json", false)
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, body []byte, contentType string, b64 bool) {
		b, _, e := h.prepareEvents(t.Context(), fuzzRequest(body, contentType, b64), fuzzLog())
		if e != nil {
			checkRejection(t, e)
			return
		}
		checkBatch(t, b)
	})
}

func FuzzDecodeForm(f *testing.F) {
	for _, name := range []string{"post-form-urlencoded.json", "post-form-multipart.json"} {
		req := load(f, name)
		raw, _ := base64.StdEncoding.DecodeString(req.Body)
		f.Add(raw, req.Headers["content-type"], true, "contact", "http://localhost:3000/thanks")
	}
	f.Add([]byte("email=a%40b.co&_hp=x"), "application/x-www-form-urlencoded", false, "ebook", "https://www.example.com/x")
	f.Add([]byte("email=a%40b.co&company_size=51-200&%zz=1"), "application/x-www-form-urlencoded", false, "contact", "//evil.example")
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nx@y.io\r\n--b--\r\n"), "multipart/form-data; boundary=b", true, "contact", "javascript:alert(1)")
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, body []byte, contentType string, b64 bool, formID, redirect string) {
		form, ok := testForms[formID]
		if !ok {
			form = testForms["contact"]
		}
		p, e := h.prepareForm(t.Context(), fuzzRequest(body, contentType, b64), formID, form, fuzzLog())
		if e != nil {
			checkRejection(t, e)
			return
		}
		if !p.spam {
			checkBatch(t, p.b)
			if p.b.msgs[0].Event.Type != form.Type || p.b.msgs[0].Event.Properties["form_id"] != formID {
				t.Fatalf("form event %+v lost the form's type or id", p.b.msgs[0].Event)
			}
		}
		// No open redirect: whatever the body said, a followed redirect is
		// on an allowed origin.
		for _, target := range []string{p.redirect, redirect} {
			if to, ok := safeRedirect(form, target); ok {
				u, err := url.Parse(to)
				if err != nil || !form.AllowsOrigin(u.Scheme+"://"+u.Host) || strings.ContainsAny(to, "\r\n") {
					t.Fatalf("redirect %q followed to %q, not on an allowed origin", target, to)
				}
			}
		}
	})
}

// FuzzSegmentBatch: whatever a Segment batch holds, what the route would
// enqueue is valid (every mapped message passed POST /v1/events'
// validation), and every message is either enqueued or named in a detail.
func FuzzSegmentBatch(f *testing.F) {
	f.Add([]byte(segmentJourney))
	f.Add([]byte(`{"batch":[{"type":"identify","userId":"u","traits":{"email":"A@B.CO","employees":"1e3"}},{"type":"track","userId":"u"},{"type":"group","userId":"u","groupId":"g g"}]}`))
	f.Add([]byte(`{"batch":[{"type":"page","anonymousId":"a b","timestamp":"2026-11-22T10:19:59Z","sentAt":"2020-01-01T00:00:00Z"}]}`))
	rules := scoring.DefaultRules()
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := segment.DecodeBatch(body)
		if err != nil {
			return
		}
		evs, paths, details := mapSegment(p, rules, testNow)
		if len(evs) != len(paths) || len(evs)+len(details) < len(p.Items)+len(p.Problems) {
			t.Fatalf("%d messages and %d problems gave %d events and %d details", len(p.Items), len(p.Problems), len(evs), len(details))
		}
		for _, d := range details {
			if d.Field == "" || d.Message == "" {
				t.Fatalf("unnamed detail %+v", d)
			}
		}
		if len(evs) > 0 {
			checkBatch(t, dedupe(evs, paths, rules))
		}
	})
}
