package leadscore

import (
	"testing"
	"time"
)

func TestIndexDue(t *testing.T) {
	h := time.Hour
	cases := []struct {
		name           string
		stored, scored time.Time
		outbox         int
		want           time.Time
	}{
		{"nothing due", time.Time{}, time.Time{}, 0, time.Time{}},
		{"nothing due removes a stored one", now.Add(h), time.Time{}, 0, time.Time{}},
		{"first due", time.Time{}, now.Add(48 * h), 0, now.Add(48 * h)},
		{"earlier stored is kept", now.Add(24 * h), now.Add(48 * h), 0, now.Add(24 * h)},
		{"earlier wanted moves it", now.Add(48 * h), now.Add(24 * h), 0, now.Add(24 * h)},
		{"passed stored is replaced", now.Add(-h), now.Add(24 * h), 0, now.Add(24 * h)},
		{"outbox makes it due soon", time.Time{}, now.Add(24 * h), 1, now.Add(OutboxResend)},
		{"outbox with nothing else due", time.Time{}, time.Time{}, 2, now.Add(OutboxResend)},
		{"past due is pushed to the next sweep", time.Time{}, now.Add(-h), 0, now.Add(OutboxResend)},
	}
	for _, c := range cases {
		if got := IndexDue(c.stored, c.scored, c.outbox, now); !got.Equal(c.want) {
			t.Errorf("%s: IndexDue = %s, want %s", c.name, got, c.want)
		}
	}
}
