package main

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/leadscore/leadscore/infra/emulators"
	"github.com/leadscore/leadscore/infra/template"
	"github.com/leadscore/leadscore/infra/wire"
	"github.com/leadscore/leadscore/shared/api"
	"github.com/leadscore/leadscore/shared/config"
	"github.com/leadscore/leadscore/shared/dynamodb"
	"github.com/leadscore/leadscore/shared/ingest"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/score"
	"github.com/leadscore/leadscore/shared/scoring"
)

// sample reads one of events/*.json.
func sample[T any](t *testing.T, name string) T {
	t.Helper()
	root, err := template.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "events", name))
	if err != nil {
		t.Fatal(err)
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// demoVP is what the README's Try it lead types into the demo form: a VP of
// Marketing at a 500-person software company in the US.
var demoVP = url.Values{"email": {"vp@acme.example"}, "first_name": {"Ada"}, "job_title": {"VP Marketing"},
	"company_size": {"1000"}, "industry": {"software"}, "country": {"US"}, "anonymous_id": {"anon-demo"},
	"_redirect": {"http://127.0.0.1:3000/?submitted=1"}, "_hp": {""}}

// TestDemoFormMakesAnMQL: the local demo's point, end to end through the
// real handlers and emulators: the demo page offers the fields, its form
// (configured by the local FORMS default) posts a hand-raise, and with the
// default rules the VP becomes an MQL with a lead.mql handoff for the
// webhook (docs/api.md "Local stack").
func TestDemoFormMakesAnMQL(t *testing.T) {
	p := newPipeline(t)
	ctx, in := t.Context(), p.ingest

	page, err := in.Handle(ctx, sample[events.APIGatewayV2HTTPRequest](t, "get-demo-page.json"))
	if err != nil || page.StatusCode != http.StatusOK {
		t.Fatalf("demo page: %d %v", page.StatusCode, err)
	}
	for name, value := range demoVP {
		if strings.HasPrefix(name, "_") || name == "anonymous_id" {
			continue
		}
		if !strings.Contains(page.Body, `name="`+name+`"`) {
			t.Errorf("the demo form has no %s field", name)
		}
		if name == "company_size" || name == "industry" || name == "country" {
			if !strings.Contains(page.Body, `<option value="`+value[0]+`"`) {
				t.Errorf("the demo form offers no %s option %q", name, value[0])
			}
		}
	}

	post := sample[events.APIGatewayV2HTTPRequest](t, "post-form.json")
	post.Headers["origin"] = "http://127.0.0.1:3000"
	post.Body = base64.StdEncoding.EncodeToString([]byte(demoVP.Encode()))
	resp, err := in.Handle(ctx, post)
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("form post: %d %s %v; want 303", resp.StatusCode, resp.Body, err)
	}

	p.score(t)
	if v := p.view(t, "vp@acme.example"); v.Stage != scoring.StageMQL {
		t.Fatalf("the demo VP is %s with score %+v, want mql", v.Stage, v.Score)
	}
	found := false
	for _, m := range receive(t, p.sqs, p.stack.HandoffQueueURL) {
		found = found || strings.Contains(aws.ToString(m.Body), `"lead.mql"`)
	}
	if !found {
		t.Error("no lead.mql handoff for the webhook")
	}
}

// pipeline is the handlers over fresh emulators, wired as their mains wire
// them (infra/wire), with the local stack's defaults (API key, FORMS, the
// demo page); score runs what ingestion queued, as the poller would.
type pipeline struct {
	stack  *emulators.Stack
	store  *dynamodb.Store
	sqs    *awssqs.Client
	ingest *ingest.Handler
	api    *api.Handler
	scorer *score.Handler
	views  *leadscore.RulesCache
}

func newPipeline(t *testing.T, tweak ...func(*wire.Deps)) *pipeline {
	t.Helper()
	if testing.Short() {
		t.Skip("starts the emulators")
	}
	st, err := emulators.Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Stop() })
	cfg, err := st.AWSConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	d, err := wire.Emulated(t.Context(), st)
	if err != nil {
		t.Fatal(err)
	}
	if d.Forms, err = config.ParseForms(DefaultForms); err != nil {
		t.Fatal(err)
	}
	d.APIKey, d.Local = DefaultAPIKey, true
	for _, f := range tweak {
		f(&d)
	}
	hs, err := wire.Build(d)
	if err != nil {
		t.Fatal(err)
	}
	store := dynamodb.New(awsdynamodb.NewFromConfig(cfg), st.TableName)
	return &pipeline{stack: st, store: store, sqs: awssqs.NewFromConfig(cfg), ingest: hs.Ingest, api: hs.API, scorer: hs.Score,
		views: leadscore.NewRulesCache(store)}
}

