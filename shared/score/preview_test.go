package score

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	lsapi "github.com/leadscore/leadscore/shared/api"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// TestPreviewPredictsWhatPublishingDoes is the preview's promise, on 300
// random leads scored by this handler: the dry run (every message
// delivered twice) writes nothing outside its own PREVIEW# items (every
// other item of the table is byte-for-byte what it was), sends nothing to
// the handoff queue and publishes nothing; then publishing the same draft
// moves every lead to exactly the stage the preview predicted, and the
// summary's stage changes are the moves that happened.
func TestPreviewPredictsWhatPublishingDoes(t *testing.T) {
	e := newEnv(t, t0)
	ih := api(e)
	seedRandomLeads(t, e, 300)
	drainHandoffs(t, e)
	before := tableItems(t, e)
	draft := rulesWithEngagementMin(t, 25)

	id := startPreview(t, ih, draft)
	drive(t, e, 2, true)
	if hs := drainHandoffs(t, e); len(hs) != 0 {
		t.Fatalf("the preview sent %d handoffs; want none", len(hs))
	}
	if after := tableItems(t, e); !reflect.DeepEqual(before, after) {
		t.Fatalf("the preview changed %d item(s) outside its own; want none", countChanged(before, after))
	}
	if cur, err := e.store.CurrentRules(t.Context()); err != nil || cur.Version != 0 {
		t.Fatalf("current rules after the preview: version %v (%v); want nothing published", cur, err)
	}
	// The score function kept the summary when the last lead was in, so
	// the API reads it from one item.
	if p, err := e.store.(leadscore.PreviewStore).PreviewJob(t.Context(), id); err != nil || p.Summary == nil {
		t.Fatalf("the finished preview has no kept summary (%v)", err)
	}
	body := getPreview(t, ih, id)
	if body.Status != "done" || body.Summary == nil || body.Leads != 300 || body.Progress.Done != 300 {
		t.Fatalf("preview after the drive: %+v; want done over 300 leads", body)
	}
	outcomes, err := e.store.(leadscore.PreviewStore).PreviewOutcomes(t.Context(), id)
	if err != nil || len(outcomes) != 300 {
		t.Fatalf("%d outcomes (%v), want 300", len(outcomes), err)
	}

	publish(t, ih, draft)
	drive(t, e, 2, false)
	moves := map[string]int{}
	for _, o := range outcomes {
		l, err := e.store.Lead(t.Context(), o.LeadID)
		if err != nil {
			t.Fatal(err)
		}
		if l.State.Stage() != o.After.Stage {
			t.Errorf("lead %s: preview predicted %s, publishing gave %s", o.LeadID, o.After.Stage, l.State.Stage())
		}
		if o.Before.Stage != l.State.Stage() {
			moves[string(o.Before.Stage)+"->"+string(l.State.Stage())]++
		}
	}
	if len(moves) == 0 {
		t.Fatal("publishing the draft moved no lead: the test exercises nothing")
	}
	if !reflect.DeepEqual(moves, body.StageChanges) {
		t.Errorf("the summary's stage changes %v, the moves publishing made %v", body.StageChanges, moves)
	}
	if body.WouldQualifyCount != moves["lead->mql"]+moves["nurture->mql"]+moves["expired->mql"] {
		t.Errorf("would qualify %d, leads moved into mql %v", body.WouldQualifyCount, moves)
	}
}

