package ingest

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/leadscore/leadscore/shared/leadscore"
)

// TestJSONBodiesAreReadStrictly: what encoding/json would quietly repair (a
// key given twice, invalid UTF-8, a lone surrogate escape) and NUL
// characters are a 400 naming the field, never stored as U+FFFD or "the
// last key wins" (docs/api.md "Errors"). PUT /v1/rules already refused
// duplicate keys; every JSON route now agrees.
func TestJSONBodiesAreReadStrictly(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantField string
	}{
		{"duplicate type", `{"type":"page_view","type":"demo_request","anonymous_id":"a"}`, "type"},
		{"duplicate in a batch", `{"events":[{"type":"page_view","anonymous_id":"a","lead":{"company":"A","company":"B"}}]}`, "events[0].lead.company"},
		{"invalid UTF-8", "{\"events\":[{\"type\":\"page_view\",\"anonymous_id\":\"a\",\"lead\":{\"first_name\":\"Ad\xffa\"}}]}", "events[0].lead.first_name"},
		{"lone high surrogate", `{"events":[{"type":"page_view","anonymous_id":"a","lead":{"first_name":"\ud800"}}]}`, "events[0].lead.first_name"},
		{"lone low surrogate", `{"type":"page_view","anonymous_id":"a","properties":{"url":"/x\udc00"}}`, "properties.url"},
		{"NUL", `{"type":"page_view","anonymous_id":"a\u0000b"}`, "anonymous_id"},
		{"invalid UTF-8 in a key", "{\"type\":\"page_view\",\"anonymous_id\":\"a\",\"properties\":{\"k\xfe\":1}}", "properties.k\ufffd"},
	}
	e := newEnv(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.do(t, withBody(load(t, "post-event.json"), tc.body, false))
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, body %s; want 400", resp.StatusCode, resp.Body)
			}
			b := decodeError(t, resp)
			if got := fields(b.Details); !slices.Contains(got, tc.wantField) {
				t.Errorf("details name %v, want %q (body %s)", got, tc.wantField, resp.Body)
			}
		})
	}
	// A valid surrogate pair is an ordinary character.
	resp := e.do(t, withBody(load(t, "post-event.json"), `{"type":"page_view","anonymous_id":"a","lead":{"first_name":"\ud83d\ude00"}}`, false))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("a surrogate pair: status %d, body %s; want 202", resp.StatusCode, resp.Body)
	}
	if got := e.received(t, 1)[0].msg.Event.Lead["first_name"]; got != "\U0001F600" {
		t.Errorf("first_name %q, want the emoji", got)
	}
}

// TestFormTextIsReadStrictly: a form field that is not valid UTF-8 or holds
// a NUL is a 400 naming the form's field, as for JSON.
func TestFormTextIsReadStrictly(t *testing.T) {
	tests := []struct {
		name, raw, wantField string
	}{
		{"invalid UTF-8", "email=ada%40example.com&first_name=Ad%FFa", "first_name"},
		{"NUL", "email=ada%40example.com&message=a%00b", "message"},
	}
	e := newEnv(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := withHeader(withBody(load(t, "post-form-urlencoded.json"), tc.raw, true), "accept", "application/json")
			resp := e.do(t, req)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, body %s; want 400", resp.StatusCode, resp.Body)
			}
			if got := fields(decodeError(t, resp).Details); !slices.Contains(got, tc.wantField) {
				t.Errorf("details name %v, want %q (body %s)", got, tc.wantField, resp.Body)
			}
		})
	}
	e.queueEmpty(t)
}

// TestEmailSpellingsAreOneLead: NFC/NFD local parts and Unicode/punycode
// domains are one lead, stored in the canonical form; a domain IDNA refuses
// is a 400 naming email (docs/api.md "Event").
func TestEmailSpellingsAreOneLead(t *testing.T) {
	e := newEnv(t)
	want := leadscore.LeadID("jos\u00e9@xn--bcher-kva.example")
	for _, email := range []string{"jos\u00e9@b\u00fccher.example", "Jose\u0301@XN--BCHER-KVA.example"} {
		resp := e.do(t, withBody(load(t, "post-event.json"), `{"type":"page_view","email":"`+email+`"}`, false))
		if resp.StatusCode != http.StatusAccepted || !strings.Contains(resp.Body, want) {
			t.Fatalf("%q: status %d, body %s; want 202 for lead %s", email, resp.StatusCode, resp.Body, want)
		}
		if got := e.received(t, 1)[0].msg.Event.Email; got != "jos\u00e9@xn--bcher-kva.example" {
			t.Errorf("%q stored as %q, want the canonical jos\u00e9@xn--bcher-kva.example", email, got)
		}
	}
	resp := e.do(t, withBody(load(t, "post-event.json"), `{"type":"page_view","email":"ada@a\u05d0.example"}`, false))
	if resp.StatusCode != http.StatusBadRequest || !slices.Contains(fields(decodeError(t, resp).Details), "email") {
		t.Fatalf("an invalid internationalized domain: status %d, body %s; want 400 naming email", resp.StatusCode, resp.Body)
	}
	e.queueEmpty(t)
}

// TestSourcesRoutesReadJSONStrictly: the Segment-compatible and tracker
// routes are JSON routes too: a repeated key or a lone surrogate is a 400
// naming the field, never "the last key wins".
func TestSourcesRoutesReadJSONStrictly(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, path, body, wantField string
		headers                     []string
	}{
		{"segment batch, repeated event", "/v1/batch",
			`{"batch":[{"type":"track","messageId":"m-1","userId":"u-1","event":"Signed Up","event":"Demo Requested"}]}`,
			"batch[0].event", []string{"authorization", basic(testWriteKey)}},
		{"segment track, lone surrogate", "/v1/track",
			`{"messageId":"m-2","userId":"u-1","event":"Demo Requested","properties":{"note":"\ud800"}}`,
			"properties.note", []string{"authorization", basic(testWriteKey)}},
		{"collect, repeated url", "/v1/collect",
			collectBody(testSiteKey, false, `[{"type":"page_view","properties":{"url":"/pricing","url":"/careers"}}]`),
			"events[0].properties.url", []string{"content-type", "text/plain;charset=UTF-8", "origin", "https://www.example.com", "user-agent", browserUA}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.do(t, request(t, "POST", tc.path, tc.body, tc.headers...))
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d body %s; want 400", resp.StatusCode, resp.Body)
			}
			if got := fields(decodeError(t, resp).Details); !slices.Contains(got, tc.wantField) {
				t.Errorf("details name %v, want %q (body %s)", got, tc.wantField, resp.Body)
			}
		})
	}
	e.queueEmpty(t)
}
