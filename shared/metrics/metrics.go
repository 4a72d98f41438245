// Package metrics writes CloudWatch Embedded Metric Format: one JSON log line
// per flush, which CloudWatch turns into metrics without any API call from
// the function (so recording a metric costs no latency and needs no IAM).
package metrics

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// Namespace is the CloudWatch namespace of every leadscore metric.
const Namespace = "leadscore"

// Units used by the functions (CloudWatch's unit names).
const (
	UnitCount        = "Count"
	UnitMilliseconds = "Milliseconds"
)

// Recorder collects metrics for one invocation and writes them on Flush.
// It is safe for concurrent use.
type Recorder struct {
	w            io.Writer
	functionName string
	now          func() time.Time

	mu     sync.Mutex
	order  []string
	units  map[string]string
	values map[string][]float64
}

// New returns a Recorder writing to w (stdout in Lambda).
func New(w io.Writer, functionName string) *Recorder {
	return &Recorder{w: w, functionName: functionName, now: time.Now,
		units: map[string]string{}, values: map[string][]float64{}}
}

// Count adds v to the counter name; counts are summed within a flush.
func (r *Recorder) Count(name string, v float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if vs, ok := r.values[name]; ok && len(vs) == 1 && r.units[name] == UnitCount {
		vs[0] += v
		return
	}
	r.addLocked(name, UnitCount, v)
}

// Milliseconds records one latency observation.
func (r *Recorder) Milliseconds(name string, d time.Duration) {
	r.Add(name, UnitMilliseconds, float64(d.Microseconds())/1000)
}

// Add records one observation with an explicit unit; several observations of
// one name within a flush are kept as EMF's array of values.
func (r *Recorder) Add(name, unit string, v float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addLocked(name, unit, v)
}

func (r *Recorder) addLocked(name, unit string, v float64) {
	if _, ok := r.values[name]; !ok {
		r.order = append(r.order, name)
		r.units[name] = unit
	}
	r.values[name] = append(r.values[name], v)
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMeta struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

// Flush writes everything recorded since the last flush as one EMF line and
// forgets it. It writes nothing when nothing was recorded.
func (r *Recorder) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.order) == 0 {
		return nil
	}
	doc := map[string]any{"function_name": r.functionName}
	directive := emfDirective{Namespace: Namespace, Dimensions: [][]string{{"function_name"}}}
	for _, name := range r.order {
		directive.Metrics = append(directive.Metrics, emfMetric{Name: name, Unit: r.units[name]})
		if vs := r.values[name]; len(vs) == 1 {
			doc[name] = vs[0]
		} else {
			doc[name] = vs
		}
	}
	doc["_aws"] = emfMeta{Timestamp: r.now().UnixMilli(), CloudWatchMetrics: []emfDirective{directive}}
	line, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	r.order, r.units, r.values = nil, map[string]string{}, map[string][]float64{}
	_, err = r.w.Write(append(line, '\n'))
	return err
}
