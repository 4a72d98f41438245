package score

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	lsapi "github.com/leadscore/leadscore/shared/api"
	"github.com/leadscore/leadscore/shared/dynamodb"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/preview"
	"github.com/leadscore/leadscore/shared/scoring"
)

// TestPreviewPredictsWhatPublishingDoes is the preview's promise, on 300
// random leads of some 40 accounts (several leads per company domain, some
// on free mail, some naming their account explicitly) scored by this
// handler with account scoring on: the dry run (every message delivered
// twice) writes nothing outside its own PREVIEW# items (every other item
// of the table, account items included, is byte-for-byte what it was),
// handles no message but its own, sends nothing to the handoff queue and
// publishes nothing; then publishing the same draft moves every lead to
// exactly the stage the preview predicted, the summary's stage changes are
// the moves that happened, and, once the rescore's account evaluations are
// drained, the accounts' stage changes are the ones predicted.
//
// The draft lowers the MQL and MQA engagement bars (leads and accounts
// qualify), shortens the expiry (the leads of dormant MQAs expire, and
// their accounts go back to account) and excludes two company domains
// from accounts (their people leave their accounts).
func TestPreviewPredictsWhatPublishingDoes(t *testing.T) {
	e := newEnv(t, t0)
	withAccountScoring(t, e)
	ih := api(e)
	seedRandomLeads(t, e, 300)
	drive(t, e, 2, false) // the seeds' account messages
	drainHandoffs(t, e)
	before := tableItems(t, e)
	draft := draftDocument(t, map[string]map[string]any{
		"mql": {"engagement_min": 25.0}, "expiry": {"after_days_inactive": 10.0}, "accounts.mqa": {"engagement_min": 30.0, "fit_min": 60.0, "engaged_contacts_min": 1.0},
		"accounts": {"exclude_domains": "preview_excluded"}})
	draft = withList(t, draft, "preview_excluded", "gmail.com", "co01.example", "co02.example")

	id := startPreview(t, ih, draft)
	var mu sync.Mutex
	kinds := map[string]int{}
	e.received = func(body string) {
		var m leadscore.ScoreMessage
		_ = json.Unmarshal([]byte(body), &m)
		mu.Lock()
		kinds[m.Kind]++
		mu.Unlock()
	}
	drive(t, e, 2, true)
	e.received = nil
	if len(kinds) != 2 || kinds[leadscore.KindPreview] == 0 || kinds[leadscore.KindPreviewPage] == 0 {
		t.Fatalf("the preview's drive handled messages of kinds %v; want preview and preview_page only", kinds)
	}
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
	if body.Status != "done" || body.Summary == nil || body.Leads != 300 || body.Progress.Done != 300 || body.Accounts == nil {
		t.Fatalf("preview after the drive: %+v; want done over 300 leads, with accounts", body)
	}
	outcomes, err := e.store.(leadscore.PreviewStore).PreviewOutcomes(t.Context(), id)
	if err != nil || len(outcomes) != 300 {
		t.Fatalf("%d outcomes (%v), want 300", len(outcomes), err)
	}
	accountIDs := preview.AccountIDs(outcomes)
	if body.Accounts.Accounts != len(accountIDs) {
		t.Errorf("the preview evaluated %d accounts; the leads name %d", body.Accounts.Accounts, len(accountIDs))
	}
	stagesBefore := accountStages(t, e, accountIDs)

	publish(t, ih, draft)
	drive(t, e, 2, false) // the rescore, then the account messages it sends
	checkLeadsAsPredicted(t, e, body, outcomes)
	checkAccountsAsPredicted(t, e, body.Accounts, stagesBefore, accountStages(t, e, accountIDs))
}

// withAccountScoring rebuilds e's handler (newEnv's) with account scoring
// on, the default rules (their accounts section) still current.
func withAccountScoring(t *testing.T, e *env) {
	t.Helper()
	e.h = newHandler(t, Options{Store: e.store, Rules: e.store, Handoff: e.queue, Rescore: e.store, Queue: e.queue, Eraser: e.store,
		Reports: e.store, Accounts: e.accounts, Usage: dynamodb.MeterInvocation, Now: func() time.Time { return t0 }})
}

