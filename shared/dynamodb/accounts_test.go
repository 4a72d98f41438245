package dynamodb

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

func member(acct, lead string, at time.Time, engagement float64) leadscore.Member {
	return leadscore.Member{AccountMember: scoring.AccountMember{LeadID: lead, AccountID: acct, Engagement: engagement,
		Stage: scoring.StageLead, At: at}, Email: lead + "@acme.io"}
}

// TestMembersKeepTheNewestSummary: a member item is replaced only by a
// summary at least as new; a summary naming another account removes it;
// an erased lead leaves a tombstone nothing overwrites and Members skips.
func TestMembersKeepTheNewestSummary(t *testing.T) {
	s := newStore(t)
	acct := "acct-members-" + fmt.Sprint(time.Now().UnixNano())
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	put := func(ms ...leadscore.Member) {
		t.Helper()
		if err := s.PutMembers(t.Context(), acct, ms); err != nil {
			t.Fatal(err)
		}
	}
	engagements := func() map[string]float64 {
		t.Helper()
		ms, err := s.Members(t.Context(), acct)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for _, m := range ms {
			out[m.LeadID] = m.Engagement
		}
		return out
	}
	put(member(acct, "ada", t0.Add(time.Minute), 12), member(acct, "bob", t0, 3), member(acct, "cy", t0, 7))
	put(member(acct, "ada", t0, 99)) // older: ignored
	moved := member("other", "bob", t0.Add(time.Minute), 3)
	put(moved, leadscore.ErasedMember("cy"))
	put(member(acct, "cy", t0.Add(time.Hour), 50)) // in flight after the erasure: stays out
	if got := engagements(); len(got) != 1 || got["ada"] != 12 {
		t.Errorf("members %v, want ada alone at 12", got)
	}
}

// TestAccountWriteIsConditionalAndIndexed: the account item is written on
// its version, listed under its stage in the stage index, and kept in the
// due index while its outbox holds a transition.
func TestAccountWriteIsConditionalAndIndexed(t *testing.T) {
	s := newStore(t)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	id := "acct-write-" + fmt.Sprint(time.Now().UnixNano())
	rec, err := s.ReadAccount(t.Context(), id)
	if err != nil || rec.Exists {
		t.Fatalf("a new account: %+v %v", rec, err)
	}
	rec.View = leadscore.AccountView{AccountID: id, Stage: scoring.AccountStageMQA, Score: scoring.Score{Engagement: 1e6 + float64(time.Now().UnixNano()%1000)}}
	tr := scoring.AccountTransition{From: scoring.AccountStageAccount, To: scoring.AccountStageMQA, At: now, RulesVersion: 1}
	rec.Outbox = []leadscore.Handoff{leadscore.NewAccountHandoff(id, tr, rec.View)}
	if err := s.WriteAccount(t.Context(), rec, now); err != nil {
		t.Fatal(err)
	}
	stale, _ := s.ReadAccount(t.Context(), id)
	stale.Version--
	if err := s.WriteAccount(t.Context(), stale, now); !errors.Is(err, leadscore.ErrConflict) {
		t.Errorf("a write at an old version: %v, want ErrConflict", err)
	}
	got, err := s.Account(t.Context(), id)
	if err != nil || got.View.Stage != scoring.AccountStageMQA || len(got.Outbox) != 1 || got.Outbox[0].Type != "account.mqa" {
		t.Fatalf("read back: %+v %v", got, err)
	}
	page, _, err := s.AccountsByStage(t.Context(), scoring.AccountStageMQA, 1, "")
	if err != nil || len(page) != 1 || page[0].ID != id {
		t.Errorf("the most engaged mqa account: %v %v, want %s", page, err, id)
	}
	leads, _, err := s.LeadsByStage(t.Context(), scoring.Stage("mqa"), 10, "")
	if err != nil || len(leads) != 0 {
		t.Errorf("a lead listing of the same stage name shows %d items (%v), want none", len(leads), err)
	}
	if !due(t, s, id, now.Add(leadscore.OutboxResend)) {
		t.Error("an account with an unsent transition is not in the due index")
	}
	if err := s.MarkAccountSent(t.Context(), rec, []string{rec.Outbox[0].TransitionID}, now); err != nil {
		t.Fatal(err)
	}
	if due(t, s, id, now.Add(24*time.Hour)) {
		t.Error("the account stays in the due index after its outbox was sent")
	}
	var v map[string]any
	b, _ := json.Marshal(got.View)
	if json.Unmarshal(b, &v) != nil || v["account_id"] != id {
		t.Errorf("view JSON %s", b)
	}
}

func due(t *testing.T, s *Store, id string, at time.Time) bool {
	t.Helper()
	want := leadscore.DueAccountID(id)
	cursor := ""
	for {
		ids, next, _, err := s.DueLeads(t.Context(), DueShard(id), at, 100, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ids {
			if d == want {
				return true
			}
			if strings.HasPrefix(d, "ACCOUNT#") {
				t.Errorf("due id %q leaks the key format", d)
			}
		}
		if next == "" {
			return false
		}
		cursor = next
	}
}
