// Package runtimeapi runs real Lambda bootstrap binaries locally behind a
// minimal AWS Lambda Runtime API (2018-06-01): each process polls
// /runtime/invocation/next and posts its response or error, exactly as in
// Lambda, so the local stack exercises the same binary, the same
// aws-lambda-go runtime loop and the same cold start as AWS.
//
// Each process gets its own Runtime API listener, as each Lambda execution
// environment has its own; a process that exits or overruns its timeout is
// replaced by a fresh one (a new cold start), as Lambda does.
package runtimeapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Function is one Lambda function to run locally.
type Function struct {
	// Name is AWS_LAMBDA_FUNCTION_NAME and appears in the invoked ARN.
	Name string
	// Binary is the bootstrap built for the host.
	Binary string
	// Env is the function's environment (the template's variables, resolved).
	Env      map[string]string
	Timeout  time.Duration
	MemoryMB int
	// Concurrency is how many execution environments (processes) serve
	// invocations at once; 0 means 1.
	Concurrency int
	// Output receives the processes' stdout and stderr (their logs); nil
	// discards them.
	Output io.Writer
	// Region goes to AWS_REGION; "us-east-1" when empty.
	Region string
	// Observe, when set, is called after each invocation with how long it
	// ran: from an environment taking it to its result, the part Lambda
	// bills (the wait for a free environment is not).
	Observe func(time.Duration)
}

// FunctionError is a failed invocation: the handler returned an error, the
// process crashed, or it ran past its timeout.
type FunctionError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
	// Payload is the error document the runtime posted, when it posted one.
	Payload []byte `json:"-"`
}

func (e *FunctionError) Error() string {
	return fmt.Sprintf("function error %s: %s", e.Type, e.Message)
}

// Runtime serves one function's invocations.
type Runtime struct {
	fn      Function
	queue   chan *invocation
	mu      sync.Mutex
	envs    []*environment
	inits   []time.Duration
	stopped bool
	stopCh  chan struct{}
	wg      sync.WaitGroup
}

type invocation struct {
	id      string
	payload []byte
	done    chan result
	// ended is closed when the invocation has its result.
	ended chan struct{}
	once  sync.Once
}

type result struct {
	body []byte
	err  error
}

func (inv *invocation) finish(r result) {
	inv.once.Do(func() {
		inv.done <- r
		close(inv.ended)
	})
}

// Start starts fn's processes and waits until each has initialized (asked
// for its first invocation) or failed to.
func Start(ctx context.Context, fn Function) (*Runtime, error) {
	if fn.Concurrency <= 0 {
		fn.Concurrency = 1
	}
	if fn.Timeout <= 0 {
		fn.Timeout = 3 * time.Second
	}
	if fn.MemoryMB <= 0 {
		fn.MemoryMB = 128
	}
	if fn.Region == "" {
		fn.Region = "us-east-1"
	}
	if fn.Output == nil {
		fn.Output = io.Discard
	}
	if _, err := os.Stat(fn.Binary); err != nil {
		return nil, fmt.Errorf("function %s: bootstrap %s: %w", fn.Name, fn.Binary, err)
	}
	r := &Runtime{fn: fn, queue: make(chan *invocation), stopCh: make(chan struct{})}
	for i := 0; i < fn.Concurrency; i++ {
		env, err := r.spawn()
		if err != nil {
			r.Stop()
			return nil, err
		}
		select {
		case <-env.ready:
		case <-env.exited:
			r.Stop()
			return nil, fmt.Errorf("function %s: bootstrap exited during init: %s", fn.Name, env.exitReason())
		case <-ctx.Done():
			r.Stop()
			return nil, fmt.Errorf("function %s: waiting for init: %w", fn.Name, ctx.Err())
		}
	}
	return r, nil
}

// Name is the function's name.
func (r *Runtime) Name() string { return r.fn.Name }

// Invoke runs one invocation with payload and returns the handler's response.
// A handler error, crash or timeout is a *FunctionError.
func (r *Runtime) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	inv := &invocation{id: newID(), payload: payload, done: make(chan result, 1), ended: make(chan struct{})}
	select {
	case r.queue <- inv:
	case <-r.stopCh:
		return nil, fmt.Errorf("invoking %s: the runtime is stopped", r.fn.Name)
	case <-ctx.Done():
		return nil, fmt.Errorf("invoking %s: waiting for a free environment: %w", r.fn.Name, ctx.Err())
	}
	taken := time.Now()
	select {
	case res := <-inv.done:
		if r.fn.Observe != nil {
			r.fn.Observe(time.Since(taken))
		}
		return res.body, res.err
	case <-ctx.Done():
		// The environment still finishes or times out the invocation.
		return nil, fmt.Errorf("invoking %s: %w", r.fn.Name, ctx.Err())
	}
}

