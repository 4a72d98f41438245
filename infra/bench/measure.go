package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/leadscore/leadscore/infra/emulators"
	"github.com/leadscore/leadscore/infra/runtimeapi"
	"github.com/leadscore/leadscore/infra/template"
)

// FunctionFigures are one function's measurements.
type FunctionFigures struct {
	LogicalID string `json:"logical_id"`
	Folder    string `json:"folder"`
	// BootstrapBytes is the stripped linux/arm64 bootstrap, built by the
	// Makefile's build-<LogicalId> target (the one SAM runs).
	BootstrapBytes int64 `json:"bootstrap_bytes"`
	// InitMs are the cold inits of the host-arch binary: process start
	// until its first GET /runtime/invocation/next.
	InitMs []float64 `json:"init_ms"`
	// InitRSSKB is the peak RSS after init, before any invocation.
	InitRSSKB int64 `json:"init_rss_kb,omitempty"`
	// BatchPeakRSSKB is the peak RSS after one 100-message batch, and
	// BatchMs how long that invocation took.
	BatchPeakRSSKB int64   `json:"batch_peak_rss_kb,omitempty"`
	BatchMs        float64 `json:"batch_ms,omitempty"`
	BatchNote      string  `json:"batch_note,omitempty"`
}

// buildArm64 runs `make build-<id>` into dir and returns the bootstrap's size.
func buildArm64(ctx context.Context, root, id, dir string) (int64, error) {
	cmd := exec.CommandContext(ctx, "make", "-s", "build-"+id, "ARTIFACTS_DIR="+dir)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("make build-%s: %w\n%s", id, err, out)
	}
	fi, err := os.Stat(filepath.Join(dir, "bootstrap"))
	if err != nil {
		return 0, fmt.Errorf("make build-%s made no bootstrap: %w", id, err)
	}
	return fi.Size(), nil
}

// buildHost builds folder for this machine with the Makefile's flags, so
// init and memory are measured on the same kind of binary as Lambda runs.
func buildHost(ctx context.Context, root, folder, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, "./functions/"+folder)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./functions/%s: %w\n%s", folder, err, b)
	}
	return nil
}

// functionEnv is the function's template environment resolved for the
// emulators (as the local stack does), with webhooks to hookURL.
func functionEnv(st *emulators.Stack, fn template.Function, hookURL string) (map[string]string, error) {
	return st.FunctionEnv(fn, map[string]string{
		"ApiKey": "bench-api-key", "WebhookUrlSales": hookURL + "/sales", "WebhookUrlNurture": hookURL + "/nurture",
		"WebhookSecret": "bench-webhook-secret-0123456789", "LogLevel": "info",
		"Forms": `{"contact":{"type":"form_submit","allowed_origins":["http://localhost:*"]}}`,
	})
}

// coldInits starts the binary n times (one process each, as n cold starts)
// and returns each init duration and the largest peak RSS after init.
func coldInits(ctx context.Context, fn template.Function, bin string, env map[string]string, n int) ([]float64, int64, error) {
	var ms []float64
	var rss int64
	for range n {
		rt, err := runtimeapi.Start(ctx, runtimeapi.Function{Name: fn.LogicalID, Binary: bin, Env: env, Timeout: fn.Timeout, MemoryMB: fn.MemorySize})
		if err != nil {
			return nil, 0, err
		}
		for _, d := range rt.InitDurations() {
			ms = append(ms, float64(d.Microseconds())/1000)
		}
		for _, pid := range rt.PIDs() {
			if kb, err := peakRSS(pid); err == nil {
				rss = max(rss, kb)
			}
		}
		rt.Stop()
	}
	return ms, rss, nil
}

// batchPeak starts one environment, invokes it with payload, and returns
// the process's peak RSS (VmHWM) afterwards and the invocation's duration.
func batchPeak(ctx context.Context, fn template.Function, bin string, env map[string]string, payload []byte, out io.Writer) (int64, time.Duration, []byte, error) {
	rt, err := runtimeapi.Start(ctx, runtimeapi.Function{Name: fn.LogicalID, Binary: bin, Env: env, Timeout: fn.Timeout, MemoryMB: fn.MemorySize, Output: out})
	if err != nil {
		return 0, 0, nil, err
	}
	defer rt.Stop()
	start := time.Now()
	resp, err := rt.Invoke(ctx, payload)
	took := time.Since(start)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("invoking %s with a 100-message batch: %w", fn.LogicalID, err)
	}
	pids := rt.PIDs()
	if len(pids) != 1 {
		return 0, 0, nil, fmt.Errorf("%s: expected one process, have %v", fn.LogicalID, pids)
	}
	kb, err := peakRSS(pids[0])
	return kb, took, resp, err
}

// peakRSS reads VmHWM (the peak resident set) of a live process, in kB.
func peakRSS(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("peak RSS of pid %d: %w (needs Linux /proc)", pid, err)
	}
	defer f.Close()
	return parseVmHWM(f)
}

