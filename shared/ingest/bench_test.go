package ingest

import (
	"context"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/logging"
	"github.com/leadscore/leadscore/shared/metrics"
	"github.com/leadscore/leadscore/shared/mock"
)

// countingQueue only counts: the benchmark measures the handler's CPU, not
// the SQS round trip (the correctness tests use the real emulator).
type countingQueue struct{ n atomic.Int64 }

func (q *countingQueue) EnqueueScore(_ context.Context, msgs []leadscore.ScoreMessage) ([]int, error) {
	q.n.Add(int64(len(msgs)))
	return nil, nil
}

func benchHandler() (*Handler, *countingQueue) {
	q := &countingQueue{}
	h, err := New(Options{Queue: q, Rules: &mock.RulesStore{}, APIKey: testKey, Forms: testForms,
		Logger:  logging.New(io.Discard, "ingest", "info"),
		Metrics: metrics.New(io.Discard, "ingest"),
		Now:     func() time.Time { return testNow }})
	if err != nil {
		panic(err)
	}
	return h, q
}

// BenchmarkPostSingleEvent is the whole handler for one event post as API
// Gateway sends it: auth, routing, decode, validate, normalize, the 202,
// the access log line and the EMF flush.
func BenchmarkPostSingleEvent(b *testing.B) {
	h, q := benchHandler()
	req := load(b, "post-event.json")
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		resp, _ := h.Handle(b.Context(), req)
		if resp.StatusCode != 202 {
			b.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
		}
	}
	b.ReportMetric(float64((processCPU()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
	if q.n.Load() == 0 {
		b.Fatal("nothing enqueued")
	}
}

// BenchmarkPostBatch100 reports the cost per event of a full batch.
func BenchmarkPostBatch100(b *testing.B) {
	h, _ := benchHandler()
	one := `{"type":"page_view","email":"ada@example.com","properties":{"url":"/pricing"}}`
	req := withBody(load(b, "post-event.json"), `{"events":[`+strings.TrimSuffix(strings.Repeat(one+",", 100), ",")+`]}`, false)
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		resp, _ := h.Handle(b.Context(), req)
		if resp.StatusCode != 202 {
			b.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
		}
	}
	b.ReportMetric(float64((processCPU()-cpu).Nanoseconds())/float64(b.N)/100, "cpu-ns/event")
}

// BenchmarkPostForm is a browser's urlencoded form post with its 303.
func BenchmarkPostForm(b *testing.B) {
	h, _ := benchHandler()
	req := load(b, "post-form-urlencoded.json")
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		resp, _ := h.Handle(b.Context(), req)
		if resp.StatusCode != 303 {
			b.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
		}
	}
	b.ReportMetric(float64((processCPU()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
}