// InitDurations lists, for every process started so far, the time from
// process start to its first request for an invocation: Lambda's init
// phase, the cold start.
func (r *Runtime) InitDurations() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.inits...)
}

// PIDs lists the live bootstrap processes.
func (r *Runtime) PIDs() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	var pids []int
	for _, e := range r.envs {
		if e.cmd.Process != nil {
			pids = append(pids, e.cmd.Process.Pid)
		}
	}
	sort.Ints(pids)
	return pids
}

// Stop kills every process and waits for them.
func (r *Runtime) Stop() {
	r.mu.Lock()
	if !r.stopped {
		close(r.stopCh)
	}
	r.stopped = true
	envs := append([]*environment(nil), r.envs...)
	r.mu.Unlock()
	for _, e := range envs {
		e.kill()
	}
	r.wg.Wait()
}

// environment is one execution environment: a bootstrap process and its own
// Runtime API listener.
type environment struct {
	r        *Runtime
	cmd      *exec.Cmd
	srv      *http.Server
	started  time.Time
	ready    chan struct{}
	exited   chan struct{}
	readyOne sync.Once

	mu       sync.Mutex
	current  *invocation
	initErr  string
	waitErr  error
	timedOut bool
}

func (r *Runtime) spawn() (*environment, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("function %s: runtime API listener: %w", r.fn.Name, err)
	}
	e := &environment{r: r, ready: make(chan struct{}), exited: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", e.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", e.response)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", e.invocationError)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", e.initError)
	e.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = e.srv.Serve(l) }()

	fn := r.fn
	env := []string{
		"AWS_LAMBDA_RUNTIME_API=" + l.Addr().String(),
		"AWS_LAMBDA_FUNCTION_NAME=" + fn.Name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(fn.MemoryMB),
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + fn.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME=local/" + newID(),
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_EXECUTION_ENV=AWS_Lambda_provided.al2023",
		"AWS_REGION=" + fn.Region,
		"AWS_DEFAULT_REGION=" + fn.Region,
		"_HANDLER=bootstrap",
		"LAMBDA_TASK_ROOT=" + filepath.Dir(fn.Binary),
		"TZ=:UTC",
		"PATH=" + os.Getenv("PATH"),
	}
	for _, k := range slices.Sorted(maps.Keys(fn.Env)) {
		env = append(env, k+"="+fn.Env[k])
	}
	e.cmd = exec.Command(fn.Binary)
	e.cmd.Env = env
	e.cmd.Dir = filepath.Dir(fn.Binary)
	e.cmd.Stdout = fn.Output
	e.cmd.Stderr = fn.Output
	e.cmd.SysProcAttr = sysProcAttr()

	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		_ = e.srv.Close()
		return nil, fmt.Errorf("function %s: runtime stopped", fn.Name)
	}
	e.started = time.Now()
	if err := e.cmd.Start(); err != nil {
		r.mu.Unlock()
		_ = e.srv.Close()
		return nil, fmt.Errorf("function %s: starting %s: %w", fn.Name, fn.Binary, err)
	}
	r.envs = append(r.envs, e)
	r.wg.Add(1)
	r.mu.Unlock()

	go e.wait()
	return e, nil
}

// wait reaps the process, fails its in-flight invocation, and replaces the
// environment unless the runtime is stopping.
func (e *environment) wait() {
	defer e.r.wg.Done()
	err := e.cmd.Wait()
	_ = e.srv.Close()
	e.mu.Lock()
	e.waitErr = err
	cur := e.current
	e.current = nil
	timedOut := e.timedOut
	e.mu.Unlock()
	close(e.exited)
	if cur != nil {
		fe := &FunctionError{Type: "Runtime.ExitError", Message: "the runtime exited during the invocation: " + e.exitReason()}
		if timedOut {
			fe = &FunctionError{Type: "Sandbox.Timedout", Message: fmt.Sprintf("Task timed out after %.2f seconds", e.r.fn.Timeout.Seconds())}
		}
		cur.finish(result{err: fe})
	}

	r := e.r
	r.mu.Lock()
	for i, x := range r.envs {
		if x == e {
			r.envs = append(r.envs[:i], r.envs[i+1:]...)
			break
		}
	}
	stopped := r.stopped
	r.mu.Unlock()
	if !stopped {
		if _, err := r.spawn(); err != nil {
			fmt.Fprintf(r.fn.Output, "runtimeapi: %s: replacing a dead environment: %v\n", r.fn.Name, err)
		}
	}
}

