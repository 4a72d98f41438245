package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/leadscore/leadscore/infra/template"
)

// batchingFlag is -batching: Event=BatchSize/WindowSeconds overrides, for one
// run, the batching of the SQS event source named Event in template.yaml
// (e.g. ScoreQueueEvents=10/0), so the trade-off between batching and speed
// to lead can be measured without editing the template (make tradeoff).
type batchingFlag map[string]template.SQSSource

func (f batchingFlag) String() string {
	var parts []string
	for ev, s := range f {
		parts = append(parts, fmt.Sprintf("%s=%d/%d", ev, s.BatchSize, int(s.MaxBatchingWindow/time.Second)))
	}
	return strings.Join(parts, ",")
}

func (f batchingFlag) Set(v string) error {
	ev, setting, ok := strings.Cut(v, "=")
	size, window, ok2 := strings.Cut(setting, "/")
	if !ok || !ok2 || ev == "" {
		return fmt.Errorf("-batching %q: want Event=BatchSize/WindowSeconds, e.g. ScoreQueueEvents=10/0", v)
	}
	n, err := strconv.Atoi(size)
	if err != nil {
		return fmt.Errorf("-batching %q: batch size: %w", v, err)
	}
	w, err := strconv.Atoi(window)
	if err != nil {
		return fmt.Errorf("-batching %q: window (whole seconds, as Lambda takes it): %w", v, err)
	}
	f[ev] = template.SQSSource{Event: ev, BatchSize: n, MaxBatchingWindow: time.Duration(w) * time.Second}
	return nil
}

// applyBatching returns sources with the overrides of f, and refuses an
// override naming no event source or a setting Lambda would refuse.
func applyBatching(sources []template.SQSSource, f batchingFlag) ([]template.SQSSource, error) {
	out := make([]template.SQSSource, len(sources))
	copy(out, sources)
	used := map[string]bool{}
	for i, s := range out {
		if o, ok := f[s.Event]; ok {
			out[i].BatchSize, out[i].MaxBatchingWindow = o.BatchSize, o.MaxBatchingWindow
			used[s.Event] = true
		}
	}
	for ev := range f {
		if !used[ev] {
			return nil, fmt.Errorf("-batching %s: template.yaml has no SQS event source of that name", ev)
		}
	}
	for _, s := range out {
		if err := checkBatching(s); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// checkBatching applies the event source mapping's limits for a standard
// queue: BatchSize 1..10000, a window of 0..300 whole seconds, and at least
// 1 s of window for a BatchSize over 10.
func checkBatching(s template.SQSSource) error {
	w := s.MaxBatchingWindow
	switch {
	case s.BatchSize < 1 || s.BatchSize > 10000:
		return fmt.Errorf("%s %s: BatchSize %d: Lambda takes 1..10000", s.Function, s.Event, s.BatchSize)
	case w < 0 || w > 300*time.Second || w%time.Second != 0:
		return fmt.Errorf("%s %s: batching window %s: Lambda takes 0..300 whole seconds", s.Function, s.Event, w)
	case s.BatchSize > 10 && w < time.Second:
		return fmt.Errorf("%s %s: BatchSize %d needs MaximumBatchingWindowInSeconds of at least 1 (Lambda's rule for more than 10)", s.Function, s.Event, s.BatchSize)
	}
	return nil
}
