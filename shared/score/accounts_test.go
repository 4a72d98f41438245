package score

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// accountTestRules: one point per page view, no decay, so a lead's
// engagement is its page views; leads never qualify on their own. An
// account is an MQA with software fit and three engaged people (10 views
// each).
const accountTestRules = `
engagement:
  decay: {none: true}
  rules:
    - {id: view, event: page_view, points: 1}
mql: {fit_min: 1000, engagement_min: 1000}
accounts:
  fit:
    - {id: software, field: industry, match: {eq: software}, points: 30}
  engagement: {per_contact_max: 50, engaged_min: 10, breadth_points: 10, breadth_max: 30}
  mqa: {fit_min: 30, engagement_min: 30, engaged_contacts_min: 3}
`

// withAccounts rebuilds e's handler with account scoring on, after
// publishing doc as the rules.
func withAccounts(t *testing.T, e *env, now time.Time, doc string) {
	t.Helper()
	r, err := scoring.ParseRules([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.PublishRules(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	o := Options{Store: e.store, Rules: e.store, Rescore: e.store, Eraser: e.store, Accounts: e.accounts,
		Now: func() time.Time { return now }}
	if e.scoreQueue != nil {
		o.Handoff, o.Queue = e.handoffQueue, e.scoreQueue
	} else {
		o.Handoff, o.Queue = e.queue, e.queue
	}
	e.h = newHandler(t, o)
}

// views sends n page views of email, from event id prefix p, with the lead
// object saying the company is in software.
func views(email, p string, n int, at time.Time) []leadscore.ScoreMessage {
	var msgs []leadscore.ScoreMessage
	for i := range n {
		e := event(p+strconv.Itoa(i), "page_view", email, "", at.Add(time.Duration(i)*time.Second), nil)
		e.Lead = map[string]any{"industry": "software"}
		msgs = append(msgs, evMsg(e))
	}
	return msgs
}

func handle(t *testing.T, e *env, msgs ...leadscore.ScoreMessage) {
	t.Helper()
	resp, err := e.h.Handle(t.Context(), batch(t, msgs...))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("batch of %d: %v, failures %v", len(msgs), err, resp.BatchItemFailures)
	}
}

// takeScoreMessages removes and returns what the handler put on the score
// queue (account messages, here).
func takeScoreMessages(t *testing.T, e *env) []leadscore.ScoreMessage {
	t.Helper()
	if e.scoreQueue != nil {
		return e.scoreQueue.Take()
	}
	var out []leadscore.ScoreMessage
	for empty := 0; empty < 2; {
		res, err := e.sqs.ReceiveMessage(t.Context(), &awssqs.ReceiveMessageInput{
			QueueUrl: aws.String(stack.ScoreQueueURL), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Messages) == 0 {
			empty++
			continue
		}
		var del []sqstypes.DeleteMessageBatchRequestEntry
		for i, m := range res.Messages {
			msg, err := ParseMessage([]byte(aws.ToString(m.Body)))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, msg)
			del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
		if _, err := e.sqs.DeleteMessageBatch(t.Context(), &awssqs.DeleteMessageBatchInput{
			QueueUrl: aws.String(stack.ScoreQueueURL), Entries: del}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// settleAccounts delivers the account messages the leads' batches sent,
// each several times: twice in one batch, again in a later batch, and by
// two workers at once, as SQS may. It returns how many messages it took.
func settleAccounts(t *testing.T, e *env) int {
	t.Helper()
	msgs := takeScoreMessages(t, e)
	for _, m := range msgs {
		if m.Kind != leadscore.KindAccount {
			t.Fatalf("the leads' batches sent a %s message, want only account messages", m.Kind)
		}
	}
	if len(msgs) == 0 {
		return 0
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			resp, err := e.h.Handle(context.Background(), batch(t, append(msgs, msgs...)...))
			if err != nil || len(resp.BatchItemFailures) != 0 {
				t.Errorf("account batch: %v, failures %v", err, resp.BatchItemFailures)
			}
		})
	}
	wg.Wait()
	handle(t, e, msgs...)
	if again := takeScoreMessages(t, e); len(again) != 0 {
		t.Fatalf("account messages sent %d more score messages, want none", len(again))
	}
	return len(msgs)
}

// account reads account id and computes its view as the API does: the
// stored summary, with the per-lead lists from the member items.
func account(t *testing.T, e *env, id string) *leadscore.Account {
	t.Helper()
	a, err := e.accounts.Account(t.Context(), id)
	if err != nil {
		t.Fatalf("account %s: %v", id, err)
	}
	members, err := e.accounts.AccountMembers(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := leadscore.NewRulesCache(e.store).Version(t.Context(), a.View.RulesVersion)
	if err != nil {
		t.Fatal(err)
	}
	stored := a.View
	a.View = leadscore.AccountViewOf(a, members, rules)
	if a.View.Score != stored.Score || a.View.EngagedContacts != stored.EngagedContacts || a.View.LeadCount != stored.LeadCount {
		t.Errorf("account %s: stored %+v, %d engaged of %d; computed from its members %+v, %d of %d", id,
			stored.Score, stored.EngagedContacts, stored.LeadCount, a.View.Score, a.View.EngagedContacts, a.View.LeadCount)
	}
	if stored.Leads != nil || stored.Breakdown.Leads != nil {
		t.Errorf("account %s: the stored view lists leads (%d): the item must stay small", id, len(stored.Leads))
	}
	return a
}

func accountHandoffs(t *testing.T, e *env) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, h := range drainHandoffs(t, e) {
		if h.Account == nil {
			t.Errorf("handoff %s %s has no account", h.Type, h.TransitionID)
			continue
		}
		n[h.Type]++
	}
	return n
}

// TestAccountMQAWhenTheThirdLeadIsEngaged: three people at one company;
// the account is an MQA only when the third becomes engaged, and the
// account.mqa handoff is sent once although every account message is
// delivered four times, two of them by concurrent workers.
func TestAccountMQAWhenTheThirdLeadIsEngaged(t *testing.T) {
	eachBackend(t, t0, func(t *testing.T, e *env) {
		withAccounts(t, e, t0, accountTestRules)
		id := scoring.AccountIDForDomain("acme.io")
		handle(t, e, append(views("ada@acme.io", "a", 10, t0.Add(-time.Hour)), views("bob@acme.io", "b", 10, t0.Add(-time.Hour))...)...)
		handle(t, e, views("cy@acme.io", "c", 5, t0.Add(-time.Hour))...)
		if n := settleAccounts(t, e); n != 2 {
			t.Errorf("two lead batches of one account sent %d account messages, want one per batch: 2", n)
		}
		a := account(t, e, id)
		if a.View.Stage != scoring.AccountStageAccount || a.View.EngagedContacts != 2 || a.View.Score.Engagement != 35 || a.View.Score.Fit != 30 {
			t.Fatalf("with two engaged: stage %s, engaged %d, score %+v; want account, 2, engagement 10+10+5+10 = 35, fit 30",
				a.View.Stage, a.View.EngagedContacts, a.View.Score)
		}
		if got := accountHandoffs(t, e); len(got) != 0 {
			t.Fatalf("handoffs before the third is engaged: %v", got)
		}

		handle(t, e, views("cy@acme.io", "c2-", 5, t0.Add(-time.Minute))...)
		settleAccounts(t, e)
		a = account(t, e, id)
		if a.View.Stage != scoring.AccountStageMQA || a.View.EngagedContacts != 3 || a.View.Score.Engagement != 50 {
			t.Fatalf("with three engaged: stage %s, engaged %d, engagement %v; want mqa, 3, 10+10+10+20 = 50",
				a.View.Stage, a.View.EngagedContacts, a.View.Score.Engagement)
		}
		if a.View.LeadCount != 3 || len(a.View.Leads) != 3 || a.View.Leads[0].Email == "" || a.View.Domain != "acme.io" {
			t.Errorf("view lists %d of %d leads (%+v), domain %q; want 3 with emails, acme.io", len(a.View.Leads), a.View.LeadCount, a.View.Leads, a.View.Domain)
		}
		if got := accountHandoffs(t, e); got["account.mqa"] != 1 || len(got) != 1 {
			t.Errorf("handoffs %v, want exactly one account.mqa", got)
		}
		page, _, err := e.accounts.AccountsByStage(t.Context(), scoring.AccountStageMQA, 10, "")
		if err != nil || len(page) != 1 || page[0].ID != id {
			t.Errorf("accounts in mqa: %v %v, want %s", page, err, id)
		}
	})
}

// TestLeadMovingAccountsLeavesTheOldOne: a lead whose events name another
// account_id is counted there and no longer in its domain's account.
func TestLeadMovingAccountsLeavesTheOldOne(t *testing.T) {
	eachBackend(t, t0, func(t *testing.T, e *env) {
		withAccounts(t, e, t0, accountTestRules)
		acme := scoring.AccountIDForDomain("acme.io")
		handle(t, e, append(views("ada@acme.io", "a", 10, t0.Add(-time.Hour)), views("bob@acme.io", "b", 4, t0.Add(-time.Hour))...)...)
		settleAccounts(t, e)
		if a := account(t, e, acme); a.View.LeadCount != 2 || a.View.Score.Engagement != 14 {
			t.Fatalf("acme before the move: %d leads, engagement %v; want 2, 14", a.View.LeadCount, a.View.Score.Engagement)
		}
		move := event("move", "page_view", "ada@acme.io", "", t0.Add(-time.Minute), nil)
		move.AccountID = "sf-0012345"
		handle(t, e, evMsg(move))
		settleAccounts(t, e)
		if a := account(t, e, acme); a.View.LeadCount != 1 || a.View.Score.Engagement != 4 || a.View.Leads[0].Email != "bob@acme.io" {
			t.Errorf("acme after ada moved: %d leads %+v, engagement %v; want bob alone, 4", a.View.LeadCount, a.View.Leads, a.View.Score.Engagement)
		}
		if a := account(t, e, "sf-0012345"); a.View.LeadCount != 1 || a.View.Score.Engagement != 11 || a.View.Leads[0].Email != "ada@acme.io" {
			t.Errorf("the new account: %d leads %+v, engagement %v; want ada alone, 11", a.View.LeadCount, a.View.Leads, a.View.Score.Engagement)
		}
		lead, err := e.store.Lead(t.Context(), leadscore.LeadID("ada@acme.io"))
		if err != nil {
			t.Fatal(err)
		}
		if v := viewOf(t, e.store, lead); v.AccountID != "sf-0012345" {
			t.Errorf("the lead view's account_id is %q, want sf-0012345", v.AccountID)
		}
	})
}

// TestErasedLeadLeavesItsAccount: the erasure's account message removes the
// lead from the account's members, breakdown and scores, and a summary of
// the lead still in flight does not bring it back.
func TestErasedLeadLeavesItsAccount(t *testing.T) {
	eachBackend(t, t0, func(t *testing.T, e *env) {
		withAccounts(t, e, t0, accountTestRules)
		id := scoring.AccountIDForDomain("acme.io")
		handle(t, e, append(views("ada@acme.io", "a", 10, t0.Add(-time.Hour)), views("bob@acme.io", "b", 4, t0.Add(-time.Hour))...)...)
		inFlight := takeScoreMessages(t, e)
		handle(t, e, inFlight...)
		ada := leadscore.LeadID("ada@acme.io")
		erase := leadscore.ScoreMessage{Kind: leadscore.KindAccount, AccountID: id, Now: t0,
			Members: []leadscore.Member{leadscore.ErasedMember(ada)}}
		handle(t, e, erase)
		handle(t, e, inFlight...) // a late redelivery of ada's summary
		a := account(t, e, id)
		if a.View.LeadCount != 1 || a.View.Score.Engagement != 4 {
			t.Fatalf("after erasing ada: %d leads, engagement %v; want bob alone, 4", a.View.LeadCount, a.View.Score.Engagement)
		}
		for _, l := range a.View.Breakdown.Leads {
			if l.LeadID == ada {
				t.Errorf("the erased lead is still in the breakdown: %+v", l)
			}
		}
	})
}

// TestUnsentAccountTransitionIsResent: when the handoff queue refuses the
// account.mqa, it stays in the account's outbox, and the sweep's account
// message (no members) sends it, once.
func TestUnsentAccountTransitionIsResent(t *testing.T) {
	e := newMockEnv(t, t0)
	withAccounts(t, e, t0, accountTestRules)
	e.handoffQueue.Refuse = func(h leadscore.Handoff) bool { return h.Account != nil }
	id := scoring.AccountIDForDomain("acme.io")
	handle(t, e, append(append(views("ada@acme.io", "a", 10, t0.Add(-time.Hour)), views("bob@acme.io", "b", 10, t0.Add(-time.Hour))...),
		views("cy@acme.io", "c", 10, t0.Add(-time.Hour))...)...)
	settleAccounts(t, e)
	rec, err := e.accounts.ReadAccount(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if rec.View.Stage != scoring.AccountStageMQA || len(rec.Outbox) != 1 || rec.IndexDueAt.IsZero() {
		t.Fatalf("after a refused send: stage %s, outbox %v, due %v; want mqa, the mqa transition, in the due index", rec.View.Stage, rec.Outbox, rec.IndexDueAt)
	}
	if got := accountHandoffs(t, e); len(got) != 0 {
		t.Fatalf("handoffs %v while the queue refuses", got)
	}
	e.handoffQueue.Refuse = nil
	sweep := leadscore.ScoreMessage{Kind: leadscore.KindAccount, AccountID: id, Now: t0.Add(5 * time.Minute)}
	handle(t, e, sweep)
	if got := accountHandoffs(t, e); got["account.mqa"] != 1 || len(got) != 1 {
		t.Errorf("after the sweep's message: handoffs %v, want one account.mqa", got)
	}
	handle(t, e, sweep)
	if got := accountHandoffs(t, e); len(got) != 0 {
		t.Errorf("a second sweep message sent %v again, want nothing (the outbox is empty)", got)
	}
}

// TestRescoreReevaluatesTheAccount: publishing rules and rescoring the
// leads scores their account with the new rules, though no lead's
// engagement, stage or attributes changed.
func TestRescoreReevaluatesTheAccount(t *testing.T) {
	eachBackend(t, t0, func(t *testing.T, e *env) {
		withAccounts(t, e, t0, accountTestRules)
		id := scoring.AccountIDForDomain("acme.io")
		handle(t, e, append(views("ada@acme.io", "a", 10, t0.Add(-time.Hour)), views("bob@acme.io", "b", 10, t0.Add(-time.Hour))...)...)
		settleAccounts(t, e)
		if a := account(t, e, id); a.View.Score.Fit != 30 {
			t.Fatalf("fit %v before the new rules, want 30", a.View.Score.Fit)
		}
		v := rescoreWith(t, e, strings.Replace(accountTestRules, "points: 30}", "points: 5}", 1), "ada@acme.io", "bob@acme.io")
		if n := settleAccounts(t, e); n != 1 {
			t.Errorf("the rescore batch sent %d account messages, want 1", n)
		}
		if a := account(t, e, id); a.View.Score.Fit != 5 || a.View.RulesVersion != v {
			t.Errorf("after the rescore: fit %v, rules version %d; want 5, %d", a.View.Score.Fit, a.View.RulesVersion, v)
		}
	})
}

// TestRescoreThatExcludesTheDomainEmptiesTheAccount: new rules that put a
// company's domain on accounts.exclude_domains take its people out of its
// account. The account they leave is named by the rules they were scored
// with, not the new ones (under which they belong to no account at all).
func TestRescoreThatExcludesTheDomainEmptiesTheAccount(t *testing.T) {
	eachBackend(t, t0, func(t *testing.T, e *env) {
		withAccounts(t, e, t0, accountTestRules)
		id := scoring.AccountIDForDomain("acme.io")
		handle(t, e, append(views("ada@acme.io", "a", 10, t0.Add(-time.Hour)), views("bob@acme.io", "b", 10, t0.Add(-time.Hour))...)...)
		settleAccounts(t, e)
		if a := account(t, e, id); a.View.LeadCount != 2 {
			t.Fatalf("%d leads before the new rules, want 2", a.View.LeadCount)
		}
		doc := accountTestRules + "  exclude_domains: company_blocklist\nlists:\n  company_blocklist: [acme.io]\n"
		rescoreWith(t, e, doc, "ada@acme.io", "bob@acme.io")
		settleAccounts(t, e)
		a := account(t, e, id)
		if a.View.LeadCount != 0 || a.View.Score.Engagement != 0 {
			t.Errorf("after excluding its domain the account shows %d leads, engagement %v; want none", a.View.LeadCount, a.View.Score.Engagement)
		}
	})
}

// rescoreWith publishes the rules document doc and rescores the leads of
// emails under it in one batch, as the bulk rescore would; it returns the
// new version.
func rescoreWith(t *testing.T, e *env, doc string, emails ...string) int {
	t.Helper()
	r, err := scoring.ParseRules([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.store.PublishRules(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []leadscore.ScoreMessage
	for _, email := range emails {
		msgs = append(msgs, leadscore.ScoreMessage{Kind: leadscore.KindRescore, LeadID: leadscore.LeadID(email), RulesVersion: v})
	}
	handle(t, e, msgs...)
	return v
}

// TestMemberChangeTellsTheAccountWhatMovesIt: a summary is passed on when
// membership, engagement, stage or an attribute changed, or when asked to
// (a redelivery, new rules), and never for a lead in no account.
func TestMemberChangeTellsTheAccountWhatMovesIt(t *testing.T) {
	m := func(acct string, e float64, stage scoring.Stage, attrs ...scoring.AccountAttribute) leadscore.Member {
		return leadscore.Member{AccountMember: scoring.AccountMember{LeadID: "ld_1", AccountID: acct, Engagement: e, Stage: stage, Attributes: attrs}}
	}
	size := func(v float64) scoring.AccountAttribute {
		return scoring.AccountAttribute{Key: "company_size", Value: v, At: t0, EventID: "e"}
	}
	cases := []struct {
		name string
		c    memberChange
		want bool
	}{
		{"nothing moved", memberChange{prev: m("a", 5, "lead", size(10)), next: m("a", 5, "lead", size(10))}, false},
		{"engagement", memberChange{prev: m("a", 5, "lead"), next: m("a", 6, "lead")}, true},
		{"stage", memberChange{prev: m("a", 5, "lead"), next: m("a", 5, "mql")}, true},
		{"attribute value", memberChange{prev: m("a", 5, "lead", size(10)), next: m("a", 5, "lead", size(20))}, true},
		{"new attribute", memberChange{prev: m("a", 5, "lead"), next: m("a", 5, "lead", size(20))}, true},
		{"moved", memberChange{prev: m("a", 5, "lead"), next: m("b", 5, "lead")}, true},
		{"joined", memberChange{prev: m("", 5, "lead"), next: m("a", 5, "lead")}, true},
		{"left", memberChange{prev: m("a", 5, "lead"), next: m("", 5, "lead")}, true},
		{"in no account", memberChange{prev: m("", 5, "lead"), next: m("", 9, "mql")}, false},
		{"asked to, unchanged", memberChange{prev: m("a", 5, "lead"), next: m("a", 5, "lead"), resend: true}, true},
		{"asked to, left every account", memberChange{prev: m("a", 5, "lead"), next: m("", 5, "lead"), resend: true}, true},
		{"asked to, in no account", memberChange{next: m("", 5, "lead"), resend: true}, false},
	}
	for _, c := range cases {
		if got := c.c.changed(); got != c.want {
			t.Errorf("%s: changed() = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestLostAccountMessageIsSentAgainOnRedelivery: when the account message
// cannot be sent, the lead messages behind it fail; their redelivery
// applies nothing new but passes the summary on again, so the account
// still hears of the change.
func TestLostAccountMessageIsSentAgainOnRedelivery(t *testing.T) {
	e := newMockEnv(t, t0)
	withAccounts(t, e, t0, accountTestRules)
	e.scoreQueue.Refuse = func(m leadscore.ScoreMessage) bool { return m.Kind == leadscore.KindAccount }
	msgs := views("ada@acme.io", "a", 3, t0.Add(-time.Hour))
	ev := batch(t, msgs...)
	resp, err := e.h.Handle(t.Context(), ev)
	if err != nil || len(resp.BatchItemFailures) != len(msgs) {
		t.Fatalf("with the account message refused: %v, %d failures; want every lead message failed (%d)", err, len(resp.BatchItemFailures), len(msgs))
	}
	e.scoreQueue.Refuse = nil
	if resp, err := e.h.Handle(t.Context(), ev); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("the redelivery: %v %v", err, resp.BatchItemFailures)
	}
	if n := settleAccounts(t, e); n != 1 {
		t.Fatalf("the redelivery sent %d account messages, want 1", n)
	}
	if a := account(t, e, scoring.AccountIDForDomain("acme.io")); a.View.Score.Engagement != 3 || a.View.LeadCount != 1 {
		t.Errorf("account after the redelivery: engagement %v, %d leads; want 3, 1", a.View.Score.Engagement, a.View.LeadCount)
	}
}