// score hands everything on the score queue to the score handler, and
// wants something there.
func (p *pipeline) score(t *testing.T) {
	t.Helper()
	if p.scoreWaiting(t) == 0 {
		t.Fatal("nothing on the score queue")
	}
}

// scoreWaiting hands what the score queue holds now (waiting a second for
// it) to the score handler, as the poller would, and returns how many
// messages that was.
func (p *pipeline) scoreWaiting(t *testing.T) int {
	t.Helper()
	msgs := waiting(t, p.sqs, p.stack.ScoreQueueURL)
	if len(msgs) == 0 {
		return 0
	}
	out, err := p.scorer.Handle(t.Context(), sqsEvent(msgs, p.stack.QueueARNs["ScoreQueue"]))
	if err != nil || len(out.BatchItemFailures) > 0 {
		t.Fatalf("score: %+v %v", out, err)
	}
	for _, m := range msgs {
		if _, err := p.sqs.DeleteMessage(t.Context(), &awssqs.DeleteMessageInput{QueueUrl: aws.String(p.stack.ScoreQueueURL),
			ReceiptHandle: m.ReceiptHandle}); err != nil {
			t.Fatal(err)
		}
	}
	return len(msgs)
}

// postEvents posts a JSON body to POST /v1/events and wants a 202.
func (p *pipeline) postEvents(t *testing.T, body string) {
	t.Helper()
	req := sample[events.APIGatewayV2HTTPRequest](t, "post-event.json")
	req.Headers["x-api-key"] = DefaultAPIKey
	req.Body = body
	resp, err := p.ingest.Handle(t.Context(), req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /v1/events: %d %s %v", resp.StatusCode, resp.Body, err)
	}
}

// view is a lead as the API shows it.
func (p *pipeline) view(t *testing.T, email string) leadscore.LeadView {
	t.Helper()
	lead, err := p.store.Lead(t.Context(), leadscore.LeadID(email))
	if err != nil {
		t.Fatalf("lead %s: %v", email, err)
	}
	v, err := p.views.View(t.Context(), lead)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// engagement is a lead's engagement score.
func (p *pipeline) engagement(t *testing.T, email string) float64 {
	t.Helper()
	return p.view(t, email).Score.Engagement
}

// TestEventIDScopeIsTheLeadOnBothPaths: ingestion's in-request dedupe and
// the score function's event records agree that an event_id names one
// event of one lead (docs/api.md "Event"). Sent in one request or in two,
// the same id counts once for the same lead and once for each other lead.
func TestEventIDScopeIsTheLeadOnBothPaths(t *testing.T) {
	p := newPipeline(t)
	pricing := func(email string) string {
		return `{"event_id":"crm-1","type":"page_view","email":"` + email + `","properties":{"url":"/pricing"}}`
	}
	p.postEvents(t, `{"events":[`+pricing("ada@example.com")+`,`+pricing("grace@example.com")+`,`+pricing("ada@example.com")+`]}`)
	p.score(t)
	ada := p.engagement(t, "ada@example.com")
	if ada <= 0 || p.engagement(t, "grace@example.com") != ada {
		t.Fatalf("after one request: ada %v, grace %v; want the same event counted once for each", ada, p.engagement(t, "grace@example.com"))
	}
	p.postEvents(t, `{"events":[`+pricing("ada@example.com")+`,`+pricing("linus@example.com")+`]}`)
	p.score(t)
	if got := p.engagement(t, "ada@example.com"); got != ada {
		t.Errorf("ada's engagement %v after the id was sent again, want %v: counted twice", got, ada)
	}
	if got := p.engagement(t, "linus@example.com"); got != ada {
		t.Errorf("linus's engagement %v, want %v: another lead's event_id must not hide his event", got, ada)
	}
}

// receive takes the messages waiting on a queue (at least one).
func receive(t *testing.T, c *awssqs.Client, queueURL string) []sqstypes.Message {
	t.Helper()
	msgs := waiting(t, c, queueURL)
	if len(msgs) == 0 {
		t.Fatalf("nothing on %s", queueURL)
	}
	return msgs
}

// waiting takes the messages a queue holds now, waiting a second for the
// first.
func waiting(t *testing.T, c *awssqs.Client, queueURL string) []sqstypes.Message {
	t.Helper()
	var msgs []sqstypes.Message
	for i := range 5 {
		wait := int32(0)
		if i == 0 {
			wait = 1
		}
		out, err := c.ReceiveMessage(t.Context(), &awssqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL),
			MaxNumberOfMessages: 10, WaitTimeSeconds: wait, MessageAttributeNames: []string{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, out.Messages...)
		if len(out.Messages) == 0 {
			break
		}
	}
	return msgs
}

// TestPutRulesSampleKeepsTheDemo: publishing events/api-put-rules.json (as
// `make invoke` does) leaves rules under which the README's Try it lead is
// still an instant MQL.
func TestPutRulesSampleKeepsTheDemo(t *testing.T) {
	req := sample[events.APIGatewayV2HTTPRequest](t, "api-put-rules.json")
	r, err := scoring.ParseRules([]byte(req.Body))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 10, 15, 0, 0, time.UTC)
	s := scoring.NewLeadState()
	s.Apply([]scoring.Event{{EventID: "try-it", Type: "demo_request", OccurredAt: now, Email: "ada@acme.example",
		Lead: map[string]any{"first_name": "Ada", "job_title": "VP Marketing", "company": "Acme",
			"company_size": 500.0, "industry": "software", "country": "US"}}}, r)
	if res := s.Evaluate(r, now); res.Stage != scoring.StageMQL || res.Score.Fit != 50 {
		t.Errorf("under the sample rules the README's lead is %s with fit %v; want mql with fit 50 as the README says", res.Stage, res.Score.Fit)
	}
	if got := req.Headers["content-length"]; got != "" && got != strconv.Itoa(len(req.Body)) {
		t.Errorf("content-length %s, body is %d bytes", got, len(req.Body))
	}
}

