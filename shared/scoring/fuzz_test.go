package scoring

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// FuzzParseRules: any input is either a *RulesError with at least one
// problem, or rules whose canonical document parses back to itself and which
// can score events without panicking.
func FuzzParseRules(f *testing.F) {
	f.Add(defaultRulesYAML)
	f.Add([]byte(minimalDoc))
	f.Add([]byte(sprintf(propertyRules, "expire_after_days: 10")))
	f.Add(DefaultRules().Document())
	f.Fuzz(func(t *testing.T, doc []byte) {
		r, err := ParseRules(doc)
		if err != nil {
			var re *RulesError
			if !errors.As(err, &re) || len(re.Problems) == 0 {
				t.Fatalf("error %v is not a *RulesError with problems", err)
			}
			return
		}
		canon := r.Document()
		again, err := ParseRules(canon)
		if err != nil {
			t.Fatalf("canonical document does not parse: %v\n%s", err, canon)
		}
		if !bytes.Equal(again.Document(), canon) {
			t.Fatalf("canonical document is not stable:\n%s\n%s", canon, again.Document())
		}
		s := NewState()
		s.Apply(typicalEvents(20, 10, 1), r)
		s.Evaluate(r, benchNow)
		r.ClosestEventType("page_veiw")
		r.SegmentEventType("Demo Requested")
		m := s.AccountMember("ld_1", r, benchNow)
		m.AccountID = "acct"
		EvaluateAccount(r, nil, []AccountMember{m}, benchNow)
	})
}

// FuzzUnmarshalState: garbage is rejected with an error, never a panic; what
// decodes re-encodes to a stable form and can be applied and evaluated.
func FuzzUnmarshalState(f *testing.F) {
	r := DefaultRules()
	s := NewState()
	f.Add(mustMarshal(s))
	s.Apply(typicalEvents(50, 20, 1), r)
	s.Evaluate(r, benchNow)
	f.Add(mustMarshal(s))
	s.Apply([]Event{{EventID: "sa", Type: "sales_accepted", OccurredAt: benchNow, Email: "ada@acme.io"},
		{EventID: "dw", Type: "deal_won", OccurredAt: benchNow.Add(time.Hour)}}, r)
	s.Evaluate(r, benchNow.Add(2*time.Hour))
	f.Add(mustMarshal(s))
	s.Apply([]Event{{EventID: "ac", Type: "page_view", OccurredAt: benchNow, AccountID: "sf-1",
		Account: map[string]any{"name": "Acme", "company_size": 250.0}, Lead: map[string]any{"industry": "software"}}}, r)
	f.Add(mustMarshal(s))
	f.Add([]byte("LS\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := NewState()
		if err := s.UnmarshalBinary(b); err != nil {
			return
		}
		b1 := mustMarshal(s)
		n := NewState()
		if err := n.UnmarshalBinary(b1); err != nil {
			t.Fatalf("re-encoded state does not decode: %v", err)
		}
		if b2 := mustMarshal(n); !bytes.Equal(b1, b2) {
			t.Fatalf("encoding not stable")
		}
		n.Apply(typicalEvents(5, 3, 2), r)
		n.Evaluate(r, benchNow)
		n.Evaluate(r, benchNow.AddDate(1, 0, 0))
	})
}

func mustMarshal(s *State) []byte {
	b, err := s.MarshalBinary()
	if err != nil {
		panic(err)
	}
	return b
}
