package mock

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/leadscore/leadscore/shared/leadscore"
)

// ScanLeads returns identified leads (ids ld_) by id, limit at a time; the
// cursor is the offset of the next page (leadscore.LeadScanner).
func (s *Store) ScanLeads(_ context.Context, cursor string, limit int) ([]*leadscore.Lead, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.call("ScanLeads")
	var ids []string
	for _, id := range slices.Sorted(maps.Keys(s.leads)) {
		if strings.HasPrefix(id, leadscore.LeadIDPrefix) {
			ids = append(ids, id)
		}
	}
	ids, next, err := page(ids, cursor, max(limit, 1))
	if err != nil {
		return nil, "", err
	}
	var out []*leadscore.Lead
	for _, id := range ids {
		c, err := copyRecord(s.leads[id])
		if err != nil {
			return nil, "", err
		}
		out = append(out, &c.Lead)
	}
	return out, next, nil
}
