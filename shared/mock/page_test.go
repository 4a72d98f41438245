package mock

import (
	"slices"
	"testing"
)

// TestPageWalksTheListingOnce: following the cursors from "" returns every
// item once, in order, and the last page says so with "".
func TestPageWalksTheListingOnce(t *testing.T) {
	items := []int{1, 2, 3, 4, 5, 6, 7}
	for _, limit := range []int{1, 2, 3, 7, 10} {
		var got []int
		cursor, pages := "", 0
		for {
			p, next, err := page(items, cursor, limit)
			if err != nil {
				t.Fatalf("limit %d, cursor %q: %v", limit, cursor, err)
			}
			got, pages = append(got, p...), pages+1
			if next == "" {
				break
			}
			cursor = next
		}
		if !slices.Equal(got, items) || pages != (len(items)+limit-1)/limit {
			t.Errorf("limit %d: %v in %d pages, want %v in %d", limit, got, pages, items, (len(items)+limit-1)/limit)
		}
	}
	if p, next, err := page(items, "99", 3); err != nil || len(p) != 0 || next != "" {
		t.Errorf("past the end: %v %q %v, want an empty last page", p, next, err)
	}
	for _, bad := range []string{"x", "-1", "1.5"} {
		if _, _, err := page(items, bad, 3); err == nil {
			t.Errorf("cursor %q: no error", bad)
		}
	}
}
