package mock

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// AccountStore is an in-memory account table: member pages by account
// and account records (leadscore.AccountStore, leadscore.AccountReader).
type AccountStore struct {
	mu       sync.Mutex
	pages    map[string]leadscore.MemberPages    // account id -> stored pages
	accounts map[string]*leadscore.AccountRecord // stored copies
	writes   int
}

var (
	_ leadscore.AccountStore  = (*AccountStore)(nil)
	_ leadscore.AccountReader = (*AccountStore)(nil)
	_ leadscore.MemberWriter  = (*AccountStore)(nil)
)

// Writes counts the successful WriteAccount calls.
func (s *AccountStore) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// PutMembers merges members into the stored pages.
func (s *AccountStore) PutMembers(_ context.Context, id string, ms []leadscore.Member) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := copyPages(s.pages[id])
	for _, m := range ms {
		p.Merge(id, m)
	}
	s.storePages(id, p)
	return nil
}

// WriteMembers stores rec's changed pages if each stored page is at the
// version rec read.
func (s *AccountStore) WriteMembers(_ context.Context, rec *leadscore.AccountRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	stored := s.pages[rec.ID]
	for _, n := range rec.Members.Changed() {
		var v int64
		if n < len(stored.Pages) {
			v = stored.Pages[n].Version
		}
		if v != rec.Members.Pages[n].Version {
			return fmt.Errorf("write member page %d of account %s: %w", n, rec.ID, leadscore.ErrConflict)
		}
	}
	p := copyPages(stored)
	for _, n := range rec.Members.Changed() {
		for len(p.Pages) <= n {
			p.Pages = append(p.Pages, leadscore.MemberPage{Members: map[string]leadscore.Member{}})
		}
		p.Pages[n] = leadscore.MemberPage{Members: maps.Clone(rec.Members.Pages[n].Members), Version: rec.Members.Pages[n].Version + 1}
		rec.Members.Pages[n].Version++
		rec.Members.Pages[n].Changed = false
	}
	if s.pages == nil {
		s.pages = map[string]leadscore.MemberPages{}
	}
	s.pages[rec.ID] = p
	return nil
}

// storePages keeps p's changed pages as written.
func (s *AccountStore) storePages(id string, p leadscore.MemberPages) {
	for i := range p.Pages {
		if p.Pages[i].Changed {
			p.Pages[i].Version++
			p.Pages[i].Changed = false
		}
	}
	if s.pages == nil {
		s.pages = map[string]leadscore.MemberPages{}
	}
	s.pages[id] = p
}

// copyPages copies p, entries and all.
func copyPages(p leadscore.MemberPages) leadscore.MemberPages {
	c := leadscore.MemberPages{Pages: make([]leadscore.MemberPage, len(p.Pages))}
	for i, pg := range p.Pages {
		c.Pages[i] = leadscore.MemberPage{Members: maps.Clone(pg.Members), Version: pg.Version}
	}
	return c
}

// AccountMembers returns the members of account id, by lead id
// (leadscore.AccountReader).
func (s *AccountStore) AccountMembers(_ context.Context, id string) ([]leadscore.Member, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := copyPages(s.pages[id])
	return p.Current(id), nil
}

// ReadAccount returns a copy of the stored account and its pages, or a
// new one.
func (s *AccountStore) ReadAccount(_ context.Context, id string) (*leadscore.AccountRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var rec *leadscore.AccountRecord
	if stored, ok := s.accounts[id]; ok {
		c, err := copyAccount(stored)
		if err != nil {
			return nil, err
		}
		rec = c
	} else {
		rec = &leadscore.AccountRecord{}
		rec.ID, rec.State = id, scoring.NewAccountState(id)
	}
	rec.Members = copyPages(s.pages[id])
	rec.Members.Place()
	return rec, nil
}

// copyAccount copies through the stored forms, as the table would.
func copyAccount(rec *leadscore.AccountRecord) (*leadscore.AccountRecord, error) {
	c := *rec
	c.Members = leadscore.MemberPages{} // kept apart, as the table's pages are
	st := scoring.NewAccountState(rec.ID)
	b, err := rec.State.MarshalBinary()
	if err != nil {
		return nil, err
	}
	if err := st.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	c.State = st
	v, err := json.Marshal(rec.View)
	if err != nil {
		return nil, err
	}
	c.View = leadscore.AccountView{}
	if err := json.Unmarshal(v, &c.View); err != nil {
		return nil, err
	}
	c.Outbox = nil
	for _, h := range rec.Outbox {
		c.Outbox = append(c.Outbox, leadscore.Handoff{TransitionID: h.TransitionID, Type: h.Type, OccurredAt: h.OccurredAt, RulesVersion: h.RulesVersion})
	}
	return &c, nil
}

// WriteAccount stores rec if the stored version is rec's.
func (s *AccountStore) WriteAccount(_ context.Context, rec *leadscore.AccountRecord, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.accounts[rec.ID]
	if ok != rec.Exists || ok && old.Version != rec.Version {
		return fmt.Errorf("write account %s at version %d: %w", rec.ID, rec.Version, leadscore.ErrConflict)
	}
	rec.Version++
	rec.Exists = true
	rec.IndexDueAt = leadscore.IndexDue(rec.IndexDueAt, time.Time{}, len(rec.Outbox), now)
	c, err := copyAccount(rec)
	if err != nil {
		return err
	}
	if s.accounts == nil {
		s.accounts = map[string]*leadscore.AccountRecord{}
	}
	s.accounts[rec.ID] = c
	s.writes++
	return nil
}

// MarkAccountSent removes the sent transitions from the stored outbox.
func (s *AccountStore) MarkAccountSent(_ context.Context, rec *leadscore.AccountRecord, ids []string, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sent := func(h leadscore.Handoff) bool { return slices.Contains(ids, h.TransitionID) }
	rec.Outbox = slices.DeleteFunc(rec.Outbox, sent)
	if stored, ok := s.accounts[rec.ID]; ok {
		stored.Outbox = slices.DeleteFunc(stored.Outbox, sent)
		stored.Version++
		rec.Version = stored.Version
	}
	return nil
}

// Account returns the stored account, or leadscore.ErrNotFound.
func (s *AccountStore) Account(_ context.Context, id string) (*leadscore.Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.accounts[id]
	if !ok {
		return nil, fmt.Errorf("account %s: %w", id, leadscore.ErrNotFound)
	}
	c, err := copyAccount(rec)
	if err != nil {
		return nil, err
	}
	return &c.Account, nil
}

// AccountsByStage lists the accounts in stage, highest engagement first;
// the cursor is the offset of the next page.
func (s *AccountStore) AccountsByStage(_ context.Context, stage scoring.AccountStage, limit int, cursor string) ([]*leadscore.Account, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var in []*leadscore.AccountRecord
	for _, rec := range s.accounts {
		if rec.View.Stage == stage {
			in = append(in, rec)
		}
	}
	slices.SortFunc(in, func(a, b *leadscore.AccountRecord) int {
		return cmp.Or(cmp.Compare(b.View.Score.Engagement, a.View.Score.Engagement), cmp.Compare(a.ID, b.ID))
	})
	in, next, err := page(in, cursor, min(max(limit, 1), 100))
	if err != nil {
		return nil, "", err
	}
	var out []*leadscore.Account
	for _, rec := range in {
		c, err := copyAccount(rec)
		if err != nil {
			return nil, "", err
		}
		out = append(out, &c.Account)
	}
	return out, next, nil
}
