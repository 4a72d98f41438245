package score

import (
	"io"
	"strings"
	"testing"

	"github.com/leadscore/leadscore/shared/logging"
	"github.com/leadscore/leadscore/shared/metrics"
	"github.com/leadscore/leadscore/shared/mock"
)

// TestNewRefusesAMissingDependency: each required dependency missing fails
// New, naming it, so the function fails its cold start (a score function
// without SCORE_QUEUE_URL cannot run a bulk rescore).
func TestNewRefusesAMissingDependency(t *testing.T) {
	full := func() Options {
		st := mockStore{Store: &mock.Store{}, RescoreStore: &mock.RescoreStore{}}
		return Options{Store: st, Rules: st, Handoff: &mock.HandoffQueue{}, Rescore: st, Queue: &mock.ScoreQueue{},
			Logger: logging.New(io.Discard, "score-test", "info"), Metrics: metrics.New(io.Discard, "score-test")}
	}
	if _, err := New(full()); err != nil {
		t.Fatalf("New with every dependency: %v", err)
	}
	for name, drop := range map[string]func(*Options){
		"Store":   func(o *Options) { o.Store = nil },
		"Rules":   func(o *Options) { o.Rules = nil },
		"Handoff": func(o *Options) { o.Handoff = nil },
		"Rescore": func(o *Options) { o.Rescore = nil },
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
