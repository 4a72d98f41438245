package score

import (
	"slices"
	"strings"
	"testing"

	"github.com/leadscore/leadscore/shared/leadscore"
)

func TestParseMessage(t *testing.T) {
	cases := []struct {
		name, body, wantErr string
	}{
		{"event", `{"kind":"event","event":{"event_id":"e1","type":"page_view","occurred_at":"2026-11-22T10:00:00Z","email":"a@b.co"}}`, ""},
		{"visitor event", `{"kind":"event","event":{"event_id":"e1","type":"page_view","occurred_at":"2026-11-22T10:00:00Z","anonymous_id":"c1"}}`, ""},
		{"evaluate", `{"kind":"evaluate","lead_id":"ld_1","now":"2026-11-22T10:00:00Z"}`, ""},
		{"rescore", `{"kind":"rescore","lead_id":"ld_1","rules_version":2}`, ""},
		{"not json", `{"kind":`, "not a score message"},
		{"trailing data", `{"kind":"rescore","lead_id":"ld_1","rules_version":2} {}`, "after"},
		{"unknown kind", `{"kind":"nope"}`, "not one of"},
		{"event without event", `{"kind":"event"}`, "no event"},
		{"event without id", `{"kind":"event","event":{"type":"page_view","occurred_at":"2026-11-22T10:00:00Z","email":"a@b.co"}}`, "event_id"},
		{"event without subject", `{"kind":"event","event":{"event_id":"e1","type":"page_view","occurred_at":"2026-11-22T10:00:00Z"}}`, "no email, anonymous_id or user_id"},
		{"user id event", `{"kind":"event","event":{"event_id":"e1","type":"page_view","occurred_at":"2026-11-22T10:00:00Z","user_id":"u1"}}`, ""},
		{"email not normalized", `{"kind":"event","event":{"event_id":"e1","type":"page_view","occurred_at":"2026-11-22T10:00:00Z","email":"A@b.co"}}`, "normalized"},
		{"wrong lead id", `{"kind":"event","lead_id":"ld_x","event":{"event_id":"e1","type":"page_view","occurred_at":"2026-11-22T10:00:00Z","email":"a@b.co"}}`, "not the event's subject"},
		{"evaluate without now", `{"kind":"evaluate","lead_id":"ld_1"}`, "no now"},
		{"rescore without version", `{"kind":"rescore","lead_id":"ld_1"}`, "rules_version"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := ParseMessage([]byte(c.body))
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseMessage: %v", err)
				}
				if m.Kind == leadscore.KindEvent && m.LeadID != leadscore.SubjectID(m.Event) {
					t.Fatalf("lead_id %q, want the event's subject", m.LeadID)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("ParseMessage: %v, want an error containing %q", err, c.wantErr)
			}
		})
	}
}

func FuzzParseMessage(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := ParseMessage(body)
		if err != nil {
			return
		}
		// Whatever is accepted is complete enough to process.
		switch m.Kind {
		case leadscore.KindEvent:
			if m.Event == nil || m.Event.EventID == "" || m.LeadID != leadscore.SubjectID(m.Event) {
				t.Fatalf("accepted an incomplete event message: %+v", m)
			}
		case leadscore.KindEvaluate:
			if m.LeadID == "" || m.Now.IsZero() {
				t.Fatalf("accepted an incomplete evaluate message: %+v", m)
			}
		case leadscore.KindRescore:
			if m.LeadID == "" || m.RulesVersion <= 0 {
				t.Fatalf("accepted an incomplete rescore message: %+v", m)
			}
		case leadscore.KindAccount:
			if m.AccountID == "" || m.Now.IsZero() || slices.ContainsFunc(m.Members, func(mb leadscore.Member) bool { return mb.LeadID == "" }) {
				t.Fatalf("accepted an incomplete account message: %+v", m)
			}
		default:
			t.Fatalf("accepted kind %q", m.Kind)
		}
	})
}

// TestParseAccountMessage: an account message needs its account id, its
// clock and a lead id for every member.
func TestParseAccountMessage(t *testing.T) {
	for body, wantErr := range map[string]bool{
		`{"kind":"account","account_id":"sf-1","now":"2026-11-22T10:00:00Z","members":[{"lead_id":"ld_1","account_id":"sf-1"}]}`: false,
		`{"kind":"account","account_id":"sf-1","now":"2026-11-22T10:00:00Z"}`:                                                    false,
		`{"kind":"account","now":"2026-11-22T10:00:00Z"}`:                                                                        true,
		`{"kind":"account","account_id":"sf-1"}`:                                                                                 true,
		`{"kind":"account","account_id":"sf-1","now":"2026-11-22T10:00:00Z","members":[{"engagement":1}]}`:                       true,
	} {
		if _, err := ParseMessage([]byte(body)); (err != nil) != wantErr {
			t.Errorf("ParseMessage(%s): %v, want an error: %v", body, err, wantErr)
		}
	}
}
