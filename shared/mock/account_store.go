package mock

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// AccountStore is an in-memory account table: member summaries by account
// and account records (leadscore.AccountStore, leadscore.AccountReader).
type AccountStore struct {
	mu       sync.Mutex
	members  map[string]map[string]leadscore.Member // account id -> lead id -> member
	accounts map[string]*leadscore.AccountRecord    // stored copies
	writes   int
}

var (
	_ leadscore.AccountStore  = (*AccountStore)(nil)
	_ leadscore.AccountReader = (*AccountStore)(nil)
)

// Writes counts the successful WriteAccount calls.
func (s *AccountStore) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// PutMembers stores or removes members, ignoring summaries older than the
// stored ones.
func (s *AccountStore) PutMembers(_ context.Context, id string, ms []leadscore.Member) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.members == nil {
		s.members = map[string]map[string]leadscore.Member{}
	}
	if s.members[id] == nil {
		s.members[id] = map[string]leadscore.Member{}
	}
	for _, m := range ms {
		old, ok := s.members[id][m.LeadID]
		if ok && (old.Erased || !m.Erased && m.At.Before(old.At)) {
			continue
		}
		if m.Erased || m.AccountID == id {
			s.members[id][m.LeadID] = m
		} else {
			delete(s.members[id], m.LeadID)
		}
	}
	return nil
}

// Members returns the members of account id, by lead id.
func (s *AccountStore) Members(_ context.Context, id string) ([]leadscore.Member, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []leadscore.Member
	for _, m := range s.members[id] {
		if !m.Erased {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b leadscore.Member) int { return cmp.Compare(a.LeadID, b.LeadID) })
	return out, nil
}

// AccountMembers is Members (leadscore.AccountReader).
func (s *AccountStore) AccountMembers(ctx context.Context, id string) ([]leadscore.Member, error) {
	return s.Members(ctx, id)
}

// ReadAccount returns a copy of the stored account, or a new one.
func (s *AccountStore) ReadAccount(_ context.Context, id string) (*leadscore.AccountRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec, ok := s.accounts[id]; ok {
		return copyAccount(rec)
	}
	rec := &leadscore.AccountRecord{}
	rec.ID, rec.State = id, scoring.NewAccountState(id)
	return rec, nil
}

// copyAccount copies through the stored forms, as the table would.
func copyAccount(rec *leadscore.AccountRecord) (*leadscore.AccountRecord, error) {
	c := *rec
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
