package preview

import (
	"maps"
	"slices"
	"time"

	"github.com/leadscore/leadscore/shared/scoring"
)

// The accounts side of a dry run (docs/scoring.md section 7). Each lead's
// Outcome carries its account summary under the draft; once every lead is
// in, the summaries grouped by account are the accounts' memberships under
// the draft (every lead of the table is in the preview), and each account
// is evaluated as publishing would evaluate it after the rescore: from its
// stored state, with every member's new summary, under the draft.

// AccountSnapshot is an account's scores and stage at one moment.
type AccountSnapshot struct {
	Fit             float64              `json:"fit"`
	Engagement      float64              `json:"engagement"`
	Grade           string               `json:"grade"`
	Stage           scoring.AccountStage `json:"stage"`
	EngagedContacts int                  `json:"engaged_contacts"`
}

// StoredAccount is an account as the table holds it before the draft: its
// stage state, what its last evaluation showed (Before) and when that was.
type StoredAccount struct {
	State       *scoring.AccountState
	Before      AccountSnapshot
	EvaluatedAt time.Time
}

// AccountOutcome is the dry run of one account: as stored (Before) and as
// the draft would leave it (After).
type AccountOutcome struct {
	AccountID string          `json:"account_id"`
	Domain    string          `json:"domain,omitempty"`
	Before    AccountSnapshot `json:"before"`
	After     AccountSnapshot `json:"after"`
}

// AccountSummary is the accounts part of GET /v1/rules/preview/{id}.
type AccountSummary struct {
	// Accounts counts the accounts evaluated: every account a lead belongs
	// to under the draft or leaves.
	Accounts     int            `json:"accounts"`
	StageChanges map[string]int `json:"stage_changes"`
	// The lists hold at most ListMax accounts each, those with the highest
	// engagement after; the counts are of every account.
	WouldQualify        []AccountOutcome `json:"would_qualify"`
	WouldUnqualify      []AccountOutcome `json:"would_unqualify"`
	WouldQualifyCount   int              `json:"would_qualify_count"`
	WouldUnqualifyCount int              `json:"would_unqualify_count"`
}

// AccountIDs lists, sorted, every account the dry run must evaluate: the
// accounts the leads belong to under the draft, and those they leave (an
// account all of whose leads leave is evaluated with no members).
func AccountIDs(outcomes []Outcome) []string {
	ids := map[string]bool{}
	for _, o := range outcomes {
		if o.Account != nil && o.Account.AccountID != "" {
			ids[o.Account.AccountID] = true
		}
		if o.AccountBefore != "" {
			ids[o.AccountBefore] = true
		}
	}
	return slices.Sorted(maps.Keys(ids))
}

// Members groups the leads' summaries under the draft by account.
func Members(outcomes []Outcome) map[string][]scoring.AccountMember {
	byAccount := map[string][]scoring.AccountMember{}
	for _, o := range outcomes {
		if o.Account == nil || o.Account.AccountID == "" {
			continue
		}
		m := *o.Account
		m.LeadID = o.LeadID
		byAccount[m.AccountID] = append(byAccount[m.AccountID], m)
	}
	return byAccount
}

// Account evaluates account id under the draft as publishing would once
// every lead is rescored: from its stored state (nil: an account not stored
// yet, which starts new) with the members' summaries, at clock or at the
// account's last evaluation if that is later (an account is never
// evaluated backwards in time).
func Account(id string, stored *StoredAccount, members []scoring.AccountMember, draft *scoring.Rules, clock time.Time) AccountOutcome {
	prev := StoredAccount{State: scoring.NewAccountState(id), Before: AccountSnapshot{Stage: scoring.AccountStageAccount}}
	if stored != nil && stored.State != nil {
		prev = *stored
	}
	at := clock
	if prev.EvaluatedAt.After(at) {
		at = prev.EvaluatedAt
	}
	res := scoring.EvaluateAccount(draft, prev.State, members, at)
	before := prev.Before
	before.Stage = prev.State.Stage() // the stage the evaluation starts from
	return AccountOutcome{AccountID: id, Domain: res.Domain, Before: before,
		After: AccountSnapshot{Fit: res.Score.Fit, Engagement: res.Score.Engagement, Grade: res.Score.Grade,
			Stage: res.Stage, EngagedContacts: res.EngagedContacts}}
}

// AccountOutcomes evaluates every account of the dry run (AccountIDs)
// under the draft, in account id order. stored holds the accounts the
// table has, by id; an account it lacks starts new, and one with neither a
// stored item nor a member under the draft is skipped, as publishing
// writes no such account.
func AccountOutcomes(outcomes []Outcome, stored map[string]*StoredAccount, draft *scoring.Rules, clock time.Time) []AccountOutcome {
	members := Members(outcomes)
	var outs []AccountOutcome
	for _, id := range AccountIDs(outcomes) {
		if stored[id] == nil && len(members[id]) == 0 {
			continue
		}
		outs = append(outs, Account(id, stored[id], members[id], draft, clock))
	}
	return outs
}

// Accounts is the accounts part of the answer: AccountOutcomes added up.
func Accounts(outcomes []Outcome, stored map[string]*StoredAccount, draft *scoring.Rules, clock time.Time) AccountSummary {
	return SummarizeAccounts(AccountOutcomes(outcomes, stored, draft, clock))
}

// qualified: an account at mqa or beyond (handed to sales).
func qualified(s scoring.AccountStage) bool {
	return s == scoring.AccountStageMQA || s == scoring.AccountStageOpportunity || s == scoring.AccountStageCustomer
}

// ClassifyAccount sorts an account outcome into a list: Qualifies when the
// draft moves it from account to mqa or beyond, Unqualifies when it moves
// it back to account. An MQA whose scores fall under the draft's bar stays
// an MQA (a score falling back moves nothing, docs/scoring.md section 7),
// so it is not listed.
func ClassifyAccount(o AccountOutcome) Kind {
	was, is := qualified(o.Before.Stage), qualified(o.After.Stage)
	switch {
	case !was && is:
		return Qualifies
	case was && !is:
		return Unqualifies
	}
	return Unchanged
}

// SummarizeAccounts adds up the accounts' outcomes; the result depends on
// the set of outcomes, not their order.
func SummarizeAccounts(outs []AccountOutcome) AccountSummary {
	s := AccountSummary{Accounts: len(outs), StageChanges: map[string]int{},
		WouldQualify: []AccountOutcome{}, WouldUnqualify: []AccountOutcome{}}
	for _, o := range outs {
		if o.Before.Stage != o.After.Stage {
			s.StageChanges[string(o.Before.Stage)+"->"+string(o.After.Stage)]++
		}
		switch ClassifyAccount(o) {
		case Qualifies:
			s.WouldQualify = append(s.WouldQualify, o)
		case Unqualifies:
			s.WouldUnqualify = append(s.WouldUnqualify, o)
		}
	}
	s.WouldQualifyCount, s.WouldUnqualifyCount = len(s.WouldQualify), len(s.WouldUnqualify)
	s.WouldQualify, s.WouldUnqualify = topAccounts(s.WouldQualify), topAccounts(s.WouldUnqualify)
	return s
}

// topAccounts keeps the ListMax accounts with the highest engagement after
// (ties: account id).
func topAccounts(os []AccountOutcome) []AccountOutcome {
	return topBy(os, func(o AccountOutcome) (float64, string) { return o.After.Engagement, o.AccountID })
}
