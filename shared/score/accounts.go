package score

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// Accounts (docs/scoring.md section 7, docs/design.md "Accounts"). A lead's
// write does not touch its account: the batch collects, per account, the
// summaries of its leads that changed and sends one account message per
// account (never one per event) to the account queue, whose batching
// window gathers an account's messages of a few seconds into one batch.
// The evaluation reads the account with its member pages, merges the
// summaries in, writes the pages that changed, scores the account and
// writes it with one conditional write, then hands its transitions off
// through the account's outbox, like a lead's.

// maxMembersPerMessage keeps an account message far under the SQS limit: a
// summary is at most a few KB (64 attributes).
const maxMembersPerMessage = 20

// memberChange is a lead's account summary before and after its batch.
type memberChange struct {
	prev, next   leadscore.Member
	rulesVersion int
	// resend passes next on even when equal to prev: the batch was a
	// redelivery (the first delivery's account message may be lost), or
	// the lead was rebuilt under new rules (its account must be too).
	resend bool
}

// memberOf is the lead's summary for its account at evaluation time at; a
// lead neither written nor evaluated yet belongs to no account.
func memberOf(rec *leadscore.LeadRecord, leadID string, rules *scoring.Rules, at time.Time) leadscore.Member {
	if rec.State == nil || (!rec.Exists && rec.View.EvaluatedAt.IsZero()) {
		return leadscore.Member{}
	}
	return leadscore.Member{AccountMember: rec.State.AccountMember(leadID, rules, at), Email: rec.Email}
}

// changed reports whether the account must hear of the change: the lead's
// membership, engagement, stage or account attributes moved.
func (c memberChange) changed() bool {
	p, n := c.prev.AccountMember, c.next.AccountMember
	if c.resend {
		return n.AccountID != "" || p.AccountID != ""
	}
	if p.AccountID != n.AccountID {
		return true
	}
	if n.AccountID == "" {
		return false
	}
	return p.Engagement != n.Engagement || p.Stage != n.Stage || !leadscore.SameAttributes(p.Attributes, n.Attributes)
}

// accountOut is what the batch passes on to one account.
type accountOut struct {
	members      []leadscore.Member
	leadMsgs     []int // the lead messages that caused it, failed if it cannot be sent
	rulesVersion int
}

