// Package faults wraps the real AWS SDK clients so tests can make DynamoDB
// and SQS misbehave the way they do in production: throttling, requests
// that time out after the service executed them, slow responses, and a
// Lambda dying between two of its AWS calls. It is used only by tests; the
// functions build plain SDK clients.
//
// Two levels, because production has two:
//
//   - Attempt faults are injected inside the SDK's retry loop (as a
//     Finalize middleware after "Retry"), so the SDK's own retryer sees a
//     ProvisionedThroughputExceededException / ThrottlingException or a
//     RequestTimeout exactly as it would from AWS, and retries it. A
//     "lost response" executes the request first: the retry then meets its
//     own effect (a conditional put fails, a message is sent twice).
//   - Kills act on whole calls, outside the SDK: once an invocation's kill
//     budget is spent, every further call fails with ErrKilled without
//     reaching the emulator, and the test driver abandons the invocation
//     without reporting anything, as Lambda does when a function dies.
package faults

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	smithy "github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// ErrKilled is what every call returns after an invocation's kill point.
var ErrKilled = errors.New("faults: function killed between two AWS calls")

// Config sets how often attempts misbehave. Rates are fractions of SDK
// attempts (HTTP requests), so with the SDK's 3 attempts a throttled call
// fails outright only when all three attempts are throttled.
type Config struct {
	// FailRate is the share of attempts given a fault; the fault is a
	// throttle before the request is sent, or (LostShare of them) a
	// RequestTimeout after the service executed it.
	FailRate float64
	// LostShare is the share of faults that execute the request and then
	// lose the response.
	LostShare float64
	// MaxDelay, when set, delays every faulty attempt by up to this long,
	// and 1 in 10 healthy ones.
	MaxDelay time.Duration
	// Seed makes the fault sequence reproducible for one goroutine order.
	Seed uint64
}

// Injector decides faults and counts them. Safe for concurrent use.
type Injector struct {
	cfg     Config
	mu      sync.Mutex
	rnd     *rand.Rand
	enabled atomic.Bool

	statsMu sync.Mutex
	calls   map[string]int // "label service.Operation" -> calls
	faults  map[string]int // fault kind -> count
}

// New returns an enabled Injector.
func New(cfg Config) *Injector {
	in := &Injector{cfg: cfg, rnd: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		calls: map[string]int{}, faults: map[string]int{}}
	in.enabled.Store(true)
	return in
}

// SetEnabled turns attempt faults on or off (a final drain runs clean).
func (in *Injector) SetEnabled(on bool) { in.enabled.Store(on) }

func (in *Injector) float() float64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.rnd.Float64()
}

func (in *Injector) delay() time.Duration {
	if in.cfg.MaxDelay <= 0 {
		return 0
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return time.Duration(in.rnd.Int64N(int64(in.cfg.MaxDelay)))
}

func (in *Injector) count(m map[string]int, key string) {
	in.statsMu.Lock()
	m[key]++
	in.statsMu.Unlock()
}

// Calls returns how many calls each label made of each operation, as
// "label service:Operation" (IAM's spelling of the service).
func (in *Injector) Calls() map[string]int {
	in.statsMu.Lock()
	defer in.statsMu.Unlock()
	if in.calls == nil {
		return map[string]int{}
	}
	return maps.Clone(in.calls)
}

// Faults returns how many faults of each kind were injected.
func (in *Injector) Faults() map[string]int {
	in.statsMu.Lock()
	defer in.statsMu.Unlock()
	if in.faults == nil {
		return map[string]int{}
	}
	return maps.Clone(in.faults)
}

// Summary is Faults as one sorted line, for t.Logf.
func (in *Injector) Summary() string {
	f := in.Faults()
	s := ""
	for _, k := range slices.Sorted(maps.Keys(f)) {
		s += fmt.Sprintf("%s=%d ", k, f[k])
	}
	return s
}

// Kill is one invocation's kill point: after Budget calls, every call fails.
type Kill struct {
	Budget int
	calls  atomic.Int64
	fired  atomic.Bool
}

// Fired reports whether the invocation reached its kill point.
func (k *Kill) Fired() bool { return k != nil && k.fired.Load() }

type killKey struct{}

// WithKill returns ctx under which the (budget+1)-th AWS call and every
// later one fail with ErrKilled. A negative budget never kills.
func WithKill(ctx context.Context, budget int) (context.Context, *Kill) {
	k := &Kill{Budget: budget}
	return context.WithValue(ctx, killKey{}, k), k
}

// enter counts a call and applies the invocation's kill point.
func (in *Injector) enter(ctx context.Context, label, op string) error {
	in.count(in.calls, label+" "+op)
	k, _ := ctx.Value(killKey{}).(*Kill)
	if k == nil || k.Budget < 0 {
		return nil
	}
	if n := k.calls.Add(1); n > int64(k.Budget) {
		if !k.fired.Swap(true) {
			in.count(in.faults, "kill")
		}
		return fmt.Errorf("%s: %w", op, ErrKilled)
	}
	return nil
}

// throttleError is the service's throttling error, shaped so the SDK's
// retryer classifies it as a throttle (by its error code).
type throttleFunc func(op string) error

func dynamoThrottle(op string) error {
	return &ddbtypes.ProvisionedThroughputExceededException{
		Message: ptr("faults: injected throttling of " + op)}
}

func sqsThrottle(op string) error {
	return &smithy.GenericAPIError{Code: "ThrottlingException",
		Message: "faults: injected throttling of " + op, Fault: smithy.FaultServer}
}

func lostResponse(op string) error {
	// RequestTimeout is retryable by code: the SDK sends the request again,
	// which is what a client does when a response never came back.
	return &smithy.GenericAPIError{Code: "RequestTimeout",
		Message: "faults: response of " + op + " lost after the service executed it", Fault: smithy.FaultServer}
}

func ptr(s string) *string { return &s }

// attemptMiddleware injects faults into each attempt of one call.
type attemptMiddleware struct {
	in       *Injector
	op       string
	throttle throttleFunc
}

func (m *attemptMiddleware) ID() string { return "faults.Attempt" }

func (m *attemptMiddleware) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
	middleware.FinalizeOutput, middleware.Metadata, error) {
	inj := m.in
	if !inj.enabled.Load() || inj.cfg.FailRate <= 0 {
		return next.HandleFinalize(ctx, in)
	}
	roll := inj.float()
	if roll >= inj.cfg.FailRate {
		if inj.cfg.MaxDelay > 0 && roll > 1-inj.cfg.FailRate/2 {
			if err := sleep(ctx, inj.delay()); err != nil {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, err
			}
			inj.count(inj.faults, "delay")
		}
		return next.HandleFinalize(ctx, in)
	}
	if err := sleep(ctx, inj.delay()); err != nil {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, err
	}
	if inj.float() < inj.cfg.LostShare {
		out, md, err := next.HandleFinalize(ctx, in)
		if err != nil {
			return out, md, err
		}
		inj.count(inj.faults, "lost_response")
		return middleware.FinalizeOutput{}, md, lostResponse(m.op)
	}
	inj.count(inj.faults, "throttle")
	return middleware.FinalizeOutput{}, middleware.Metadata{}, m.throttle(m.op)
}

// apiOption adds the attempt middleware to one call's stack.
func (in *Injector) apiOption(op string, throttle throttleFunc) func(*middleware.Stack) error {
	return func(st *middleware.Stack) error {
		return st.Finalize.Insert(&attemptMiddleware{in: in, op: op, throttle: throttle}, "Retry", middleware.After)
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
