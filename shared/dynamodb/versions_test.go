package dynamodb

import (
	"testing"
	"time"

	"github.com/leadscore/leadscore/shared/scoring"
)

// TestRulesHistoryListsEveryVersionInOrder: each publish adds one entry, in
// version order, with its document and a publish time.
func TestRulesHistoryListsEveryVersionInOrder(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	before, err := s.RulesHistory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Second)
	var published []int
	for range 3 {
		v, err := s.PublishRules(ctx, scoring.DefaultRules())
		if err != nil {
			t.Fatal(err)
		}
		published = append(published, v)
	}
	after, err := s.RulesHistory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before)+3 {
		t.Fatalf("%d versions after 3 publishes, %d before", len(after), len(before))
	}
	for i, p := range after {
		if i > 0 && p.Rules.Version <= after[i-1].Rules.Version {
			t.Fatalf("version %d listed after %d", p.Rules.Version, after[i-1].Rules.Version)
		}
	}
	for i, v := range published {
		p := after[len(before)+i]
		if p.Rules.Version != v || p.PublishedAt.Before(start.Truncate(time.Second)) || len(p.Rules.Document()) == 0 {
			t.Errorf("entry %d: version %d published %v, want version %d published after %v", i, p.Rules.Version, p.PublishedAt, v, start)
		}
	}
}
