package scoring

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
	"time"
)

// A lead's side of accounts (docs/scoring.md section 7): which account it
// belongs to and what its events say about that account, decided from its
// own events alone, so each lead's state carries it and the account is
// evaluated from small per-lead summaries (AccountMember).

// AccountIDPrefix starts every account id derived from an email domain.
const AccountIDPrefix = "ac_"

// AccountIDForDomain derives the account id of an email domain: a hash of
// the lowercased domain, like lead ids, so every function finds the account
// without a lookup. An account_id sent with an event is used as given; it
// meets a derived id only if the sender passes that very "ac_" id, which
// then means the same account (96 bits of hash make an accident
// impossible in practice).
func AccountIDForDomain(domain string) string {
	sum := sha256.Sum256([]byte("domain:" + strings.ToLower(strings.TrimSpace(domain))))
	return AccountIDPrefix + hex.EncodeToString(sum[:12])
}

// maxAccountAttrs bounds the account attribute keys one lead keeps. Beyond
// it the alphabetically smallest keys are kept: which keys survive then
// depends only on the set of keys seen, never on the order events came in.
const maxAccountAttrs = 64

// leadFallbacks are the lead attributes that describe the company, used as
// account attributes when the event's account object lacks the field.
var leadFallbacks = [...]struct{ lead, account string }{
	{"company", "name"},
	{"company_size", "company_size"},
	{"industry", "industry"},
	{"country", "country"},
	{"annual_revenue", "annual_revenue"},
}

// AccountAttribute is one account attribute value as one lead's events state
// it, stamped with the event it came from (latest occurred_at wins across the
// account's leads, ties: greater event_id).
type AccountAttribute struct {
	Key     string    `json:"key"`
	Value   any       `json:"value"` // string, float64 or bool
	At      time.Time `json:"at"`
	EventID string    `json:"event_id"`
}

// AccountMember is what an account needs to know about one of its leads: the
// lead's summary, computed from its state after an evaluation. The store
// keeps one per lead in the account and passes them to EvaluateAccount.
type AccountMember struct {
	LeadID string `json:"lead_id"`
	// AccountID is the account the lead belongs to, "" for none.
	AccountID string `json:"account_id,omitempty"`
	// Domain is the lead's email domain unless it is excluded (free mail):
	// the account's derived domain.
	Domain string `json:"domain,omitempty"`
	// Engagement is the lead's engagement at At, rounded like the lead's.
	Engagement float64 `json:"engagement"`
	Stage      Stage   `json:"stage"`
	// At is the `now` the summary was computed at.
	At         time.Time          `json:"at"`
	Attributes []AccountAttribute `json:"attributes,omitempty"`
}

// AccountID is the account the lead belongs to: the latest non-empty
// account_id its events carried (latest occurred_at, ties: greater
// event_id), else its email domain's account unless the domain is on the
// accounts.exclude_domains list; "" for none. A visitor (no email yet)
// belongs to no account.
func (s *State) AccountID(r *Rules) string {
	if !s.identified {
		return ""
	}
	if s.acctID != "" {
		return s.acctID
	}
	if d := s.memberDomain(&r.c.accounts); d != "" {
		return AccountIDForDomain(d)
	}
	return ""
}

func (s *State) memberDomain(a *accountRules) string {
	d := strings.ToLower(s.emailDomain())
	if d == "" || a.excluded(d) {
		return ""
	}
	return d
}

// AccountMember summarizes the lead for its account at now: call it after
// Evaluate, so Stage is the one just decided.
func (s *State) AccountMember(leadID string, r *Rules, now time.Time) AccountMember {
	score, _ := s.Scores(r, now)
	m := AccountMember{
		LeadID:     leadID,
		AccountID:  s.AccountID(r),
		Engagement: score.Engagement,
		Stage:      s.Stage(),
		At:         now.UTC(),
	}
	if s.identified {
		m.Domain = s.memberDomain(&r.c.accounts)
	}
	for _, a := range s.acctAttrs {
		m.Attributes = append(m.Attributes, AccountAttribute{Key: a.key, Value: a.val, At: a.at, EventID: a.id})
	}
	return m
}

// applyAccount records what one event says about the lead's account.
func (s *State) applyAccount(e *Event, at time.Time) {
	if e.AccountID != "" && (s.acctID == "" || later(at, e.EventID, s.acctAt, s.acctEv)) {
		s.acctID, s.acctAt, s.acctEv = e.AccountID, at, e.EventID
	}
	for k, v := range e.Account {
		s.setAccountAttr(k, v, at, e.EventID)
	}
	if len(e.Lead) == 0 {
		return
	}
	for _, f := range leadFallbacks {
		if present(e.Account[f.account]) {
			continue // the account object says it; the lead object does not override
		}
		if v, ok := e.Lead[f.lead]; ok {
			s.setAccountAttr(f.account, v, at, e.EventID)
		}
	}
}

// later reports whether (at, id) comes after (bAt, bID): occurred_at, then
// event_id, as every "latest wins" of docs/scoring.md.
func later(at time.Time, id string, bAt time.Time, bID string) bool {
	if !at.Equal(bAt) {
		return at.After(bAt)
	}
	return id > bID
}

// setAccountAttr keeps the latest value per key in acctAttrs (sorted by key),
// at most maxAccountAttrs keys, the smallest.
func (s *State) setAccountAttr(key string, v any, at time.Time, id string) {
	v, ok := attrValue(v)
	if !ok {
		return
	}
	if d, isStr := v.(string); isStr && key == "domain" {
		// The account's domain is looked up (GET /v1/accounts?domain=) and
		// compared with email domains, which are lower-case.
		if v = strings.ToLower(strings.TrimSpace(d)); v == "" {
			return
		}
	}
	i := sort.Search(len(s.acctAttrs), func(j int) bool { return s.acctAttrs[j].key >= key })
	if i < len(s.acctAttrs) && s.acctAttrs[i].key == key {
		a := &s.acctAttrs[i]
		if later(at, id, a.at, a.id) {
			a.val, a.at, a.id = v, at, id
		}
		return
	}
	if len(s.acctAttrs) >= maxAccountAttrs {
		if i == len(s.acctAttrs) {
			return // larger than every kept key: never among the smallest again
		}
		s.acctAttrs = s.acctAttrs[:len(s.acctAttrs)-1]
	}
	s.acctAttrs = append(s.acctAttrs, attr{})
	copy(s.acctAttrs[i+1:], s.acctAttrs[i:])
	s.acctAttrs[i] = attr{key, v, at, id}
}

// attrValue normalizes an attribute value as setAttr does: non-empty
// strings, numbers as float64, booleans; anything else is not an attribute.
func attrValue(v any) (any, bool) {
	switch x := v.(type) {
	case string:
		return v, x != ""
	case float64, bool:
		return v, true
	case nil:
		return nil, false
	}
	f, ok := numeric(v)
	if !ok {
		return nil, false
	}
	return f, true
}
