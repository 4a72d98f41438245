package leadscore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/mock"
	"github.com/leadscore/leadscore/shared/scoring"
)

func TestRulesCacheRefreshesWithinItsTTL(t *testing.T) {
	store := &mock.Store{}
	clock := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	c := &leadscore.RulesCache{Store: store, TTL: 30 * time.Second, Now: func() time.Time { return clock }}
	r, err := c.Current(t.Context())
	if err != nil || r.Version != 0 {
		t.Fatalf("current before any publish: %v %v", r, err)
	}
	v, err := store.PublishRules(t.Context(), scoring.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := c.Current(t.Context()); r.Version != 0 {
		t.Fatalf("the cache re-read the rules before its TTL: version %d", r.Version)
	}
	// Age the copy past the TTL.
	clock = clock.Add(c.TTL)
	if r, _ := c.Current(t.Context()); r.Version != v {
		t.Fatalf("after the TTL: version %d, want %d", r.Version, v)
	}
	if got := store.Reads(); got != 2 {
		t.Fatalf("%d reads of the current rules, want 2 (one per TTL)", got)
	}
}

var errRead = errors.New("injected read failure")

// flakyRules fails CurrentRules while fail is set.
type flakyRules struct {
	leadscore.RulesStore
	fail bool
}

func (f *flakyRules) CurrentRules(ctx context.Context) (*scoring.Rules, error) {
	if f.fail {
		return nil, errRead
	}
	return f.RulesStore.CurrentRules(ctx)
}

func TestRulesCacheKeepsItsCopyWhenAReadFails(t *testing.T) {
	store := &mock.Store{}
	clock := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	flaky := &flakyRules{RulesStore: store}
	c := &leadscore.RulesCache{Store: flaky, Now: func() time.Time { return clock }}
	if _, err := store.PublishRules(t.Context(), scoring.DefaultRules()); err != nil {
		t.Fatal(err)
	}
	first, err := c.Current(t.Context())
	if err != nil || first.Version != 1 {
		t.Fatalf("first read: %v %v", first, err)
	}
	flaky.fail = true
	clock = clock.Add(leadscore.DefaultRulesTTL)
	if r, err := c.Current(t.Context()); err != nil || r != first {
		t.Fatalf("a failed refresh returned %v, %v; want the copy held", r, err)
	}
	if r, err := c.Version(t.Context(), 0); err != nil || r != scoring.DefaultRules() {
		t.Fatalf("version 0 is %v, %v; want the built-in defaults", r, err)
	}
	empty := &leadscore.RulesCache{Store: &flakyRules{RulesStore: store, fail: true}}
	if _, err := empty.Current(t.Context()); !errors.Is(err, errRead) {
		t.Fatalf("a failed first read: %v, want the read's error", err)
	}
	if empty.Cached() != scoring.DefaultRules() {
		t.Fatal("Cached before any read is not the built-in defaults")
	}
}
