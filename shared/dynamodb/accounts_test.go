package dynamodb

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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

// TestMembersKeepTheNewestSummary: a member's entry is replaced only by a
// summary at least as new; a summary naming another account removes it;
// an erased lead leaves a marker nothing overwrites and AccountMembers
// skips; and the page keeps no email of a lead that left or was erased.
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
		ms, err := s.AccountMembers(t.Context(), acct)
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
	rec, err := s.ReadAccount(t.Context(), acct)
	if err != nil {
		t.Fatal(err)
	}
	for _, pg := range rec.Members.Pages {
		for _, lead := range []string{"bob", "cy"} {
			if m := pg.Members[lead]; m.Email != "" || len(m.Attributes) > 0 {
				t.Errorf("the page keeps %s's summary after it left or was erased: %+v", lead, m)
			}
		}
	}
}

// TestMemberPagesGrowAndStayBounded: an account of 10,000 leads spreads
// over pages of at most MaxPageMembers, every member read back once, and
// no page item near DynamoDB's 400 KB limit.
func TestMemberPagesGrowAndStayBounded(t *testing.T) {
	s := newStore(t)
	acct := "acct-big-" + fmt.Sprint(time.Now().UnixNano())
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	const n = 10000
	var ms []leadscore.Member
	for i := range n {
		m := member(acct, fmt.Sprintf("lead-%05d", i), t0, float64(i%60))
		m.Domain = "acme.io"
		m.Attributes = []scoring.AccountAttribute{{Key: "industry", Value: "software", At: t0, EventID: fmt.Sprintf("ev-%d", i)}}
		ms = append(ms, m)
	}
	for chunk := range slices.Chunk(ms, 2500) {
		if err := s.PutMembers(t.Context(), acct, chunk); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.AccountMembers(t.Context(), acct)
	if err != nil || len(got) != n {
		t.Fatalf("read back %d members (%v), want %d", len(got), err, n)
	}
	rec, err := s.ReadAccount(t.Context(), acct)
	if err != nil {
		t.Fatal(err)
	}
	largest := 0
	for i, pg := range rec.Members.Pages {
		if len(pg.Members) > leadscore.MaxPageMembers {
			t.Errorf("page %d holds %d members, over %d", i, len(pg.Members), leadscore.MaxPageMembers)
		}
		body, err := encodePage(pg.Members)
		if err != nil {
			t.Fatal(err)
		}
		largest = max(largest, len(body))
	}
	if largest > 64<<10 {
		t.Errorf("the largest page is %d bytes; pages must stay far under DynamoDB's 400 KB", largest)
	}
	t.Logf("%d members on %d pages; the largest page is %d bytes", n, len(rec.Members.Pages), largest)
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
