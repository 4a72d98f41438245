package mock

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/leadscore/leadscore/shared/leadscore"
)

// ScanLeads returns identified leads (ids ld_) by id, limit at a time; the
// cursor is the offset of the next page (leadscore.LeadScanner).
func (s *Store) ScanLeads(_ context.Context, cursor string, limit int) ([]*leadscore.Lead, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.call("ScanLeads")
	from := 0
	if cursor != "" {
		n, err := strconv.Atoi(cursor)
		if err != nil || n < 0 {
			return nil, "", fmt.Errorf("cursor %q is not an offset", cursor)
		}
		from = n
	}
	var ids []string
	for _, id := range slices.Sorted(maps.Keys(s.leads)) {
		if strings.HasPrefix(id, leadscore.LeadIDPrefix) {
			ids = append(ids, id)
		}
	}
	limit = max(limit, 1)
	var out []*leadscore.Lead
	for _, id := range ids[min(from, len(ids)):min(from+limit, len(ids))] {
		c, err := copyRecord(s.leads[id])
		if err != nil {
			return nil, "", err
		}
		out = append(out, &c.Lead)
	}
	next := ""
	if from+limit < len(ids) {
		next = strconv.Itoa(from + limit)
	}
	return out, next, nil
}