// seedRandomLeads scores n leads through the handler: a form with random
// fit attributes and a few random engagement events each, over the last
// three weeks.
func seedRandomLeads(t *testing.T, e *env, n int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(30, 11))
	titles := []string{"VP Engineering", "Engineer", "Student", "Marketing Manager", "CTO"}
	sizes := []float64{10, 120, 600, 8000}
	var msgs []leadscore.ScoreMessage
	for i := range n {
		email := fmt.Sprintf("preview%04d@example.com", i)
		form := event(fmt.Sprintf("p%d-form", i), "form_submit", email, "", t0.Add(-time.Duration(1+rng.IntN(500))*time.Hour), nil)
		form.Lead = map[string]any{"job_title": titles[rng.IntN(len(titles))], "company_size": sizes[rng.IntN(len(sizes))], "industry": "software", "country": "US"}
		msgs = append(msgs, evMsg(form))
		for j := range rng.IntN(5) {
			at := t0.Add(-time.Duration(1+rng.IntN(500)) * time.Hour)
			var ev *scoring.Event
			switch rng.IntN(4) {
			case 0:
				ev = event(fmt.Sprintf("p%d-%d", i, j), "page_view", email, "", at, map[string]any{"url": "/pricing"})
			case 1:
				ev = event(fmt.Sprintf("p%d-%d", i, j), "content_download", email, "", at, map[string]any{"funnel_stage": "bottom"})
			case 2:
				ev = event(fmt.Sprintf("p%d-%d", i, j), "page_view", email, "", at, map[string]any{"url": "/blog"})
			default:
				ev = event(fmt.Sprintf("p%d-%d", i, j), "form_submit", email, "", at, nil)
			}
			msgs = append(msgs, evMsg(ev))
		}
	}
	for len(msgs) > 0 {
		k := min(len(msgs), 10)
		if resp, err := e.h.Handle(t.Context(), batch(t, msgs[:k]...)); err != nil || len(resp.BatchItemFailures) > 0 {
			t.Fatalf("seeding: %+v %v", resp, err)
		}
		msgs = msgs[k:]
	}
}

// tableItems is every item of the table but a preview's own, keyed by
// partition and sort key.
func tableItems(t *testing.T, e *env) map[string]map[string]types.AttributeValue {
	t.Helper()
	cfg, err := stack.AWSConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	client := awsddb.NewFromConfig(cfg)
	out := map[string]map[string]types.AttributeValue{}
	var start map[string]types.AttributeValue
	for {
		page, err := client.Scan(t.Context(), &awsddb.ScanInput{TableName: aws.String(stack.TableName), ExclusiveStartKey: start, ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			pk := it["pk"].(*types.AttributeValueMemberS).Value
			if strings.HasPrefix(pk, "PREVIEW#") {
				continue
			}
			out[pk+" "+it["sk"].(*types.AttributeValueMemberS).Value] = it
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out
		}
		start = page.LastEvaluatedKey
	}
}

func countChanged(a, b map[string]map[string]types.AttributeValue) int {
	n := 0
	for k, v := range a {
		if !reflect.DeepEqual(v, b[k]) {
			n++
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			n++
		}
	}
	return n
}

func startPreview(t *testing.T, h *lsapi.Handler, doc string) string {
	t.Helper()
	resp, err := h.Handle(context.Background(), request("POST", "/v1/rules/preview", doc, "application/json"))
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /v1/rules/preview: %d %s %v", resp.StatusCode, resp.Body, err)
	}
	var started lsapi.PreviewStarted
	if err := json.Unmarshal([]byte(resp.Body), &started); err != nil {
		t.Fatal(err)
	}
	return started.PreviewID
}

func getPreview(t *testing.T, h *lsapi.Handler, id string) lsapi.PreviewBody {
	t.Helper()
	resp, err := h.Handle(context.Background(), request("GET", "/v1/rules/preview/"+id, "", ""))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET preview: %d %s %v", resp.StatusCode, resp.Body, err)
	}
	var body lsapi.PreviewBody
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatal(err)
	}
	return body
}

// FuzzParsePreviewMessage: any body is either not a preview message, or a
// checked one (a preview id, and a lead id for a per-lead message), or an
// error; never a panic.
func FuzzParsePreviewMessage(f *testing.F) {
	for _, seed := range []string{
		`{"kind":"preview_page","lead_id":"preview_pv_1","preview_id":"pv_1"}`,
		`{"kind":"preview","lead_id":"ld_0123456789abcdef01234567","preview_id":"pv_1"}`,
		`{"kind":"preview","preview_id":"pv_1"}`,
		`{"kind":"preview_page"}`,
		`{"kind":"rescore_page","rules_version":3}`,
		`{"kind":"event","event":{"type":"preview"}}`,
		`"preview`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, isPreview, err := parsePreviewMessage(body)
		if !isPreview || err != nil {
			return
		}
		if m.id == "" {
			t.Fatalf("%q parsed as a preview message without an id", body)
		}
	})
}
