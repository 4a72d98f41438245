package ingest

import (
	"net/http"
	"testing"
	"time"

	"github.com/leadscore/leadscore/shared/scoring"
)

// TestRulesCacheTTL: another container publishing new rules is seen once
// the cached copy is older than RulesTTL, not before, and known types never
// need the table.
func TestRulesCacheTTL(t *testing.T) {
	now := testNow
	e := newEnv(t, func(o *Options) { o.Now = func() time.Time { return now } })
	post := func() int {
		return e.do(t, withBody(load(t, "post-event.json"), `{"type":"trial_extend","anonymous_id":"a"}`, false)).StatusCode
	}
	if got := post(); got != http.StatusBadRequest {
		t.Fatalf("undeclared type: %d, want 400", got)
	}
	r, err := scoring.ParseRules(append(scoring.DefaultRulesYAML(), "\nevent_types: [trial_extend]\n"...))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.publisher(t).PublishRules(t.Context(), r); err != nil { // as the api function would
		t.Fatal(err)
	}
	now = now.Add(RulesTTL - time.Second)
	if got := post(); got != http.StatusBadRequest {
		t.Errorf("within the TTL: %d, want 400 from the cached rules", got)
	}
	now = now.Add(2 * time.Second)
	if got := post(); got != http.StatusAccepted {
		t.Errorf("after the TTL: %d, want 202", got)
	}
	e.received(t, 1)
}
