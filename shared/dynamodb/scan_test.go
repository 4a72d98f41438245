package dynamodb

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/leadscore/leadscore/infra/emulators"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// seedLead creates lead (or visitor) id with events, as the score
// function would.
func seedLead(t testing.TB, s *Store, id, email string, events int) {
	t.Helper()
	ctx := t.Context()
	var evs []scoring.Event
	for i := range events {
		evs = append(evs, ev(fmt.Sprintf("%s-e%d", id, i), "page_view", email, t0))
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
	r := scoring.DefaultRules()
	rec.State.Apply(evs, r)
	res := rec.State.Evaluate(r, t0)
	rec.View = leadscore.BuildView(id, email, rec.State, res, 0, t0)
	if err := s.WriteLead(ctx, rec, t0); err != nil {
		t.Fatal(err)
	}
}

func TestScanLeadIDsReturnsEveryIdentifiedLeadOnce(t *testing.T) {
	emulators.Need(t)
	if err := stack.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	s := newStore(t)
	var want []string
	for i := range 120 {
		email := fmt.Sprintf("scan%d@example.com", i)
		id := leadscore.LeadID(email)
		want = append(want, id)
		// Leads with many event items make pages end on event items, so
		// the cursor is tested on them too.
		seedLead(t, s, id, email, i%7)
	}
	for i := range 15 {
		vid := leadscore.VisitorID(fmt.Sprintf("cookie-%d", i))
		for _, r := range s.RecordEvents(t.Context(), vid, []scoring.Event{{EventID: vid + "-e", Type: "page_view", OccurredAt: t0, AnonymousID: "c"}}, t0) {
			if r.Err != nil {
				t.Fatal(r.Err)
			}
		}
	}
	if _, err := s.PublishRules(t.Context(), scoring.DefaultRules()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartRescore(t.Context(), 1, t0); err != nil {
		t.Fatal(err)
	}

	for _, wantPerPage := range []int{1, 7, 50, 1000} {
		t.Run(fmt.Sprint(wantPerPage), func(t *testing.T) {
			var got []string
			cursor, pages := "", 0
			for {
				ids, next, err := s.ScanLeadIDs(t.Context(), cursor, wantPerPage)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				got = append(got, ids...)
				if next == "" {
					break
				}
				if len(ids) < wantPerPage {
					t.Fatalf("page %d has %d leads before the end, want at least %d", pages, len(ids), wantPerPage)
				}
				cursor = next
			}
			slices.Sort(got)
			w := slices.Clone(want)
			slices.Sort(w)
			if !slices.Equal(got, w) {
				t.Fatalf("scan in pages of %d returned %d ids, want the %d leads exactly once (no visitors, no other items)", wantPerPage, len(got), len(w))
			}
		})
	}

	leads, _, err := s.ScanLeads(t.Context(), "", 1000)
	if err != nil || len(leads) != len(want) {
		t.Fatalf("ScanLeads: %d leads, %v; want %d", len(leads), err, len(want))
	}
	for _, l := range leads {
		if l.State == nil || !l.State.Identified() || l.Email == "" {
			t.Fatalf("lead %s came back without its state or email", l.ID)
		}
	}
}

func TestScanCursorRejectsGarbage(t *testing.T) {
	s := newStore(t)
	for _, c := range []string{"!!", "bm90IGpzb24", "e30"} {
		if _, _, err := s.ScanLeadIDs(t.Context(), c, 10); !errors.Is(err, ErrBadCursor) {
			t.Errorf("cursor %q: %v, want ErrBadCursor", c, err)
		}
	}
}

func TestRescoreJobCountsPagesAndLeadsOnce(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	const v = 901
	if _, err := s.RescoreJob(ctx, v); !errors.Is(err, leadscore.ErrNotFound) {
		t.Fatalf("job before start: %v, want ErrNotFound", err)
	}
	if created, err := s.StartRescore(ctx, v, t0); err != nil || !created {
		t.Fatalf("start: created=%v err=%v", created, err)
	}
	if created, err := s.StartRescore(ctx, v, t0.Add(1)); err != nil || created {
		t.Fatalf("second start: created=%v err=%v, want no change", created, err)
	}
	// Page 0 twice (a redelivered page message): counted once.
	if ok, err := s.AdvanceRescore(ctx, v, 0, 3, "c1", false, 0, t0); err != nil || !ok {
		t.Fatalf("page 0: %v %v", ok, err)
	}
	if ok, err := s.AdvanceRescore(ctx, v, 0, 3, "c1", false, 0, t0); err != nil || ok {
		t.Fatalf("page 0 again: advanced=%v err=%v, want not advanced", ok, err)
	}
	job, err := s.RescoreJob(ctx, v)
	if err != nil || job.Pages != 1 || job.LeadsEnqueued != 3 || job.Cursor != "c1" || job.ScanComplete {
		t.Fatalf("after page 0: %+v %v", job, err)
	}

	// Done counts: duplicates inside a call, across calls, and concurrent
	// calls over one set, each lead once. 250 ids cross the 99-marker
	// transaction chunks.
	ids := func(from, to int) []string {
		var out []string
		for i := from; i < to; i++ {
			out = append(out, fmt.Sprintf("ld_%04d", i))
		}
		return out
	}
	if err := s.MarkRescored(ctx, v, append(ids(0, 2), "ld_0000"), t0); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() { errs <- s.MarkRescored(ctx, v, ids(0, 250), t0) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	job, err = s.RescoreJob(ctx, v)
	if err != nil || job.LeadsDone != 250 {
		t.Fatalf("done = %d (%v), want 250", job.LeadsDone, err)
	}
	if job.FinishedAt != nil {
		t.Fatalf("finished before the scan completed: %+v", job)
	}

	// The last page: complete, and done >= enqueued, so it finishes.
	if ok, err := s.AdvanceRescore(ctx, v, 1, 247, "", true, 0, t0.Add(5)); err != nil || !ok {
		t.Fatalf("page 1: %v %v", ok, err)
	}
	job, err = s.RescoreJob(ctx, v)
	if err != nil || !job.ScanComplete || job.LeadsEnqueued != 250 || job.LeadsLeft != 0 || job.FinishedAt == nil || !job.FinishedAt.Equal(t0.Add(5)) {
		t.Fatalf("after the last page: %+v %v; want complete, 250 enqueued, finished at %s", job, err, t0.Add(5))
	}
	if job.Cursor != "" {
		t.Fatalf("cursor %q kept after the scan completed", job.Cursor)
	}
}

func TestRescoreFinishesWhenTheLastLeadFollowsTheLastPage(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	const v = 902
	if _, err := s.StartRescore(ctx, v, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AdvanceRescore(ctx, v, 0, 2, "", true, 0, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkRescored(ctx, v, []string{"ld_a"}, t0.Add(1)); err != nil {
		t.Fatal(err)
	}
	if job, _ := s.RescoreJob(ctx, v); job.FinishedAt != nil || job.LeadsLeft != 1 {
		t.Fatalf("finished with a lead left: %+v", job)
	}
	if err := s.MarkRescored(ctx, v, []string{"ld_b"}, t0.Add(2)); err != nil {
		t.Fatal(err)
	}
	job, err := s.RescoreJob(ctx, v)
	if err != nil || job.FinishedAt == nil || !job.FinishedAt.Equal(t0.Add(2)) || job.LeadsDone != 2 {
		t.Fatalf("after the last lead: %+v %v, want finished at %s", job, err, t0.Add(2))
	}
	// A late duplicate changes nothing.
	if err := s.MarkRescored(ctx, v, []string{"ld_b"}, t0.Add(3)); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.RescoreJob(ctx, v); again.LeadsDone != 2 || !again.FinishedAt.Equal(*job.FinishedAt) {
		t.Fatalf("late duplicate moved the job: %+v", again)
	}
}

func FuzzDecodeScanCursor(f *testing.F) {
	f.Add(encodeCursor(map[string]types.AttributeValue{attrPK: sAttr("LEAD#ld_1"), attrSK: sAttr(leadSK)}, "", ""))
	f.Fuzz(func(t *testing.T, cursor string) {
		key, err := scanStart(cursor)
		if err != nil {
			if !errors.Is(err, ErrBadCursor) {
				t.Fatalf("cursor %q: error %v is not ErrBadCursor", cursor, err)
			}
			return
		}
		if cursor == "" {
			if key != nil {
				t.Fatalf("empty cursor gave a start key %v", key)
			}
			return
		}
		// A cursor accepted is one encode would give back as it is.
		if str(key, attrPK) == "" || str(key, attrSK) == "" {
			t.Fatalf("cursor %q accepted with an empty key part", cursor)
		}
		if again, err := scanStart(encodeCursor(key, "", "")); err != nil || str(again, attrPK) != str(key, attrPK) || str(again, attrSK) != str(key, attrSK) {
			t.Fatalf("cursor %q does not survive a re-encode: %v %v", cursor, again, err)
		}
	})
}
