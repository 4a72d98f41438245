package leadscore

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadscore/leadscore/shared/scoring"
)

// TestAccountWebhookBodyIsBounded: an account's webhook carries the fit
// rules that matched, at most WebhookBreakdownRows with cut descriptions,
// and at most MaxAccountLeads leads, whatever the rules and the account's
// size, so it fits the handoff queue.
func TestAccountWebhookBodyIsBounded(t *testing.T) {
	var fit []scoring.Contribution
	matched := 0
	for i := range 1000 {
		pts := 0.0
		if i%4 != 0 {
			pts = float64(i % 7)
		}
		if pts != 0 {
			matched++
		}
		fit = append(fit, scoring.Contribution{Rule: "r" + strconv.Itoa(i), Kind: "fit", Points: pts, Description: strings.Repeat("d", 2000)})
	}
	var lines []scoring.AccountContribution
	var members []Member
	for i := range 10000 {
		id := "ld_" + strconv.Itoa(i)
		lines = append(lines, scoring.AccountContribution{LeadID: id, Engagement: float64(i % 60), Counted: float64(min(i%60, 50))})
		members = append(members, Member{AccountMember: scoring.AccountMember{LeadID: id}, Email: "p" + strconv.Itoa(i) + "@acme.io"})
	}
	res := scoring.AccountResult{AccountID: "sf-1", State: scoring.NewAccountState("sf-1"),
		Breakdown: scoring.AccountBreakdown{Leads: lines, Fit: fit}}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	view := BuildAccountView(res, members, 1, now)
	ho := NewAccountHandoff("sf-1", scoring.AccountTransition{From: "account", To: "mqa", At: now}, view)
	b := ho.Account.Breakdown
	if len(b.Fit) != WebhookBreakdownRows || b.FitOmitted != matched-WebhookBreakdownRows {
		t.Errorf("fit lines %d, omitted %d; want %d of the %d that matched", len(b.Fit), b.FitOmitted, WebhookBreakdownRows, matched)
	}
	for _, c := range b.Fit {
		if c.Points == 0 || len(c.Description) > WebhookDescriptionBytes+len("…") {
			t.Fatalf("fit line %+v: want a matched rule with a cut description", c.Rule)
		}
	}
	if len(ho.Account.Leads) != MaxAccountLeads || ho.Account.LeadCount != 10000 || b.Others.Leads != 10000-MaxAccountLeads {
		t.Errorf("leads %d of %d, others %d", len(ho.Account.Leads), ho.Account.LeadCount, b.Others.Leads)
	}
	body, err := json.Marshal(ho)
	if err != nil || len(body) > 256*1024 {
		t.Errorf("webhook body %d bytes (%v), want under SQS's 256 KiB", len(body), err)
	}
	if len(view.Breakdown.Fit) != 1000 {
		t.Errorf("the API's view lost fit lines: %d, want all 1000", len(view.Breakdown.Fit))
	}
}