// parseVmHWM finds "VmHWM:  1234 kB" in a /proc/<pid>/status document.
func parseVmHWM(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("unexpected VmHWM line %q", sc.Text())
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, fmt.Errorf("no VmHWM line in the status document")
}

// measureFunctions builds and measures every function of the template.
func measureFunctions(ctx context.Context, root string, inits int, log io.Writer) ([]FunctionFigures, error) {
	repo, err := template.ReadRepo(root)
	if err != nil {
		return nil, err
	}
	targets, fns := repo.Targets, repo.Functions
	st, err := emulators.Start(ctx)
	if err != nil {
		return nil, err
	}
	defer st.Stop()

	var delivered atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		delivered.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()

	var out []FunctionFigures
	for _, fn := range fns {
		folder := targets[fn.LogicalID]
		fig := FunctionFigures{LogicalID: fn.LogicalID, Folder: folder}
		fmt.Fprintf(log, "%s: arm64 build, %d cold inits", fn.LogicalID, inits)
		if fig.BootstrapBytes, err = buildArm64(ctx, root, fn.LogicalID, filepath.Join(root, "build", "bench", "arm64", fn.LogicalID)); err != nil {
			return nil, err
		}
		bin := filepath.Join(root, "build", "bench", runtime.GOARCH, fn.LogicalID, "bootstrap")
		if err := buildHost(ctx, root, folder, bin); err != nil {
			return nil, err
		}
		env, err := functionEnv(st, fn, hook.URL)
		if err != nil {
			return nil, err
		}
		// One start first, so the binary is in the page cache for every
		// measured one, as on a warm Lambda host.
		if _, _, err := coldInits(ctx, fn, bin, env, 1); err != nil {
			return nil, err
		}
		if fig.InitMs, fig.InitRSSKB, err = coldInits(ctx, fn, bin, env, inits); err != nil {
			return nil, err
		}
		payload, check := sampleBatch(folder, st, &delivered, &fig)
		if payload != nil {
			fmt.Fprintf(log, ", %s", fig.BatchNote)
			var fnOut bytes.Buffer
			kb, took, resp, err := batchPeak(ctx, fn, bin, env, payload, &fnOut)
			if err != nil {
				return nil, fmt.Errorf("%w\n%s", err, fnOut.String())
			}
			if err := check(resp); err != nil {
				return nil, fmt.Errorf("%s batch: %w\n%s", fn.LogicalID, err, fnOut.String())
			}
			fig.BatchPeakRSSKB, fig.BatchMs = kb, float64(took.Microseconds())/1000
		}
		fmt.Fprintln(log)
		out = append(out, fig)
	}
	slices.SortFunc(out, func(a, b FunctionFigures) int { return strings.Compare(a.LogicalID, b.LogicalID) })
	return out, nil
}

// sampleBatch is the 100-message invocation a function's memory is
// measured with (nil for a function without one), and the check of its
// answer; it names the batch in fig.BatchNote.
func sampleBatch(folder string, st *emulators.Stack, delivered *atomic.Int64, fig *FunctionFigures) (payload []byte, check func(resp []byte) error) {
	now := time.Now().UTC()
	switch folder {
	case "ingest":
		payload, _ = json.Marshal(ingestRequest(100, 20, "bench-api-key", now))
		fig.BatchNote = "one POST /v1/events of 100 events"
		check = func(resp []byte) error {
			var r events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(resp, &r); err != nil || r.StatusCode != http.StatusAccepted {
				return fmt.Errorf("want a 202, got %.300s", resp)
			}
			return nil
		}
	case "score":
		payload, _ = json.Marshal(scoreBatch(100, 20, st.QueueARNs[emulators.ScoreQueueID], now))
		fig.BatchNote = "100 events of 20 leads against the emulators"
		check = noFailures
	case "handoff":
		before := delivered.Load()
		payload, _ = json.Marshal(handoffBatch(100, st.QueueARNs[emulators.HandoffQueueID], now))
		fig.BatchNote = "100 MQL transitions to an httptest receiver"
		check = func(resp []byte) error {
			if err := noFailures(resp); err != nil {
				return err
			}
			if got := delivered.Load() - before; got != 100 {
				return fmt.Errorf("the receiver got %d webhooks, want 100", got)
			}
			return nil
		}
	}
	return payload, check
}

// noFailures checks an SQS batch response reports no failed message.
func noFailures(resp []byte) error {
	var r events.SQSEventResponse
	if err := json.Unmarshal(resp, &r); err != nil {
		return fmt.Errorf("unreadable batch response %q: %w", resp, err)
	}
	if len(r.BatchItemFailures) > 0 {
		return fmt.Errorf("%d messages failed", len(r.BatchItemFailures))
	}
	return nil
}
