// Package sourcestest runs the sources end to end (docs/api.md "Sources"):
// the real Segment and RudderStack SDKs, and a real browser running the
// tracker, against the local stack (`make run`'s, started from
// template.yaml), then reads the leads back with the API key. It holds
// tests only; -short skips them (they need the emulators, Node and Chromium).
package sourcestest

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/leadscore/leadscore/infra/localstack/stackproc"
	"github.com/leadscore/leadscore/infra/template"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// The stack's keys and sites. The local stack's defaults are replaced so
// the browser test has a consent-mode site and a foreign origin: pages on
// 127.0.0.1 belong to the sites, pages on localhost do not.
const (
	apiKey     = "sourcestest-api-key"
	writeKey   = "wk_sourcestest_0001"
	siteKey    = "pk_sourcestest_0001"
	consentKey = "pk_sourcestest_eu_01"
	sites      = `{"www":{"key":"` + siteKey + `","allowed_origins":["http://127.0.0.1:*"]},` +
		`"eu":{"key":"` + consentKey + `","allowed_origins":["http://127.0.0.1:*"],"consent_required":true}}`
	// forms is the test's own contact form, a form_submit (the rules'
	// form-fill): the local stack's demo default is a contact_request, and
	// the browser tests wait for the form fill.
	forms = `{"contact":{"type":"form_submit","allowed_origins":["http://localhost:*","http://127.0.0.1:*"]}}`
)

// pricingSeconds is the rule the tests add to the default rules: a page view
// of /pricing visible 2 seconds or more, so a short browser visit shows its
// duration_s in the breakdown.
const pricingSeconds = "pricing-seconds"

var (
	stack   *stackproc.Stack
	baseURL string         // the stack's HTTP API
	rules   *scoring.Rules // what the stack scores with
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if testing.Short() {
		return m.Run()
	}
	ctx := context.Background()
	var err error
	stack, err = startStack(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sourcestest:", err)
		return 1
	}
	defer stack.Stop()
	baseURL = stack.APIURL
	if rules, err = publishRules(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "sourcestest: publishing the test rules:", err)
		return 1
	}
	return m.Run()
}

// needStack skips a test under -short, the one skip allowed: it needs the
// emulators, Node and Chromium.
func needStack(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the local stack; skipped with -short")
	}
}

// startStack starts `go run ./infra/localstack` with the test's keys and
// sites on free ports.
func startStack(ctx context.Context) (*stackproc.Stack, error) {
	root, err := template.RepoRoot()
	if err != nil {
		return nil, err
	}
	return stackproc.Start(ctx, stackproc.Options{Name: "sourcestest",
		LogPath: filepath.Join(root, "build", "local", "sourcestest-stack.log"),
		Env:     []string{"API_KEY=" + apiKey, "WRITE_KEYS=" + writeKey, "SITES=" + sites, "FORMS=" + forms, "LOG_LEVEL=info"}})
}

// publishRules publishes the default rules plus pricingSeconds, and returns
// them parsed as the stack will score with them.
func publishRules(ctx context.Context) (*scoring.Rules, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(scoring.DefaultRulesYAML(), &doc); err != nil {
		return nil, err
	}
	eng := doc["engagement"].(map[string]any)
	eng["rules"] = append(eng["rules"].([]any), map[string]any{
		"id": pricingSeconds, "description": "Kept the pricing page in view 2 seconds or more",
		"event": "page_view", "where": map[string]any{"url": map[string]any{"contains": "/pricing"}, "duration_s": map[string]any{"gte": 2}},
		"points": 3, "max_per_day": 1,
	})
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	req, _ := http.NewRequestWithContext(ctx, "PUT", baseURL+"/v1/rules", strings.NewReader(string(body)))
	req.Header.Set("content-type", "application/json")
	req.Header.Set("x-api-key", apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("PUT /v1/rules: %d %s", resp.StatusCode, answer)
	}
	return scoring.ParseRules(body)
}

// lead reads a lead by email with the API key; ok is false on 404.
func lead(t *testing.T, email string) (v leadscore.LeadView, ok bool) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", baseURL+"/v1/leads?email="+url.QueryEscape(email), nil)
	req.Header.Set("x-api-key", apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	switch resp.StatusCode {
	case http.StatusNotFound:
		return v, false
	case http.StatusOK:
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("lead view %s: %v", body, err)
		}
		return v, true
	default:
		t.Fatalf("GET /v1/leads?email=: %d %s", resp.StatusCode, body)
	}
	return v, false
}

// waitForLead polls the lead until done says it is complete (scoring is
// asynchronous), and returns the last view read. It fails after a minute;
// the assertions are on the view, never on how long it took.
func waitForLead(t *testing.T, email string, done func(leadscore.LeadView) bool) leadscore.LeadView {
	t.Helper()
	var last leadscore.LeadView
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		if v, ok := lead(t, email); ok {
			last = v
			if done(v) {
				return v
			}
		}
	}
	t.Fatalf("lead %s not complete after a minute; last view: %+v", email, last)
	return last
}

// waitScored waits until the score queues hold nothing, visible or in
// flight: every event accepted so far has been scored.
func waitScored(t *testing.T) {
	t.Helper()
	if q := stack.Queues("ScoreQueue"); stack.SQSURL() == "" || len(q) < 2 {
		t.Fatalf("the stack's banner named SQS %q and score queues %v; want the score and urgent score queues", stack.SQSURL(), q)
	}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		n, err := stack.Backlog(t.Context(), "ScoreQueue")
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("the score queues did not drain within a minute")
}

// contribution is the points rule id contributed in a view's breakdown.
func contribution(v leadscore.LeadView, rule string) (float64, bool) {
	for _, c := range v.Breakdown {
		if c.Rule == rule {
			return c.Points, true
		}
	}
	return 0, false
}

// expected is the score the rules give a lead with these events, now.
func expected(evs []scoring.Event, now time.Time) scoring.Score {
	st := scoring.NewLeadState()
	st.Apply(evs, rules)
	score, _ := st.Scores(rules, now)
	return score
}
