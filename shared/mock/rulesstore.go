package mock

import (
	"context"
	"sync"
	"time"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// RulesStore is a leadscore.RulesStore keeping the versions in memory.
type RulesStore struct {
	// Err, when set, is returned by every method: a store that is down.
	Err error

	mu        sync.Mutex
	versions  []*scoring.Rules // versions[i] is version i+1
	published []time.Time      // when each version was published
	reads     int
}

// CurrentRules returns the newest version, or scoring.DefaultRules.
func (s *RulesStore) CurrentRules(context.Context) (*scoring.Rules, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if s.Err != nil {
		return nil, s.Err
	}
	if len(s.versions) == 0 {
		return scoring.DefaultRules(), nil
	}
	return s.versions[len(s.versions)-1], nil
}

// Rules returns one version, or leadscore.ErrNotFound.
func (s *RulesStore) Rules(_ context.Context, version int) (*scoring.Rules, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if s.Err != nil {
		return nil, s.Err
	}
	if version < 1 || version > len(s.versions) {
		return nil, leadscore.ErrNotFound
	}
	return s.versions[version-1], nil
}

// PublishRules stores r as the next version.
func (s *RulesStore) PublishRules(_ context.Context, r *scoring.Rules) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return 0, s.Err
	}
	v := len(s.versions) + 1
	s.versions = append(s.versions, r.WithVersion(v))
	s.published = append(s.published, time.Now())
	return v, nil
}

// RulesHistory lists every published version, oldest first
// (leadscore.RulesHistory).
func (s *RulesStore) RulesHistory(context.Context) ([]leadscore.PublishedRules, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return nil, s.Err
	}
	out := make([]leadscore.PublishedRules, len(s.versions))
	for i, r := range s.versions {
		out[i] = leadscore.PublishedRules{Rules: r, PublishedAt: s.published[i]}
	}
	return out, nil
}

// Reads counts the CurrentRules and Rules calls: what a cache should save.
func (s *RulesStore) Reads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}
