package dynamodb

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/preview"
	"github.com/leadscore/leadscore/shared/scoring"
)

// TestPreviewJobCountsEachLeadOnceAndExpires: a preview's pages and leads
// count as a rescore's do (a lead recorded twice counts once and keeps its
// first outcome), it finishes when the scan is complete and every lead is
// in, its summary is kept, and every one of its items expires.
func TestPreviewJobCountsEachLeadOnceAndExpires(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	now := time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC)
	id := fmt.Sprintf("pv_test_%d", time.Now().UnixNano())
	if _, err := s.PreviewJob(ctx, id); !errors.Is(err, leadscore.ErrNotFound) {
		t.Fatalf("a preview not started: %v, want ErrNotFound", err)
	}
	draft := []byte("mql: {fit_min: 10, engagement_min: 20}\n")
	if err := s.StartPreview(ctx, &leadscore.PreviewJob{ID: id, Draft: draft, Published: 3, Clock: now}, now); err != nil {
		t.Fatal(err)
	}
	if err := s.StartPreview(ctx, &leadscore.PreviewJob{ID: id, Draft: draft, Clock: now}, now); err == nil {
		t.Error("starting the same preview twice succeeded")
	}
	outcome := func(i int) preview.Outcome {
		o := preview.Outcome{LeadID: fmt.Sprintf("ld_%024d", i), Email: "someone@example.com",
			Before: preview.Snapshot{Engagement: float64(i), Stage: "lead"}, After: preview.Snapshot{Engagement: float64(2 * i), Stage: "mql"}}
		// Some leads carry their account summary under the draft, and the
		// account they leave: kept as they are.
		if i%3 == 0 {
			o.AccountBefore = "ac_before"
			o.Account = &scoring.AccountMember{LeadID: o.LeadID, AccountID: "ac_after", Domain: "acme.example", Engagement: 12.5, Stage: "mql", At: now,
				Attributes: []scoring.AccountAttribute{{Key: "industry", Value: "software", At: now, EventID: "e1"}, {Key: "company_size", Value: 250.0, At: now, EventID: "e2"}}}
		}
		return o
	}
	var first []preview.Outcome
	for i := range 150 {
		first = append(first, outcome(i))
	}
	if ok, err := s.AdvancePreview(ctx, id, 0, 151, "", true, now); err != nil || !ok {
		t.Fatalf("advance: %v %v", ok, err)
	}
	if err := s.RecordPreview(ctx, id, first[:100], nil, now); err != nil {
		t.Fatal(err)
	}
	changed := slices.Clone(first[50:])
	for i := range changed {
		changed[i].After.Stage = "sql"
	}
	if err := s.RecordPreview(ctx, id, changed, []string{"ld_gone"}, now); err != nil {
		t.Fatal(err)
	}
	p, err := s.PreviewJob(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if p.Progress.LeadsDone != 151 || p.Progress.FinishedAt == nil || p.Published != 3 || !p.Clock.Equal(now) || string(p.Draft) != string(draft) {
		t.Fatalf("preview %+v: want 151 done (one gone), finished, published 3, the clock and the draft", p)
	}
	got, err := s.PreviewOutcomes(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b preview.Outcome) int { return strings.Compare(a.LeadID, b.LeadID) })
	want := slices.Clone(first[:100])
	want = append(want, changed[50:]...)
	for i := range want {
		want[i].Email = ""
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("outcomes: %d read, want the 150 first recorded (no email)", len(got))
	}
	if err := s.SavePreviewSummary(ctx, id, []byte(`{"leads":150}`), now); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.PreviewJob(ctx, id); string(p.Summary) != `{"leads":150}` {
		t.Errorf("summary %q", p.Summary)
	}
	items, err := s.client.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sAttr(previewPrefix + id)}})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items.Items {
		exp, err := num(it, attrExpiresAt)
		if err != nil || exp != now.Add(leadscore.PreviewTTL).Unix() {
			t.Errorf("item %s expires at %d (%v), want %d", str(it, attrSK), exp, err, now.Add(leadscore.PreviewTTL).Unix())
		}
	}
}
