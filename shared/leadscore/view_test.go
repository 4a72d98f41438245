package leadscore

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadscore/leadscore/shared/scoring"
)

func TestCountedLeavesOutRulesThatGaveNothing(t *testing.T) {
	v := LeadView{Breakdown: []scoring.Contribution{
		{Rule: "idle"},
		{Rule: "decayed", RawPoints: 5},
		{Rule: "negative", Points: -10, Events: 1},
		{Rule: "counted-zero", Events: 2},
	}}
	var got []string
	for _, c := range v.Counted().Breakdown {
		got = append(got, c.Rule)
	}
	if want := []string{"decayed", "negative", "counted-zero"}; !slices.Equal(got, want) {
		t.Fatalf("Counted kept %v; want %v", got, want)
	}
	if len(v.Breakdown) != 4 {
		t.Fatalf("Counted changed its receiver: %d rows left", len(v.Breakdown))
	}
}

// A webhook's breakdown keeps the heaviest rows, in breakdown order, and
// says how many it left out; property-checked over random breakdowns with
// many ties.
func TestForWebhookKeepsTheHeaviestRowsInOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for trial := range 200 {
		n := r.IntN(3 * WebhookBreakdownRows)
		v := LeadView{}
		for i := range n {
			v.Breakdown = append(v.Breakdown, scoring.Contribution{
				Rule: fmt.Sprintf("r%d", i), Points: float64(r.IntN(21) - 10), Events: 1})
		}
		got := v.ForWebhook()
		want := min(n, WebhookBreakdownRows)
		if len(got.Breakdown) != want || got.BreakdownOmitted != n-want {
			t.Fatalf("trial %d: %d rows kept, %d omitted, of %d", trial, len(got.Breakdown), got.BreakdownOmitted, n)
		}
		// Order: a subsequence of the breakdown.
		i := 0
		for _, c := range v.Breakdown {
			if i < len(got.Breakdown) && c.Rule == got.Breakdown[i].Rule {
				i++
			}
		}
		if i != len(got.Breakdown) {
			t.Fatalf("trial %d: the kept rows are not in breakdown order", trial)
		}
		// Weight: no omitted row is heavier than a kept one.
		keptMin := math.Inf(1)
		kept := map[string]bool{}
		for _, c := range got.Breakdown {
			kept[c.Rule] = true
			keptMin = min(keptMin, math.Abs(c.Points))
		}
		for _, c := range v.Breakdown {
			if !kept[c.Rule] && math.Abs(c.Points) > keptMin {
				t.Fatalf("trial %d: %s (%.0f points) left out while a row of %.0f was kept", trial, c.Rule, c.Points, keptMin)
			}
		}
	}
}

// The largest breakdown a rules document can produce (1,000 rules, each
// with the longest description) still makes a handoff message far inside
// SQS's 256 KiB limit.
func TestAHandoffFitsTheQueueWhateverTheRules(t *testing.T) {
	view := LeadView{LeadID: "ld_x", Attributes: map[string]any{}}
	for i := range 1000 {
		view.Breakdown = append(view.Breakdown, scoring.Contribution{
			Rule: fmt.Sprintf("rule-%04d-%s", i, strings.Repeat("x", 50)), Kind: "engagement",
			Description: strings.Repeat("dé", 5000), Points: float64(i%50 + 1), RawPoints: 99.99, Events: 1000})
	}
	at := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	body, err := json.Marshal(NewHandoff("ld_x", scoring.Transition{From: scoring.StageLead, To: scoring.StageMQL, At: at}, view))
	if err != nil {
		t.Fatal(err)
	}
	if len(body) > 128<<10 {
		t.Fatalf("a handoff with 1,000 counting rules is %d bytes; want it well under SQS's 256 KiB", len(body))
	}
}

func TestCutUTF8KeepsRunesWhole(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"abcdefghij", 10, "abcdefghij"},
		{"abcdefghijk", 10, "abcdefg…"},
		{"ééééé", 8, "éé…"},
	} {
		if got := cutUTF8(tc.in, tc.n); got != tc.want || len(got) > tc.n {
			t.Errorf("cutUTF8(%q, %d) = %q; want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
