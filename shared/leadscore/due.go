package leadscore

import "time"

// OutboxResend is how soon the sweep must look at a lead whose outbox is not
// empty: the send that should have emptied it has failed or died.
const OutboxResend = time.Minute

// IndexDue is the due_at to store (zero: leave the due index). scoringDue is
// Result.DueAt. A stored due time that is still ahead and not later than
// what is wanted is kept: evaluating a lead early is harmless (it only
// recomputes), and keeping the value spares a due-index write on most lead
// writes (an index key change costs a delete and a put).
func IndexDue(stored, scoringDue time.Time, outbox int, now time.Time) time.Time {
	want := scoringDue
	if outbox > 0 {
		if resend := now.Add(OutboxResend); want.IsZero() || resend.Before(want) {
			want = resend
		}
	}
	if want.IsZero() {
		return time.Time{}
	}
	if !want.After(now) {
		// Due already: the sweep takes it on its next run, without
		// re-evaluating it every run if a caller keeps passing the past.
		want = now.Add(OutboxResend)
	}
	if !stored.IsZero() && stored.After(now) && !stored.After(want) {
		return stored
	}
	return want
}
