package runtimeapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/leadscore/leadscore/infra/runtimeapi"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "runtimeapi-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", binary, "./testdata/testfn")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building testdata/testfn: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

type reply struct {
	Echo      string `json:"echo"`
	Env       string `json:"env"`
	PID       int    `json:"pid"`
	RequestID string `json:"request_id"`
	Deadline  bool   `json:"has_deadline"`
}

func start(t *testing.T, fn runtimeapi.Function) *runtimeapi.Runtime {
	t.Helper()
	fn.Binary = binary
	if fn.Name == "" {
		fn.Name = "testfn"
	}
	if fn.Timeout == 0 {
		fn.Timeout = 30 * time.Second
	}
	rt, err := runtimeapi.Start(t.Context(), fn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Stop)
	return rt
}

func invoke(t *testing.T, rt *runtimeapi.Runtime, payload string) (reply, error) {
	t.Helper()
	out, err := rt.Invoke(t.Context(), []byte(payload))
	if err != nil {
		return reply{}, err
	}
	var r reply
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("response %q: %v", out, err)
	}
	return r, nil
}

func TestInvoke(t *testing.T) {
	rt := start(t, runtimeapi.Function{Env: map[string]string{"GREETING": "hello"}})
	tests := []struct {
		name, payload string
		check         func(reply) error
	}{
		{"echo", `{"echo":"ping"}`, func(r reply) error {
			if r.Echo != "ping" {
				return fmt.Errorf("echo = %q, want ping", r.Echo)
			}
			return nil
		}},
		{"request id and deadline reach the handler", `{}`, func(r reply) error {
			if r.RequestID == "" || !r.Deadline {
				return fmt.Errorf("request id %q, deadline %v; want both", r.RequestID, r.Deadline)
			}
			return nil
		}},
		{"function env", `{"env":"GREETING"}`, func(r reply) error {
			if r.Env != "hello" {
				return fmt.Errorf("GREETING = %q, want hello", r.Env)
			}
			return nil
		}},
		{"lambda env", `{"env":"AWS_LAMBDA_FUNCTION_NAME"}`, func(r reply) error {
			if r.Env != "testfn" {
				return fmt.Errorf("AWS_LAMBDA_FUNCTION_NAME = %q, want testfn", r.Env)
			}
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := invoke(t, rt, tt.payload)
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.check(r); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestFailures(t *testing.T) {
	rt := start(t, runtimeapi.Function{Timeout: time.Second})
	first, err := invoke(t, rt, `{}`)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, payload, wantType string
	}{
		{"handler error", `{"fail":"boom"}`, "errorString"},
		{"crash", `{"exit":true}`, "Runtime.ExitError"},
		{"timeout", `{"sleep_ms":60000}`, "Sandbox.Timedout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := invoke(t, rt, tt.payload)
			var fe *runtimeapi.FunctionError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *FunctionError", err)
			}
			if fe.Type != tt.wantType {
				t.Errorf("error type %q (%s), want %q", fe.Type, fe.Message, tt.wantType)
			}
			// The environment is replaced (crash, timeout) or kept (error):
			// either way the next invocation succeeds.
			if _, err := invoke(t, rt, `{"echo":"after"}`); err != nil {
				t.Fatalf("invocation after %s: %v", tt.name, err)
			}
		})
	}
	last, err := invoke(t, rt, `{}`)
	if err != nil {
		t.Fatal(err)
	}
	if last.PID == first.PID {
		t.Errorf("pid %d served before and after a crash; want a replaced process", last.PID)
	}
	if n := len(rt.InitDurations()); n != 3 {
		t.Errorf("%d inits recorded, want 3 (start, after crash, after timeout)", n)
	}
}

// TestConcurrency needs N environments at once: each invocation waits
// until N invocations have started.
func TestConcurrency(t *testing.T) {
	const n = 3
	rt := start(t, runtimeapi.Function{Concurrency: n})
	if got := len(rt.PIDs()); got != n {
		t.Fatalf("%d processes, want %d", got, n)
	}
	dir := t.TempDir()
	payload := fmt.Sprintf(`{"barrier":%q,"n":%d}`, dir, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	pids := make(chan int, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := rt.Invoke(context.Background(), []byte(payload))
			if err != nil {
				errs <- err
				return
			}
			var r reply
			_ = json.Unmarshal(out, &r)
			pids <- r.PID
		}()
	}
	wg.Wait()
	close(errs)
	close(pids)
	for err := range errs {
		t.Error(err)
	}
	seen := map[int]bool{}
	for p := range pids {
		seen[p] = true
	}
	if len(seen) != n {
		t.Errorf("served by %d processes, want %d", len(seen), n)
	}
}

func TestStopLeavesNoProcess(t *testing.T) {
	rt, err := runtimeapi.Start(t.Context(), runtimeapi.Function{Name: "testfn", Binary: binary, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	pids := rt.PIDs()
	if len(pids) != 2 {
		t.Fatalf("PIDs() = %v, want 2", pids)
	}
	rt.Stop()
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("bootstrap %d still alive after Stop", pid)
		}
	}
	if _, err := rt.Invoke(context.Background(), []byte(`{}`)); err == nil {
		t.Error("Invoke after Stop succeeded")
	}
}

func TestInitErrorIsReported(t *testing.T) {
	_, err := runtimeapi.Start(t.Context(), runtimeapi.Function{Name: "x", Binary: "/nonexistent/bootstrap"})
	if err == nil {
		t.Fatal("Start with a missing bootstrap succeeded")
	}
}
