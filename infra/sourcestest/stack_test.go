// Package sourcestest runs the sources end to end (docs/api.md "Sources"):
// the real Segment and RudderStack SDKs, and a real browser running the
// tracker, against the local stack (`make run`'s, started from
// template.yaml), then reads the leads back with the API key. It holds
// tests only; -short skips them (they need the emulators, Node and Chromium).
package sourcestest

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"gopkg.in/yaml.v3"

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
)

// pricingSeconds is the rule the tests add to the default rules: a page view
// of /pricing visible 2 seconds or more, so a short browser visit shows its
// duration_s in the breakdown.
const pricingSeconds = "pricing-seconds"

var (
	baseURL string         // the stack's HTTP API
	rules   *scoring.Rules // what the stack scores with
	// sqsURL and scoreQueues (from the stack's banner) let a test wait
	// until every event sent has been scored.
	sqsURL      string
	scoreQueues []string
)

var (
	bannerSQS   = regexp.MustCompile(`^\s+SQS emulator\s+(http\S+)`)
	bannerQueue = regexp.MustCompile(`^\s+[A-Za-z]*ScoreQueue\s+(http\S+)`)
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
	stop, err := startStack(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sourcestest:", err)
		return 1
	}
	defer stop()
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

// startStack builds and starts `go run ./infra/localstack` with the test's
// keys and sites on free ports, and returns how to stop it.
func startStack(ctx context.Context) (stop func(), err error) {
	root, err := template.RepoRoot()
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(root, "build", "local", "localstack-sourcestest")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./infra/localstack")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building ./infra/localstack: %w\n%s", err, out)
	}
	apiAddr, invokeAddr := freeAddr(), freeAddr()
	logPath := filepath.Join(root, "build", "local", "sourcestest-stack.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-addr", apiAddr, "-invoke-addr", invokeAddr, "-dynamodb-port", "0", "-sqs-port", "0")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "API_KEY="+apiKey, "WRITE_KEYS="+writeKey, "SITES="+sites, "LOG_LEVEL=info")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	up, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		signalled := false
		for sc.Scan() {
			_, _ = logFile.Write(append(sc.Bytes(), '\n'))
			if !signalled {
				if m := bannerSQS.FindStringSubmatch(sc.Text()); m != nil {
					sqsURL = m[1]
				}
				if m := bannerQueue.FindStringSubmatch(sc.Text()); m != nil {
					scoreQueues = append(scoreQueues, m[1])
				}
			}
			if !signalled && strings.HasPrefix(sc.Text(), "Ctrl-C stops everything") {
				signalled = true
				close(up)
			}
		}
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
		logFile.Close()
	}()
	stop = func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}
	select {
	case <-up:
		baseURL = "http://" + apiAddr
		return stop, nil
	case <-exited:
		return nil, fmt.Errorf("the local stack exited before it was up; see %s", logPath)
	case <-time.After(10 * time.Minute):
		stop()
		return nil, fmt.Errorf("the local stack was not up within 10 minutes; see %s", logPath)
	}
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
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
	if sqsURL == "" || len(scoreQueues) < 2 {
		t.Fatalf("the stack's banner named SQS %q and score queues %q; want the score and urgent score queues", sqsURL, scoreQueues)
	}
	client := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(sqsURL),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		n := 0
		for _, q := range scoreQueues {
			out, err := client.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(q),
				AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
					sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range out.Attributes {
				c, _ := strconv.Atoi(v)
				n += c
			}
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
