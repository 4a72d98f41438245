package metrics

import (
	"bytes"
	"encoding/json"
	"sync"
	"testing"
	"time"
)

func TestFlushWritesEMF(t *testing.T) {
	var buf bytes.Buffer
	r := New(&buf, "leadscore-ingest")
	r.now = func() time.Time { return time.UnixMilli(1700000000123) }
	r.Count("EventsAccepted", 2)
	r.Count("EventsAccepted", 3)
	r.Milliseconds("Latency", 1500*time.Microsecond)
	r.Milliseconds("Latency", 2*time.Millisecond)
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}

	var doc struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		FunctionName   string    `json:"function_name"`
		EventsAccepted float64   `json:"EventsAccepted"`
		Latency        []float64 `json:"Latency"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("not JSON: %v: %s", err, buf.String())
	}
	if doc.AWS.Timestamp != 1700000000123 || doc.FunctionName != "leadscore-ingest" {
		t.Errorf("timestamp/function: %+v", doc)
	}
	d := doc.AWS.CloudWatchMetrics[0]
	if d.Namespace != "leadscore" || len(d.Dimensions) != 1 || d.Dimensions[0][0] != "function_name" {
		t.Errorf("directive: %+v", d)
	}
	if len(d.Metrics) != 2 || d.Metrics[0].Name != "EventsAccepted" || d.Metrics[0].Unit != "Count" || d.Metrics[1].Unit != "Milliseconds" {
		t.Errorf("metrics: %+v", d.Metrics)
	}
	if doc.EventsAccepted != 5 {
		t.Errorf("EventsAccepted = %v, want 5 (summed)", doc.EventsAccepted)
	}
	if len(doc.Latency) != 2 || doc.Latency[0] != 1.5 || doc.Latency[1] != 2 {
		t.Errorf("Latency = %v, want [1.5 2]", doc.Latency)
	}

	buf.Reset()
	if err := r.Flush(); err != nil || buf.Len() != 0 {
		t.Errorf("second flush wrote %q (err %v), want nothing", buf.String(), err)
	}
}

func TestConcurrentCounts(t *testing.T) {
	var buf bytes.Buffer
	r := New(&buf, "f")
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				r.Count("n", 1)
			}
		}()
	}
	wg.Wait()
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["n"] != 800.0 {
		t.Errorf("n = %v, want 800", doc["n"])
	}
}