func (e *environment) exitReason() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.initErr != "" {
		return "init error: " + e.initErr
	}
	if e.waitErr != nil {
		return e.waitErr.Error()
	}
	return "exited"
}

func (e *environment) kill() {
	if e.cmd.Process == nil {
		return
	}
	pgid := e.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-e.exited:
	case <-time.After(2 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-e.exited
	}
}

func (e *environment) next(w http.ResponseWriter, req *http.Request) {
	e.readyOne.Do(func() {
		e.r.mu.Lock()
		e.r.inits = append(e.r.inits, time.Since(e.started))
		e.r.mu.Unlock()
		close(e.ready)
	})
	var inv *invocation
	select {
	case inv = <-e.r.queue:
	case <-req.Context().Done():
		return
	case <-e.exited:
		return
	}
	e.mu.Lock()
	e.current = inv
	e.mu.Unlock()
	deadline := time.Now().Add(e.r.fn.Timeout)
	go e.watch(inv, deadline)

	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(deadline.UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:"+e.r.fn.Region+":123456789012:function:"+e.r.fn.Name)
	h.Set("Lambda-Runtime-Trace-Id", "Root=1-"+strconv.FormatInt(time.Now().Unix(), 16)+"-"+newID()[:24]+";Sampled=0")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(inv.payload)
}

// watch kills the process when the invocation overruns the function's
// timeout, as Lambda does; wait then fails the invocation and replaces it.
func (e *environment) watch(inv *invocation, deadline time.Time) {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-t.C:
	case <-inv.ended:
		return
	case <-e.exited:
		return
	}
	e.mu.Lock()
	overrun := e.current == inv
	if overrun {
		e.timedOut = true
	}
	e.mu.Unlock()
	if overrun {
		_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// take returns the in-flight invocation id names, clearing it.
func (e *environment) take(id string) *invocation {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.current == nil || e.current.id != id {
		return nil
	}
	inv := e.current
	e.current = nil
	return inv
}

// maxPayload is Lambda's synchronous response limit.
const maxPayload = 6 << 20

func (e *environment) response(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, maxPayload+1))
	inv := e.take(req.PathValue("id"))
	if inv == nil {
		writeError(w, http.StatusBadRequest, "InvalidRequestID", "no invocation in flight with id "+req.PathValue("id"))
		return
	}
	switch {
	case err != nil:
		inv.finish(result{err: &FunctionError{Type: "Runtime.ResponseError", Message: err.Error()}})
	case len(body) > maxPayload:
		inv.finish(result{err: &FunctionError{Type: "Function.ResponseSizeTooLarge", Message: "response payload exceeds 6 MB"}})
		writeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "response payload exceeds 6 MB")
		return
	default:
		inv.finish(result{body: body})
	}
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte(`{"status":"OK"}`))
}

func (e *environment) invocationError(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, maxPayload))
	inv := e.take(req.PathValue("id"))
	if inv == nil {
		writeError(w, http.StatusBadRequest, "InvalidRequestID", "no invocation in flight with id "+req.PathValue("id"))
		return
	}
	inv.finish(result{err: parseError(body, req.Header.Get("Lambda-Runtime-Function-Error-Type"))})
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte(`{"status":"OK"}`))
}

func (e *environment) initError(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, maxPayload))
	fe := parseError(body, req.Header.Get("Lambda-Runtime-Function-Error-Type"))
	e.mu.Lock()
	e.initErr = fe.Type + ": " + fe.Message
	e.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte(`{"status":"OK"}`))
}

func parseError(body []byte, headerType string) *FunctionError {
	fe := &FunctionError{Payload: body}
	if err := json.Unmarshal(body, fe); err != nil || (fe.Type == "" && fe.Message == "") {
		fe.Message = strings.TrimSpace(string(body))
	}
	if fe.Type == "" {
		fe.Type = headerType
	}
	if fe.Type == "" {
		fe.Type = "Unhandled"
	}
	return fe
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"errorType": typ, "errorMessage": msg})
	_, _ = w.Write(b)
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	s := hex.EncodeToString(b[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}
