package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/leadscore/leadscore/infra/emulators"
	"github.com/leadscore/leadscore/infra/faults"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// itemsUnder reads every item under a subject's key straight from the
// table, all attributes, so the test sees what erasure left, not what the
// store chooses to show.
func itemsUnder(t *testing.T, s *Store, subject string) []map[string]types.AttributeValue {
	t.Helper()
	out, err := s.client.Query(t.Context(), &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": sAttr(leadPrefix + subject)},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Items
}

// seedErasable writes a lead with events, a stitched visitor with its own
// record and marker, and an unsent transition in the outbox.
func seedErasable(t *testing.T, s *Store, id, vid, email string) *leadscore.LeadRecord {
	t.Helper()
	ctx := t.Context()
	s.RecordEvents(ctx, vid, []scoring.Event{ev("v1", "page_view", "", t0)}, t0)
	if _, err := s.MergeVisitor(ctx, vid, id); err != nil {
		t.Fatal(err)
	}
	var evs []scoring.Event
	for i := range 30 {
		e := ev(fmt.Sprintf("e%d", i), "page_view", email, t0)
		e.Lead = map[string]any{"phone": "+44 20 7946 0000", "first_name": "Ada"}
		evs = append(evs, e)
	}
	for _, r := range s.RecordEvents(ctx, id, evs, t0) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	rec, err := s.ReadLead(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	rec.Email = email
	rec.Visitors = []string{vid}
	rec.View = leadscore.LeadView{Stage: "lead", Attributes: map[string]any{}}
	rec.Outbox = []leadscore.Handoff{leadscore.NewHandoff(id, scoring.Transition{From: "visitor", To: "lead", At: t0}, rec.View)}
	if err := s.WriteLead(ctx, rec, t0); err != nil {
		t.Fatal(err)
	}
	return rec
}

// checkErased asserts that only a tombstone without personal data is left.
func checkErased(t *testing.T, s *Store, id, vid, email string) {
	t.Helper()
	if items := itemsUnder(t, s, vid); len(items) != 0 {
		t.Errorf("visitor %s still has %d items: %v", vid, len(items), items)
	}
	items := itemsUnder(t, s, id)
	if len(items) != 1 || str(items[0], attrSK) != leadSK {
		t.Fatalf("lead %s has %d items after erasure, want only its tombstone: %v", id, len(items), items)
	}
	tomb := items[0]
	for name := range tomb {
		switch name {
		case attrPK, attrSK, attrErasedAt, attrExpiresAt:
		default:
			t.Errorf("tombstone carries attribute %s; want only pk, sk, erased_at, expires_at", name)
		}
	}
	if dump := fmt.Sprint(tomb); strings.Contains(dump, email) || strings.Contains(dump, "7946") {
		t.Errorf("tombstone holds personal data: %s", dump)
	}
	exp, err := num(tomb, attrExpiresAt)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Now().Add(TombstoneTTL).Unix()
	if exp < want-60 || exp > want+60 {
		t.Errorf("tombstone expires_at %d, want about now + %s (%d)", exp, TombstoneTTL, want)
	}
}

func TestEraseLeadLeavesOnlyATombstone(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	id, vid, email := "ld_"+t.Name(), "vi_"+t.Name(), "erase-me@example.com"
	old := seedErasable(t, s, id, vid, email)

	if err := s.EraseLead(ctx, id); err != nil {
		t.Fatal(err)
	}
	checkErased(t, s, id, vid, email)

	if _, err := s.Lead(ctx, id); !errors.Is(err, leadscore.ErrNotFound) {
		t.Errorf("Lead after erasure: %v, want ErrNotFound", err)
	}
	if _, err := s.ReadLead(ctx, id); !errors.Is(err, leadscore.ErrErased) {
		t.Errorf("ReadLead after erasure: %v, want ErrErased", err)
	}
	// A score function holding the lead from before the erasure, or
	// treating it as new, cannot write it back.
	if err := s.WriteLead(ctx, old, t0); !errors.Is(err, leadscore.ErrConflict) {
		t.Errorf("write of the pre-erasure copy: %v, want ErrConflict", err)
	}
	fresh := &leadscore.LeadRecord{}
	fresh.ID, fresh.Email, fresh.State = id, email, scoring.NewState()
	if err := s.WriteLead(ctx, fresh, t0); !errors.Is(err, leadscore.ErrConflict) {
		t.Errorf("write of a new lead over the tombstone: %v, want ErrConflict", err)
	}
	if err := s.MarkSent(ctx, old, []string{old.Outbox[0].TransitionID}, t0); err != nil {
		t.Errorf("MarkSent on an erased lead: %v, want nil (nothing left to mark)", err)
	}
	checkErased(t, s, id, vid, email)

	if err := s.EraseLead(ctx, id); !errors.Is(err, leadscore.ErrNotFound) {
		t.Fatalf("second erasure: %v, want ErrNotFound", err)
	}
	checkErased(t, s, id, vid, email)
}

func TestEraseLeadBeforeItsFirstWriteStillBlocksIt(t *testing.T) {
	s := newStore(t)
	id := "ld_" + t.Name()
	if err := s.EraseLead(t.Context(), id); !errors.Is(err, leadscore.ErrNotFound) {
		t.Fatalf("erasing an unknown lead: %v, want ErrNotFound", err)
	}
	if _, err := s.ReadLead(t.Context(), id); !errors.Is(err, leadscore.ErrErased) {
		t.Fatalf("ReadLead: %v, want ErrErased (events queued before the erasure must be dropped)", err)
	}
}

// TestEraseLeadCanBeRepeatedAfterDyingHalfway kills the erasure after each
// possible number of AWS calls, then erases again: whatever the first
// attempt managed, the second finishes the job (the tombstone keeps the
// visitor ids until the end).
func TestEraseLeadCanBeRepeatedAfterDyingHalfway(t *testing.T) {
	emulators.Need(t)
	cfg, err := stack.AWSConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	in := faults.New(faults.Config{})
	s := New(&faults.DynamoDB{Client: dynamodb.NewFromConfig(cfg), In: in, Label: "test"}, stack.TableName)
	for budget := range 7 {
		t.Run(strconv.Itoa(budget), func(t *testing.T) {
			id, vid, email := fmt.Sprintf("ld_%s_%d", t.Name(), budget), fmt.Sprintf("vi_%s_%d", t.Name(), budget), "half@example.com"
			seedErasable(t, s, id, vid, email)
			ctx, kill := faults.WithKill(t.Context(), budget)
			err := s.EraseLead(ctx, id)
			if kill.Fired() == (err == nil) {
				t.Fatalf("erasure with %d calls: err %v, kill fired %v", budget, err, kill.Fired())
			}
			if err := s.EraseLead(context.Background(), id); err != nil && !errors.Is(err, leadscore.ErrNotFound) {
				t.Fatal(err)
			}
			checkErased(t, s, id, vid, email)
		})
	}
}

func TestEventRecordsCarryExpiresAtWithRetention(t *testing.T) {
	s := newStore(t)
	for _, retention := range []time.Duration{0, 30 * 24 * time.Hour} {
		t.Run(retention.String(), func(t *testing.T) {
			s.EventRetention = retention
			id := "ld_" + strings.ReplaceAll(t.Name(), "/", "_")
			for _, r := range s.RecordEvents(t.Context(), id, []scoring.Event{ev("e1", "page_view", "ttl@example.com", t0)}, t0) {
				if r.Err != nil {
					t.Fatal(r.Err)
				}
			}
			items := itemsUnder(t, s, id)
			if len(items) != 1 {
				t.Fatalf("%d items, want the one event record", len(items))
			}
			_, has := items[0][attrExpiresAt]
			if retention == 0 {
				if has {
					t.Fatalf("record without retention has expires_at: %v", items[0])
				}
				return
			}
			exp, err := num(items[0], attrExpiresAt)
			if err != nil || exp != t0.Add(retention).Unix() {
				t.Fatalf("expires_at %d (%v), want received_at + %s = %d", exp, err, retention, t0.Add(retention).Unix())
			}
		})
	}
}
