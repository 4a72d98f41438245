package dynamodb

import (
	"context"
	"maps"
	"sync"
)

// CapacityMeter adds up the DynamoDB capacity units an invocation consumed,
// per operation, so a function can emit them as metrics and tests can count
// lead writes. Every Store call adds what it consumed to the meter of its
// context. Safe for concurrent use.
type CapacityMeter struct {
	// Parent, when set, receives every Add too (an invocation's meter inside
	// a test's).
	Parent *CapacityMeter

	mu  sync.Mutex
	ops map[string]OpUsage
}

// OpUsage is one operation's calls and consumed capacity units.
type OpUsage struct {
	Calls int
	Units float64
}

// Add records one call of op that consumed units.
func (m *CapacityMeter) Add(op string, units float64) {
	if m == nil {
		return
	}
	m.Parent.Add(op, units)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ops == nil {
		m.ops = map[string]OpUsage{}
	}
	u := m.ops[op]
	u.Calls++
	u.Units += units
	m.ops[op] = u
}

// Usage returns a copy of the per-operation totals.
func (m *CapacityMeter) Usage() map[string]OpUsage {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ops == nil {
		return map[string]OpUsage{}
	}
	return maps.Clone(m.ops)
}

// Total is the sum of consumed units over every operation.
func (m *CapacityMeter) Total() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := 0.0
	for _, v := range m.ops {
		t += v.Units
	}
	return t
}

type meterKey struct{}

// WithMeter returns ctx carrying m: stores add what each call consumed to it.
func WithMeter(ctx context.Context, m *CapacityMeter) context.Context {
	return context.WithValue(ctx, meterKey{}, m)
}

// MeterFrom returns the meter of ctx, or nil (whose Add does nothing).
func MeterFrom(ctx context.Context) *CapacityMeter {
	m, _ := ctx.Value(meterKey{}).(*CapacityMeter)
	return m
}

// MeterInvocation starts the accounting of one invocation: it returns ctx
// carrying a fresh meter (whose Parent is ctx's meter, if any) and a
// function giving the units consumed so far. A handler's Options.Usage
// takes it.
func MeterInvocation(ctx context.Context) (context.Context, func() float64) {
	m := &CapacityMeter{Parent: MeterFrom(ctx)}
	return WithMeter(ctx, m), m.Total
}