// TestDeleteSampleSparesTheDemoLeads: events/api-delete-lead.json erases a
// lead no README example, sample event or demo default uses.
func TestDeleteSampleSparesTheDemoLeads(t *testing.T) {
	id := sample[events.APIGatewayV2HTTPRequest](t, "api-delete-lead.json").PathParameters["lead_id"]
	root, err := template.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(root, "events", "*.json"))
	files = append(files, filepath.Join(root, "README.md"), filepath.Join(root, "docs", "api.md"))
	emailRE := regexp.MustCompile(`[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9.-]+\.[a-z]{2,}`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// A line describing the erasure sample may name its target.
		var lines []string
		for _, line := range strings.Split(string(b), "\n") {
			if !strings.Contains(line, "api-delete-lead.json") {
				lines = append(lines, line)
			}
		}
		text := strings.Join(lines, "\n")
		// Form bodies are base64 in the samples.
		for _, enc := range regexp.MustCompile(`"body": "([A-Za-z0-9+/=]{16,})"`).FindAllStringSubmatch(text, -1) {
			if dec, err := base64.StdEncoding.DecodeString(enc[1]); err == nil {
				text += "\n" + string(dec)
			}
		}
		for _, e := range emailRE.FindAllString(text, -1) {
			e = strings.ReplaceAll(e, "%40", "@")
			if filepath.Base(f) != "api-delete-lead.json" && leadscore.LeadID(leadscore.NormalizeEmail(e)) == id {
				t.Errorf("events/api-delete-lead.json erases %s, used in %s", e, filepath.Base(f))
			}
		}
		if filepath.Base(f) != "api-delete-lead.json" && strings.Contains(text, id) {
			t.Errorf("events/api-delete-lead.json erases %s, named in %s", id, filepath.Base(f))
		}
	}
}

// TestEveryLeadEndsOnTheLatestRules: a score container that read the rules
// just before a publish keeps them for its cache's TTL, so a lead first
// scored in that window is written with the previous version. The bulk
// rescore must still reach it: its scan starts only once every such window
// has closed (docs/scoring.md section 5), so no lead stays on an old
// version without new events. Here the score function's TTL is 10 s, and
// the new lead is scored at once, while the publish's rescore is drained as
// eagerly as the queue allows.
func TestEveryLeadEndsOnTheLatestRules(t *testing.T) {
	p := newPipeline(t, func(d *wire.Deps) {
		// The settle covers the TTL and the longest scoring in this test.
		d.RulesTTL, d.RescoreSettle = 10*time.Second, 15*time.Second
	})
	pageView := func(email string) string {
		return `{"type":"page_view","email":"` + email + `","properties":{"url":"/pricing"}}`
	}
	p.postEvents(t, pageView("ada@example.com"))
	p.score(t) // the score function caches version 0
	put := sample[events.APIGatewayV2HTTPRequest](t, "api-put-rules.json")
	resp, err := p.api.Handle(t.Context(), put)
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, `"started":true`) {
		t.Fatalf("PUT /v1/rules: %d %s %v", resp.StatusCode, resp.Body, err)
	}
	p.scoreWaiting(t) // whatever of the rescore is ready now runs now
	p.postEvents(t, pageView("grace@example.com"))
	p.scoreWaiting(t) // grace is first scored with the cached version 0

	for range 60 {
		job, err := p.store.RescoreJob(t.Context(), 1)
		if err != nil {
			t.Fatal(err)
		}
		if job.FinishedAt != nil {
			break
		}
		p.scoreWaiting(t)
	}
	for _, email := range []string{"ada@example.com", "grace@example.com"} {
		if v := p.view(t, email); v.RulesVersion != 1 {
			t.Errorf("%s is on rules version %d after the rescore finished, want 1", email, v.RulesVersion)
		}
	}
}
