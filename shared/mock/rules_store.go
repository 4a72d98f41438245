package mock

import (
	"context"
	"fmt"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// CurrentRules returns the newest published rules, or the defaults
// (leadscore.RulesStore).
func (s *Store) CurrentRules(context.Context) (*scoring.Rules, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.call("CurrentRules")
	if len(s.rules) == 0 {
		return scoring.DefaultRules(), nil
	}
	return s.rules[len(s.rules)-1], nil
}

// Rules returns one published version, or leadscore.ErrNotFound
// (leadscore.RulesStore).
func (s *Store) Rules(_ context.Context, version int) (*scoring.Rules, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.call("Rules")
	if version < 1 || version > len(s.rules) {
		return nil, fmt.Errorf("rules version %d: %w", version, leadscore.ErrNotFound)
	}
	return s.rules[version-1], nil
}

// PublishRules stores r as the next version (leadscore.RulesStore).
func (s *Store) PublishRules(_ context.Context, r *scoring.Rules) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.call("PublishRules")
	v := len(s.rules) + 1
	s.rules = append(s.rules, r.WithVersion(v))
	return v, nil
}
