package sweep

import (
	"io"
	"strings"
	"testing"

	"github.com/leadscore/leadscore/shared/logging"
	"github.com/leadscore/leadscore/shared/metrics"
	"github.com/leadscore/leadscore/shared/mock"
)

// TestNewRefusesAMissingDependency: the sweep fails its cold start, naming
// what is missing, rather than its first scheduled run.
func TestNewRefusesAMissingDependency(t *testing.T) {
	full := func() Options {
		return Options{Due: &mock.Store{}, Queue: &mock.ScoreQueue{},
			Logger: logging.New(io.Discard, "sweep-test", "info"), Metrics: metrics.New(io.Discard, "sweep-test")}
	}
	if _, err := New(full()); err != nil {
		t.Fatalf("New with every dependency: %v", err)
	}
	for name, drop := range map[string]func(*Options){
		"Due":     func(o *Options) { o.Due = nil },
		"Queue":   func(o *Options) { o.Queue = nil },
		"Logger":  func(o *Options) { o.Logger = nil },
		"Metrics": func(o *Options) { o.Metrics = nil },
	} {
		o := full()
		drop(&o)
		if _, err := New(o); err == nil || !strings.Contains(err.Error(), "Options."+name) {
			t.Errorf("New without %s: %v, want an error naming Options.%s", name, err, name)
		}
	}
}
