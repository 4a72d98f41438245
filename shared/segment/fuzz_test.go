package segment

import (
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// checkPayload: whatever a body holds, the decoder either refuses it as a
// whole with a named *Error, or splits it into items and problems that name
// their place; every item maps without panicking, and what maps cleanly
// fits what POST /v1/events accepts.
func checkPayload(t *testing.T, p *Payload, err error, prefix string) {
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || e.Field == "" || e.Message == "" {
			t.Fatalf("error %v is not a named *Error", err)
		}
		return
	}
	for _, pr := range p.Problems {
		if !strings.HasPrefix(pr.Field, prefix) || pr.Message == "" {
			t.Fatalf("problem %+v does not name its message", pr)
		}
	}
	m := Mapper{EventType: b2b}
	for i := range p.Items {
		ev, problems := m.Map(&p.Items[i], received)
		for _, pr := range problems {
			if !strings.HasPrefix(pr.Field, p.Items[i].Path) || pr.Message == "" {
				t.Fatalf("problem %+v does not name its message %q", pr, p.Items[i].Path)
			}
		}
		if len(problems) == 0 {
			checkEvent(t, &ev)
		}
	}
}

func checkEvent(t *testing.T, ev *scoring.Event) {
	switch {
	case ev.EventID != "" && !leadscore.ValidID(ev.EventID):
		t.Fatalf("event_id %q does not fit", ev.EventID)
	case ev.Email != leadscore.NormalizeEmail(ev.Email):
		t.Fatalf("email %q is not normalized", ev.Email)
	case ev.Email == "" && ev.UserID == "" && ev.AnonymousID == "":
		t.Fatal("an event without identity mapped cleanly")
	case ev.OccurredAt.Location() != time.UTC:
		t.Fatalf("occurred_at %v is not UTC", ev.OccurredAt)
	case ev.Type == scoring.TypeGroup && !leadscore.ValidID(ev.AccountID):
		t.Fatalf("account_id %q does not fit", ev.AccountID)
	case len(ev.Lead) > leadscore.MaxKeys || len(ev.Account) > leadscore.MaxKeys || len(ev.Properties) > leadscore.MaxKeys:
		t.Fatalf("%d lead, %d account attributes, %d properties", len(ev.Lead), len(ev.Account), len(ev.Properties))
	}
	for _, attrs := range []map[string]any{ev.Lead, ev.Account} {
		for k, v := range attrs {
			if !leadscore.ValidAttributeName(k) || reservedAttributes[k] {
				t.Fatalf("attribute name %q", k)
			}
			checkScalar(t, k, v, leadscore.MaxAttributeLen)
		}
	}
	for k, v := range ev.Properties {
		if !leadscore.ValidPropertyName(k) {
			t.Fatalf("property name %q", k)
		}
		checkScalar(t, k, v, leadscore.MaxPropertyLen)
	}
}

func checkScalar(t *testing.T, k string, v any, max int) {
	switch x := v.(type) {
	case string:
		if x == "" || len([]rune(x)) > max {
			t.Fatalf("%s = %q: empty or too long", k, x)
		}
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			t.Fatalf("%s = %v", k, x)
		}
	case bool:
	default:
		t.Fatalf("%s = %#v is not a scalar", k, v)
	}
}

func FuzzDecodeBatch(f *testing.F) {
	sample, err := os.ReadFile("testdata/batch.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := DecodeBatch(body)
		checkPayload(t, p, err, "batch[")
	})
}

func FuzzDecodeWebhook(f *testing.F) {
	f.Add([]byte(`{"type":"identify","userId":"u1","traits":{"email":"ada@example.com","company":{"name":"Acme"}}}`))
	f.Add([]byte(`[{"type":"group","groupId":"acme","userId":"u1","traits":{"website":"acme.com"}},{"type":"alias","previousId":"a","userId":"u"}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := DecodeWebhook(body)
		checkPayload(t, p, err, "")
	})
}
