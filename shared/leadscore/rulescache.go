package leadscore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/leadscore/leadscore/shared/scoring"
)

// DefaultRulesTTL is how long a RulesCache trusts its copy of the current
// rules: a publish reaches every container within it.
const DefaultRulesTTL = 30 * time.Second

// RulesCache holds the current rules for a short TTL, so the rules item is
// read by key once per TTL per container, never per event or per lead, and
// keeps every version it read for good (versions are immutable). It is the
// one rules cache of every function. Store is required for Current,
// Versions for Version and View; the zero TTL is DefaultRulesTTL and a nil
// Now is time.Now. Safe for concurrent use.
type RulesCache struct {
	Store    CurrentRulesReader
	Versions RulesVersionReader
	TTL      time.Duration
	// Now is the clock the TTL is measured with.
	Now func() time.Time

	mu        sync.Mutex
	current   *scoring.Rules
	fetched   time.Time
	lastErr   error
	byVersion map[int]*scoring.Rules
}

// NewRulesCache returns a cache of store's current rules and versions, with
// the default TTL and the wall clock.
func NewRulesCache(store RulesStore) *RulesCache { return &RulesCache{Store: store, Versions: store} }

func (c *RulesCache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *RulesCache) ttl() time.Duration {
	if c.TTL > 0 {
		return c.TTL
	}
	return DefaultRulesTTL
}

// Current returns the current rules, reading the store when the copy is
// older than the TTL. A failed read is not tried again before the TTL: the
// copy held is returned meanwhile (a stale copy beats failing the caller),
// or the read's error when there is none.
func (c *RulesCache) Current(ctx context.Context) (*scoring.Rules, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.fetched.IsZero() && c.now().Sub(c.fetched) < c.ttl() {
		if c.current != nil {
			return c.current, nil
		}
		return nil, c.lastErr
	}
	r, err := c.Store.CurrentRules(ctx)
	c.fetched = c.now()
	if err != nil {
		c.lastErr = err
		if c.current != nil {
			return c.current, nil
		}
		return nil, err
	}
	c.current, c.lastErr = r, nil
	return r, nil
}

// Cached returns the copy held, without reading the store: the built-in
// defaults before the first successful read.
func (c *RulesCache) Cached() *scoring.Rules {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.current == nil {
		return scoring.DefaultRules()
	}
	return c.current
}

// Forget makes the next Current read the store (after a publish by this
// container).
func (c *RulesCache) Forget() {
	c.mu.Lock()
	c.fetched = time.Time{}
	c.mu.Unlock()
}

// Version returns rules version v: version 0 is the built-in defaults, in
// force until the first publish; others are read once and kept.
func (c *RulesCache) Version(ctx context.Context, v int) (*scoring.Rules, error) {
	if v == 0 {
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
	if c.Versions == nil {
		return nil, fmt.Errorf("rules version %d: no rules store to read it from", v)
	}
	r, err := c.Versions.Rules(ctx, v)
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

// View is l's API view, computed with the rules version l was last
// evaluated with, read through the cache.
func (c *RulesCache) View(ctx context.Context, l *Lead) (LeadView, error) {
	rules, err := c.Version(ctx, l.RulesVersion)
	if err != nil {
		return LeadView{}, fmt.Errorf("view of lead %s: %w", l.ID, err)
	}
	return View(l, rules), nil
}
