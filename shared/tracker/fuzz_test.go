package tracker

import (
	"errors"
	"slices"
	"testing"

	"github.com/leadscore/leadscore/shared/scoring"
)

// FuzzDecodeCollect: a public route's body never panics the decoder; what
// it refuses is a named *Error, and what it accepts holds only browser
// types, each with the body's anonymous id, an email only on identify.
func FuzzDecodeCollect(f *testing.F) {
	f.Add([]byte(`{"site":"pk_test_0123456789ab","anonymous_id":"a-1","consent":true,"events":[{"type":"page_view","event_id":"pv_1","properties":{"url":"/pricing","duration_s":42}}]}`))
	f.Add([]byte(`{"site":"k","anonymous_id":"a","events":[{"type":"identify","email":"a@b.co","lead":{"first_name":"A"}},{"type":"deal_won"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := DecodeCollect(body)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || len(e.Problems) == 0 {
				t.Fatalf("error %v is not a *tracker.Error with problems", err)
			}
			for _, p := range e.Problems {
				if p.Field == "" || p.Message == "" {
					t.Fatalf("unnamed problem %+v", p)
				}
			}
			return
		}
		if c.Site == "" || c.AnonymousID == "" || len(c.Events) == 0 || len(c.Events) > MaxCollectEvents {
			t.Fatalf("accepted %+v", c)
		}
		for _, ev := range c.Events {
			typ, _ := ev["type"].(string)
			if !slices.Contains(BrowserTypes, typ) || ev["anonymous_id"] != c.AnonymousID {
				t.Fatalf("accepted event %v", ev)
			}
			if _, hasEmail := ev["email"]; hasEmail != (typ == scoring.TypeIdentify) {
				t.Fatalf("event %v: email only and always on identify", ev)
			}
			if _, dated := ev["occurred_at"]; dated {
				t.Fatalf("a browser dated event %v", ev)
			}
		}
	})
}
