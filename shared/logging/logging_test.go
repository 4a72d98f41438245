package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

func decodeLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestPowertoolsKeysAndColdStart(t *testing.T) {
	invocations.Store(0)
	var buf bytes.Buffer
	base := New(&buf, "leadscore-score", "info")
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	ForInvocation(ctx, base).Info("scored", "lead_id", "ld_1")
	ForInvocation(ctx, base).Debug("hidden at info level")
	ForInvocation(context.Background(), base).Warn("second")

	lines := decodeLines(t, &buf)
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2 (debug filtered): %s", len(lines), buf.String())
	}
	first := lines[0]
	for key, want := range map[string]any{
		"level": "INFO", "msg": "scored", "function_name": "leadscore-score",
		"request_id": "req-1", "cold_start": true, "lead_id": "ld_1",
	} {
		if first[key] != want {
			t.Errorf("first line %s = %v, want %v", key, first[key], want)
		}
	}
	if _, ok := first["timestamp"]; !ok {
		t.Errorf("first line has no timestamp: %v", first)
	}
	if lines[1]["cold_start"] != false {
		t.Errorf("third invocation logged cold_start=%v, want false", lines[1]["cold_start"])
	}
}

func TestPersonalKeysAreDropped(t *testing.T) {
	var buf bytes.Buffer
	New(&buf, "f", "").Info("lead", "email", "ada@example.com", "Phone", "+44 20 7946 0000", "lead_id", "ld_2")
	if strings.Contains(buf.String(), "ada@example.com") || strings.Contains(buf.String(), "7946") {
		t.Fatalf("personal data reached the log: %s", buf.String())
	}
	if !strings.Contains(buf.String(), `"lead_id":"ld_2"`) {
		t.Fatalf("lead_id missing: %s", buf.String())
	}
}

func TestSDKLoggerSpeaksJSONAndQuietsTheChecksumWarning(t *testing.T) {
	var buf bytes.Buffer
	sdk := SDK(New(&buf, "f", "info"))
	sdk.Logf("WARN", "failed to close HTTP response body, this may affect connection reuse: %v", "response did not match expected checksum, 0, 123")
	sdk.Logf("WARN", "retrying request %s", "PutItem")
	sdk.Logf("DEBUG", "request headers")
	lines := decodeLines(t, &buf)
	if len(lines) != 1 || lines[0]["msg"] != "retrying request PutItem" || lines[0]["level"] != "WARN" || lines[0]["source"] != "aws-sdk" {
		t.Fatalf("got %v, want only the real warning as a JSON WARN line", lines)
	}
}

func TestInitFailedLogsTheCauseAndExits(t *testing.T) {
	var buf bytes.Buffer
	code := -1
	exit = func(c int) { code = c }
	defer func() { exit = os.Exit }()
	InitFailed(New(&buf, "score", "info"), "building the score handler failed", errors.New("score: Options.Queue (the score queue) is nil"))
	if code != 1 {
		t.Fatalf("exit code %d, want 1", code)
	}
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	if line["level"] != "ERROR" || line["msg"] != "building the score handler failed" || line["error"] != "score: Options.Queue (the score queue) is nil" {
		t.Fatalf("log line %v", line)
	}
}