// passOn files the lead's summary change under its account, and under
// the account it left (where the summary, naming another account, removes
// the lead).
func (b *work) passOn(g *group) {
	c := g.member
	if b.toAccounts == nil || !c.changed() {
		return
	}
	ids := []string{c.next.AccountID}
	if c.prev.AccountID != c.next.AccountID {
		ids = append(ids, c.prev.AccountID)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, id := range ids {
		if id == "" {
			continue
		}
		o := b.toAccounts[id]
		if o == nil {
			o = &accountOut{}
			b.toAccounts[id] = o
		}
		o.members = append(o.members, c.next)
		o.leadMsgs = append(o.leadMsgs, g.msgs...)
		o.rulesVersion = max(o.rulesVersion, c.rulesVersion)
	}
}

// enqueueAccounts sends one account message per account the batch's leads
// changed (more only past maxMembersPerMessage members). A message that
// cannot be sent fails the lead messages behind it: their redelivery finds
// the events applied and passes the summaries on again.
func (h *Handler) enqueueAccounts(ctx context.Context, log *slog.Logger, b *work) {
	if h.accounts == nil || len(b.toAccounts) == 0 {
		return
	}
	var msgs []leadscore.ScoreMessage
	var causes [][]int
	for _, id := range slices.Sorted(maps.Keys(b.toAccounts)) {
		o := b.toAccounts[id]
		for ms := range slices.Chunk(o.members, maxMembersPerMessage) {
			at := time.Time{}
			for _, m := range ms {
				if m.At.After(at) {
					at = m.At
				}
			}
			msgs = append(msgs, leadscore.ScoreMessage{Kind: leadscore.KindAccount, AccountID: id, Now: at,
				RulesVersion: o.rulesVersion, Members: ms})
			causes = append(causes, o.leadMsgs)
		}
	}
	failed, err := h.queue.EnqueueScore(ctx, msgs)
	if err != nil {
		log.Error("sending account messages failed; their leads' messages are retried", "failed", len(failed), "error", err.Error())
	}
	for _, i := range failed {
		b.fail(causes[i])
	}
}

// accountGroup is the work of one batch for one account: its messages'
// members (the latest summary of each lead), clock and rules version.
type accountGroup struct {
	id           string
	msgs         []int
	members      map[string]leadscore.Member
	now          time.Time
	rulesVersion int
	// changedAt is the earliest lead evaluation the members come from: the
	// account's update delay is measured from it.
	changedAt time.Time
	// resend is set by a message without members (the sweep's): the whole
	// outbox is sent again, not only what this evaluation decides.
	resend bool
}

func (b *work) accountGroupOf(id string) *accountGroup {
	g := b.accounts[id]
	if g == nil {
		g = &accountGroup{id: id, members: map[string]leadscore.Member{}}
		b.accounts[id] = g
	}
	return g
}

func (g *accountGroup) add(m leadscore.ScoreMessage, idx int) {
	g.msgs = append(g.msgs, idx)
	if m.Now.After(g.now) {
		g.now = m.Now
	}
	g.rulesVersion = max(g.rulesVersion, m.RulesVersion)
	if len(m.Members) == 0 {
		g.resend = true
	}
	for _, mb := range m.Members {
		if !mb.At.IsZero() && (g.changedAt.IsZero() || mb.At.Before(g.changedAt)) {
			g.changedAt = mb.At
		}
		if old, ok := g.members[mb.LeadID]; !ok || !mb.At.Before(old.At) {
			g.members[mb.LeadID] = mb
		}
	}
}

// scoreAccounts evaluates every account the batch's account messages name,
// in parallel; an account that fails fails its messages.
func (h *Handler) scoreAccounts(ctx context.Context, log *slog.Logger, b *work) {
	if len(b.accounts) == 0 {
		return
	}
	if h.accounts == nil {
		log.Error("account messages arrived but account scoring is not wired; they are retried", "accounts", len(b.accounts))
		for _, g := range b.accounts {
			b.fail(g.msgs)
		}
		return
	}
	h.parallel(slices.Sorted(maps.Keys(b.accounts)), func(id string) {
		g := b.accounts[id]
		alog := log.With("account_id", id)
		if err := h.processAccount(ctx, alog, g, &b.st); err != nil {
			alog.Error("scoring the account failed", "messages", len(g.msgs), "error", err.Error())
			b.fail(g.msgs)
		}
	})
}

// processAccount evaluates the group's account with its summaries (again
// from a fresh read when another writer won a page or the account) and
// sends its transitions.
func (h *Handler) processAccount(ctx context.Context, log *slog.Logger, g *accountGroup, st *stats) error {
	members := slices.SortedFunc(maps.Values(g.members), func(a, b leadscore.Member) int { return strings.Compare(a.LeadID, b.LeadID) })
	for attempt := 1; ; attempt++ {
		rec, fresh, wrote, err := h.evaluateAccount(ctx, g, members)
		if err == nil {
			if !wrote && !g.resend {
				return nil
			}
			if wrote && !g.changedAt.IsZero() {
				// From the lead's evaluation to its account's write: the
				// delay docs/benchmarks.md reports (p99).
				h.metrics.Milliseconds("AccountUpdateDelay", h.now().Sub(g.changedAt))
			}
			sent := fresh
			if g.resend {
				sent = rec.Outbox
			}
			st.add(func(s *stats) { s.transitions += len(fresh) })
			h.sendAccount(ctx, log, rec, sent, g.now, st)
			return nil
		}
		if !errors.Is(err, leadscore.ErrConflict) || attempt >= h.maxAttempts {
			return err
		}
		st.add(func(s *stats) { s.conflicts++ })
		if err := sleep(ctx, time.Duration(rand.IntN(10<<attempt))*time.Millisecond); err != nil {
			return err
		}
	}
}

// evaluateAccount reads the account and its member pages, merges the
// group's summaries into them, scores the account, and writes the pages
// that changed, then the account when anything the API or a webhook shows
// changed. It returns the account, the transitions new to its outbox, and
// whether it wrote the account.
func (h *Handler) evaluateAccount(ctx context.Context, g *accountGroup, members []leadscore.Member) (*leadscore.AccountRecord, []leadscore.Handoff, bool, error) {
	rec, err := h.accounts.ReadAccount(ctx, g.id)
	if err != nil {
		return nil, nil, false, err
	}
	for _, m := range members {
		rec.Members.Merge(g.id, m)
	}
	if err := h.accounts.WriteMembers(ctx, rec); err != nil {
		return nil, nil, false, err
	}
	stored := rec.Members.Current(g.id)
	if !rec.Exists && len(stored) == 0 {
		return rec, nil, false, nil // every lead left before the account was written
	}
	rules, err := h.accountRules(ctx, rec, g)
	if err != nil {
		return nil, nil, false, err
	}
	// Never evaluate an account backwards in time: a late message keeps
	// the clock of the newest evaluation.
	now := g.now
	if rec.View.EvaluatedAt.After(now) {
		now = rec.View.EvaluatedAt
	}
	summaries := make([]scoring.AccountMember, len(stored))
	for i, m := range stored {
		summaries[i] = m.AccountMember
	}
	res := scoring.EvaluateAccount(rules, rec.State, summaries, now)
	view := leadscore.BuildAccountView(res, stored, rules.Version, now)
	var fresh []leadscore.Handoff
	for _, t := range res.Transitions {
		ho := leadscore.NewAccountHandoff(g.id, t, view)
		if !slices.ContainsFunc(rec.Outbox, func(o leadscore.Handoff) bool { return o.TransitionID == ho.TransitionID }) {
			rec.Outbox = append(rec.Outbox, ho)
			fresh = append(fresh, ho)
		}
	}
	body := view.ForWebhook()
	for i := range rec.Outbox {
		rec.Outbox[i].Account = &body // unsent entries go out with the account as it is now
	}
	if rec.Exists && len(fresh) == 0 && sameAccountView(rec.View, view.Summary()) {
		return rec, nil, false, nil
	}
	rec.State, rec.View = res.State, view.Summary()
	if err := h.accounts.WriteAccount(ctx, rec, now); err != nil {
		return nil, nil, false, err
	}
	return rec, fresh, true, nil
}

// accountRules are the current rules, or a newer version the account or a
// message already names (never score backwards).
func (h *Handler) accountRules(ctx context.Context, rec *leadscore.AccountRecord, g *accountGroup) (*scoring.Rules, error) {
	rules, err := h.rules.Current(ctx)
	if err != nil {
		return nil, fmt.Errorf("read current rules: %w", err)
	}
	want := max(g.rulesVersion, rec.View.RulesVersion)
	if want > rules.Version {
		if rules, err = h.rules.Version(ctx, want); err != nil {
			return nil, fmt.Errorf("read rules version %d: %w", want, err)
		}
	}
	return rules, nil
}

// sameAccountView reports whether two stored views (summaries) show the
// same thing, the evaluation time aside: then the account need not be
// written (a lead's engagement moved but the account's numbers did not: a
// capped enthusiast's page view).
func sameAccountView(a, b leadscore.AccountView) bool {
	a.EvaluatedAt, b.EvaluatedAt = time.Time{}, time.Time{}
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// sendAccount hands account transitions to the handoff queue and marks the
// sent ones in the outbox; what fails stays there for the sweep.
func (h *Handler) sendAccount(ctx context.Context, log *slog.Logger, rec *leadscore.AccountRecord, hs []leadscore.Handoff, now time.Time, st *stats) {
	if len(hs) == 0 {
		return
	}
	ids := h.handOff(ctx, log, hs, st)
	if err := h.accounts.MarkAccountSent(ctx, rec, ids, now); err != nil {
		log.Error("marking account transitions sent failed", "error", err.Error())
	}
}
