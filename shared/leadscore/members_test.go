package leadscore

import (
	"fmt"
	"testing"
	"time"

	"github.com/leadscore/leadscore/shared/scoring"
)

func summary(acct, lead string, at time.Time, engagement float64) Member {
	return Member{AccountMember: scoring.AccountMember{LeadID: lead, AccountID: acct, Domain: "acme.io", Engagement: engagement,
		Stage: scoring.StageLead, At: at, Attributes: []scoring.AccountAttribute{{Key: "industry", Value: "software", At: at, EventID: "e1"}}},
		Email: lead + "@acme.io"}
}

// TestMergeKeepsTheNewestAndMarksWhoLeft: the newest summary of a lead
// wins; a summary naming another account leaves a marker with nothing of
// the person that an older summary cannot undo; an erasure's marker
// nothing can undo; an unchanged summary changes no page.
func TestMergeKeepsTheNewestAndMarksWhoLeft(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	var p MemberPages
	for _, c := range []struct {
		m       Member
		changed bool
	}{
		{summary("acme", "ada", t0.Add(time.Minute), 12), true},
		{summary("acme", "ada", t0, 99), false}, // older
		{summary("acme", "ada", t0.Add(time.Minute), 12), false},
		{summary("acme", "bob", t0, 3), true},
		{summary("other", "bob", t0.Add(time.Hour), 3), true}, // moved
		{summary("acme", "bob", t0.Add(time.Minute), 3), false},
		{summary("acme", "cy", t0, 7), true},
		{ErasedMember("cy"), true},
		{summary("acme", "cy", t0.Add(24*time.Hour), 50), false},
	} {
		if got := p.Merge("acme", c.m); got != c.changed {
			t.Errorf("merge %s at %s (account %s): changed %v, want %v", c.m.LeadID, c.m.At, c.m.AccountID, got, c.changed)
		}
	}
	cur := p.Current("acme")
	if len(cur) != 1 || cur[0].LeadID != "ada" || cur[0].Engagement != 12 {
		t.Fatalf("members %+v, want ada alone at 12", cur)
	}
	for _, lead := range []string{"bob", "cy"} {
		_, m, ok := p.find(lead)
		if !ok || m.Email != "" || m.Domain != "" || len(m.Attributes) > 0 {
			t.Errorf("%s's marker %+v (found %v) keeps something of the person", lead, m, ok)
		}
	}
}

// TestPagesGrowAndEveryoneIsPlaced: past MaxPageMembers on a page the pages
// double, every entry lands on its page, and none is lost; a page read
// back with an entry on the wrong page (a growth written halfway) is put
// right, the newer copy kept.
func TestPagesGrowAndEveryoneIsPlaced(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	var p MemberPages
	const n = 1000
	for i := range n {
		p.Merge("acme", summary("acme", fmt.Sprintf("lead-%04d", i), t0, float64(i)))
	}
	if got := len(p.Current("acme")); got != n {
		t.Fatalf("%d members, want %d", got, n)
	}
	if len(p.Pages) < n/MaxPageMembers {
		t.Errorf("%d pages for %d members", len(p.Pages), n)
	}
	for i, pg := range p.Pages {
		if len(pg.Members) > MaxPageMembers {
			t.Errorf("page %d holds %d, over %d", i, len(pg.Members), MaxPageMembers)
		}
		for lead := range pg.Members {
			if p.pageOf(lead) != i {
				t.Errorf("%s is on page %d, its page is %d", lead, i, p.pageOf(lead))
			}
		}
	}
	// A stale copy of lead-0001 on a wrong page, and a newer one there.
	lead := "lead-0001"
	right := p.pageOf(lead)
	wrong := (right + 1) % len(p.Pages)
	p.Pages[wrong].Members[lead] = summary("acme", lead, t0.Add(time.Hour), 500)
	p.Place()
	if _, ok := p.Pages[wrong].Members[lead]; ok {
		t.Error("the misplaced entry stayed on the wrong page")
	}
	if m := p.Pages[right].Members[lead]; m.Engagement != 500 {
		t.Errorf("after placing, %s has engagement %v, want the newer copy's 500", lead, m.Engagement)
	}
	if !p.Pages[wrong].Changed || !p.Pages[right].Changed {
		t.Error("the pages placing changed are not marked to write")
	}
}
