package main

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadscore/leadscore/infra/template"
)

func TestTemplateBatchingIsWhatLambdaAccepts(t *testing.T) {
	root, err := template.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := template.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sources, err := tmpl.SQSSources()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := applyBatching(sources, batchingFlag{}); err != nil {
		t.Fatal(err)
	}
}

func TestBatchingOverride(t *testing.T) {
	sources := []template.SQSSource{{Function: "ScoreFunction", Event: "ScoreQueueEvents", BatchSize: 100, MaxBatchingWindow: 2 * time.Second}}
	f := batchingFlag{}
	if err := f.Set("ScoreQueueEvents=10/0"); err != nil {
		t.Fatal(err)
	}
	got, err := applyBatching(sources, f)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].BatchSize != 10 || got[0].MaxBatchingWindow != 0 || sources[0].BatchSize != 100 {
		t.Fatalf("override gave %+v (template's copy %+v), want batch 10, no window, the template's copy untouched", got[0], sources[0])
	}
	for _, bad := range []struct{ flag, want string }{
		{"ScoreQueueEvents=100/0", "at least 1"},
		{"ScoreQueueEvents=10/301", "0..300"},
		{"ScoreQueueEvents=0/1", "1..10000"},
		{"NoSuchEvents=10/0", "no SQS event source"},
	} {
		f := batchingFlag{}
		if err := f.Set(bad.flag); err != nil {
			t.Fatal(err)
		}
		if _, err := applyBatching(sources, f); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("-batching %s: %v, want an error saying %q", bad.flag, err, bad.want)
		}
	}
	for _, bad := range []string{"ScoreQueueEvents", "ScoreQueueEvents=10", "ScoreQueueEvents=10/0.5", "=10/0"} {
		if err := (batchingFlag{}).Set(bad); err == nil {
			t.Errorf("-batching %s accepted", bad)
		}
	}
}

func TestSQSChunks(t *testing.T) {
	for _, c := range []struct {
		req  int64
		resp int
		want int
	}{{0, 0, 1}, {100, 2000, 1}, {64 << 10, 10, 1}, {64<<10 + 1, 10, 2}, {10, 200 << 10, 4}} {
		if got := sqsChunks(c.req, c.resp); got != c.want {
			t.Errorf("sqsChunks(%d, %d) = %d, want %d", c.req, c.resp, got, c.want)
		}
	}
}

func TestInvocationsAreMeteredWithBilledDuration(t *testing.T) {
	m := newRequestMeter()
	obs := m.observeInvoke("ScoreFunction", 512)
	obs(1500 * time.Microsecond) // billed as 2 ms
	obs(40 * time.Millisecond)
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/local/requests", nil))
	if !strings.Contains(rec.Body.String(), `"service":"lambda","caller":"ScoreFunction","op":"Invoke","requests":2`) ||
		!strings.Contains(rec.Body.String(), `"billed_ms":42,"memory_mb":512`) {
		t.Fatalf("meter answer %s, want 2 ScoreFunction invocations, 42 billed ms at 512 MB", rec.Body.String())
	}
}
