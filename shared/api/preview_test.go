package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/mock"
	"github.com/leadscore/leadscore/shared/preview"
	"github.com/leadscore/leadscore/shared/scoring"
)

// softwareMember is a lead's account summary: engagement 60, at a US
// software company (account fit 50 under the default rules).
func softwareMember(leadID, accountID string) *scoring.AccountMember {
	return &scoring.AccountMember{LeadID: leadID, AccountID: accountID, Engagement: 60, Stage: scoring.StageLead, At: testNow,
		Attributes: []scoring.AccountAttribute{
			{Key: "industry", Value: "software", At: testNow, EventID: "e1"},
			{Key: "country", Value: "US", At: testNow, EventID: "e1"}}}
}

// TestPreviewAnswersAccounts: a finished preview's answer has an accounts
// part computed from the leads' summaries under the draft and the accounts
// as stored: three engaged leads make a new account an MQA, and a stored
// MQA whose only lead left it goes back to account. Reading it writes no
// account; the lead lists carry no account summary.
func TestPreviewAnswersAccounts(t *testing.T) {
	accounts := &mock.AccountStore{}
	e := newEnv(t, func(o *Options) { o.Accounts, o.Members = accounts, accounts })
	if e.store == nil {
		t.Skip("needs the emulators: the preview's items live in the table")
	}
	ctx := t.Context()
	rules := scoring.DefaultRules()
	// ac_old is an MQA as stored.
	old := &leadscore.AccountRecord{Account: leadscore.Account{ID: "ac_old"}}
	res := scoring.EvaluateAccount(rules, nil, []scoring.AccountMember{*softwareMember("ld_x", "ac_old"), *softwareMember("ld_y", "ac_old")}, testNow)
	old.State, old.View = res.State, leadscore.AccountView{AccountID: "ac_old", Score: res.Score, EngagedContacts: res.EngagedContacts, Stage: res.Stage, EvaluatedAt: testNow}
	if res.Stage != scoring.AccountStageMQA {
		t.Fatalf("the stored account is %s; want an MQA", res.Stage)
	}
	if err := accounts.WriteAccount(ctx, old, testNow); err != nil {
		t.Fatal(err)
	}
	writes := accounts.Writes()

	id := "pv_" + strings.Repeat("a", 32)
	if err := e.store.StartPreview(ctx, &leadscore.PreviewJob{ID: id, Draft: rules.Document(), Clock: testNow}, testNow); err != nil {
		t.Fatal(err)
	}
	snap := preview.Snapshot{Engagement: 60, Stage: scoring.StageLead}
	var outcomes []preview.Outcome
	for i := range 3 {
		lead := fmt.Sprintf("ld_new%d", i)
		outcomes = append(outcomes, preview.Outcome{LeadID: lead, Before: snap, After: snap, Account: softwareMember(lead, "ac_new")})
	}
	outcomes = append(outcomes, preview.Outcome{LeadID: "ld_x", Before: snap, After: snap, AccountBefore: "ac_old"})
	if ok, err := e.store.AdvancePreview(ctx, id, 0, len(outcomes), "", true, testNow); err != nil || !ok {
		t.Fatalf("advance: %v %v", ok, err)
	}
	if err := e.store.RecordPreview(ctx, id, outcomes, nil, testNow); err != nil {
		t.Fatal(err)
	}

	resp := e.do(t, call("GET", "/v1/rules/preview/"+id, "", "", testKey))
	var body struct {
		Status   string                 `json:"status"`
		Accounts preview.AccountSummary `json:"accounts"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(resp.Body), &body) != nil || body.Status != "done" {
		t.Fatalf("GET the preview: %d %s", resp.StatusCode, resp.Body)
	}
	a := body.Accounts
	if a.Accounts != 2 || !reflect.DeepEqual(a.StageChanges, map[string]int{"account->mqa": 1, "mqa->account": 1}) ||
		a.WouldQualifyCount != 1 || a.WouldUnqualifyCount != 1 || len(a.WouldQualify) != 1 || len(a.WouldUnqualify) != 1 {
		t.Fatalf("accounts %+v; want ac_new qualifying and ac_old unqualifying", a)
	}
	q, u := a.WouldQualify[0], a.WouldUnqualify[0]
	wantQ := preview.AccountOutcome{AccountID: "ac_new",
		Before: preview.AccountSnapshot{Stage: scoring.AccountStageAccount},
		After:  preview.AccountSnapshot{Fit: 50, Engagement: 170, Grade: "C", Stage: scoring.AccountStageMQA, EngagedContacts: 3}}
	if !reflect.DeepEqual(q, wantQ) {
		t.Errorf("would qualify %+v; want %+v", q, wantQ)
	}
	if u.AccountID != "ac_old" || u.Before.Stage != scoring.AccountStageMQA || u.Before.EngagedContacts != 2 ||
		u.After.Stage != scoring.AccountStageAccount || u.After.EngagedContacts != 0 {
		t.Errorf("would unqualify %+v; want ac_old from mqa with 2 engaged contacts to account with none", u)
	}
	// The documented keys, and no account summary in the lead lists.
	for _, k := range []string{`"accounts":{"accounts":2,"stage_changes":{`, `"would_qualify":[{"account_id":"ac_new","before":{"fit":0,"engagement":0,"grade":"","stage":"account","engaged_contacts":0},"after":{`, `"would_unqualify_count":1`} {
		if !strings.Contains(resp.Body, k) {
			t.Errorf("the answer lacks %s: %s", k, resp.Body)
		}
	}
	if strings.Contains(resp.Body, `"account_before"`) || strings.Contains(resp.Body, `"attributes"`) {
		t.Errorf("the answer carries the leads' account summaries: %s", resp.Body)
	}
	if accounts.Writes() != writes {
		t.Errorf("the preview wrote %d account(s); want none", accounts.Writes()-writes)
	}
}