// draftDocument is the default document with some values changed: set
// maps a section ("accounts.mqa" for a nested one) to its new keys.
func draftDocument(t *testing.T, set map[string]map[string]any) string {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(scoring.DefaultRules().Document(), &doc); err != nil {
		t.Fatal(err)
	}
	for path, values := range set {
		section := doc
		for _, k := range strings.Split(path, ".") {
			next, ok := section[k].(map[string]any)
			if !ok {
				t.Fatalf("the default rules have no section %s", path)
			}
			section = next
		}
		maps.Copy(section, values)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// withList adds the named list to the rules document doc.
func withList(t *testing.T, doc, name string, values ...string) string {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		t.Fatal(err)
	}
	lists, _ := d["lists"].(map[string]any)
	if lists == nil {
		lists = map[string]any{}
	}
	lists[name] = values
	d["lists"] = lists
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkLeadsAsPredicted: every lead is at the stage the preview predicted,
// and the summary's stage changes are the moves publishing made.
func checkLeadsAsPredicted(t *testing.T, e *env, body lsapi.PreviewBody, outcomes []preview.Outcome) {
	t.Helper()
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

// storedStage is an account's stage and numbers as the table holds it;
// an account not stored is a new one.
type storedStage struct {
	stage      scoring.AccountStage
	engagement float64
	engaged    int
}

// accountStages reads the accounts as the API does.
func accountStages(t *testing.T, e *env, ids []string) map[string]storedStage {
	t.Helper()
	out := map[string]storedStage{}
	for _, id := range ids {
		a, err := e.accounts.(leadscore.AccountReader).Account(t.Context(), id)
		switch {
		case errors.Is(err, leadscore.ErrNotFound):
			out[id] = storedStage{stage: scoring.AccountStageAccount}
		case err != nil:
			t.Fatal(err)
		default:
			out[id] = storedStage{a.State.Stage(), a.View.Score.Engagement, a.View.EngagedContacts}
		}
	}
	return out
}

// checkAccountsAsPredicted: the accounts' moves from before to after
// publishing are the predicted stage changes, with some into mqa and some
// out of it; each listed account is where the preview said, with the
// engagement and engaged contacts it said.
func checkAccountsAsPredicted(t *testing.T, e *env, predicted *preview.AccountSummary, before, after map[string]storedStage) {
	t.Helper()
	moves := map[string]int{}
	for id, b := range before {
		if a := after[id]; a.stage != b.stage {
			moves[string(b.stage)+"->"+string(a.stage)]++
		}
	}
	if moves["account->mqa"] == 0 || moves["mqa->account"] == 0 {
		t.Fatalf("publishing moved accounts %v; want some into mqa and some out: the test exercises too little", moves)
	}
	if !reflect.DeepEqual(moves, predicted.StageChanges) {
		t.Errorf("the preview's account stage changes %v, the moves publishing made %v", predicted.StageChanges, moves)
	}
	if predicted.WouldQualifyCount != moves["account->mqa"]+moves["account->opportunity"]+moves["account->customer"] ||
		predicted.WouldUnqualifyCount != moves["mqa->account"]+moves["opportunity->account"]+moves["customer->account"] {
		t.Errorf("would qualify %d, unqualify %d; the moves %v", predicted.WouldQualifyCount, predicted.WouldUnqualifyCount, moves)
	}
	for _, o := range append(slices.Clone(predicted.WouldQualify), predicted.WouldUnqualify...) {
		a := after[o.AccountID]
		if a.stage != o.After.Stage || a.engagement != o.After.Engagement || a.engaged != o.After.EngagedContacts {
			t.Errorf("account %s: preview predicted %+v, publishing gave %+v", o.AccountID, o.After, a)
		}
		if b := before[o.AccountID]; b.stage != o.Before.Stage {
			t.Errorf("account %s: preview's before %+v, stored %+v", o.AccountID, o.Before, b)
		}
	}
}

// seedRandomLeads scores n leads through the handler: a form with random
// fit attributes and a few random engagement events each, over the last
// three weeks. A lead is at one of 30 company domains, on free mail, or
// (its form says) in one of 5 named accounts; a tenth are at 4 dormant
// companies: busy, but not for the last two weeks.
func seedRandomLeads(t *testing.T, e *env, n int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(30, 11))
	titles := []string{"VP Engineering", "Engineer", "Student", "Marketing Manager", "CTO"}
	sizes := []float64{10, 120, 600, 8000}
	var msgs []leadscore.ScoreMessage
	for i := range n {
		email, accountID, hours := fmt.Sprintf("preview%04d@co%02d.example", i, rng.IntN(30)), "", 500
		switch r := rng.IntN(10); {
		case r < 2:
			email = fmt.Sprintf("preview%04d@gmail.com", i)
		case r < 3:
			accountID = fmt.Sprintf("acct_named_%d", rng.IntN(5))
		case r < 4:
			email, hours = fmt.Sprintf("preview%04d@dormant%d.example", i, rng.IntN(4)), 0
		}
		// A dormant company's events are all 15 to 20 days old.
		at := func() time.Time {
			if hours == 0 {
				return t0.Add(-time.Duration(15*24+rng.IntN(5*24)) * time.Hour)
			}
			return t0.Add(-time.Duration(1+rng.IntN(hours)) * time.Hour)
		}
		form := event(fmt.Sprintf("p%d-form", i), "form_submit", email, "", at(), nil)
		form.AccountID = accountID
		form.Lead = map[string]any{"job_title": titles[rng.IntN(len(titles))], "company_size": sizes[rng.IntN(len(sizes))], "industry": "software", "country": "US"}
		msgs = append(msgs, evMsg(form))
		extra := rng.IntN(5)
		if hours == 0 {
			extra = 4 + rng.IntN(4)
		}
		for j := range extra {
			var ev *scoring.Event
			switch rng.IntN(4) {
			case 0:
				ev = event(fmt.Sprintf("p%d-%d", i, j), "page_view", email, "", at(), map[string]any{"url": "/pricing"})
			case 1:
				ev = event(fmt.Sprintf("p%d-%d", i, j), "content_download", email, "", at(), map[string]any{"funnel_stage": "bottom"})
			case 2:
				ev = event(fmt.Sprintf("p%d-%d", i, j), "page_view", email, "", at(), map[string]any{"url": "/blog"})
			default:
				ev = event(fmt.Sprintf("p%d-%d", i, j), "form_submit", email, "", at(), nil)
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
