package mock

import (
	"fmt"
	"strconv"
)

// page is how the mocks page a listing: the cursor is the offset of the
// next page as decimal text, items are the whole listing in its stable
// order, and next is "" on the last page. limit is at least 1.
func page[T any](items []T, cursor string, limit int) (got []T, next string, err error) {
	from := 0
	if cursor != "" {
		n, err := strconv.Atoi(cursor)
		if err != nil || n < 0 {
			return nil, "", fmt.Errorf("cursor %q is not an offset", cursor)
		}
		from = n
	}
	if from+limit < len(items) {
		next = strconv.Itoa(from + limit)
	}
	return items[min(from, len(items)):min(from+limit, len(items))], next, nil
}
