package score

import (
	"context"
	"sync"
	"time"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// rulesCache holds the current rules for a short TTL, so the rules item is
// read by key once per TTL per container, never per event; versions are
// immutable and cached for good.
type rulesCache struct {
	store leadscore.RulesStore
	ttl   time.Duration

	mu        sync.Mutex
	current   *scoring.Rules
	fetched   time.Time
	byVersion map[int]*scoring.Rules
}

func (c *rulesCache) Current(ctx context.Context) (*scoring.Rules, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Wall clock, not the handler's business clock: the TTL is about
	// freshness of this process's copy.
	if c.current != nil && time.Since(c.fetched) < c.ttl {
		return c.current, nil
	}
	r, err := c.store.CurrentRules(ctx)
	if err != nil {
		if c.current != nil {
			// A stale copy beats failing the batch; retry next call.
			return c.current, nil
		}
		return nil, err
	}
	c.current, c.fetched = r, time.Now()
	return r, nil
}

func (c *rulesCache) Version(ctx context.Context, v int) (*scoring.Rules, error) {
	if v == 0 {
		// Version 0 is the built-in defaults, in force until a publish.
		return scoring.DefaultRules(), nil
	}
	c.mu.Lock()
	if r, ok := c.byVersion[v]; ok {
		c.mu.Unlock()
		return r, nil
	}
	if c.current != nil && c.current.Version == v {
		c.mu.Unlock()
		return c.current, nil
	}
	c.mu.Unlock()
	r, err := c.store.Rules(ctx, v)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.byVersion == nil {
		c.byVersion = map[int]*scoring.Rules{}
	}
	c.byVersion[v] = r
	c.mu.Unlock()
	return r, nil
}
