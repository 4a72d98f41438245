package leadscore

import (
	"cmp"
	"hash/fnv"
	"maps"
	"slices"
	"time"

	"github.com/leadscore/leadscore/shared/scoring"
)

// MaxPageMembers bounds the summaries one member page holds. An account
// keeps its members' summaries in pages, not one item per lead
// (docs/design.md "Accounts"): an evaluation rewrites the pages its
// changes fall in, so a company of twenty busy people costs one small
// write per evaluation, not one per person; and an account of 10,000
// leads spreads over 256 pages of about 40, each far under DynamoDB's
// item limit.
const MaxPageMembers = 64

// MemberPages are an account's member summaries as stored, one entry per
// lead that ever belonged to it: a member, or a marker that the lead left
// (its latest summary names another account) or was erased. Markers keep
// a late, older summary from bringing a lead back. The zero value is an
// account with no pages yet.
type MemberPages struct {
	// Pages are the stored pages by number. A lead's page is a hash of its
	// id modulo the number of pages, which doubles when a page fills.
	Pages []MemberPage
}

// MemberPage is one stored page.
type MemberPage struct {
	Members map[string]Member // by lead id
	// Version is the stored page's version (0: not stored yet); a write is
	// conditioned on it.
	Version int64
	// Changed marks a page to write.
	Changed bool
}

// Merge applies summary m of a lead to the pages of account id: the
// lead's entry becomes m unless the entry is newer (At) or an erasure's.
// A summary naming another account leaves a marker of the move, with
// nothing of the person. It reports whether anything changed.
func (p *MemberPages) Merge(id string, m Member) bool {
	p.settle()
	page, old, ok := p.find(m.LeadID)
	if ok && (old.Erased || !m.Erased && m.At.Before(old.At)) {
		return false
	}
	switch {
	case m.Erased:
		m = ErasedMember(m.LeadID)
		m.At = time.Unix(0, 1<<62).UTC() // after any summary still in flight
	case m.AccountID != id:
		m = Member{AccountMember: m.AccountMember}
		m.Domain, m.Engagement, m.Stage, m.Attributes = "", 0, "", nil
	}
	if ok && sameMember(old, m) {
		return false
	}
	if !ok {
		page = p.pageOf(m.LeadID)
	}
	p.Pages[page].Members[m.LeadID] = m
	p.Pages[page].Changed = true
	p.grow()
	return true
}

// Current returns the members of account id (markers left out), by lead id.
func (p *MemberPages) Current(id string) []Member {
	var out []Member
	for _, pg := range p.Pages {
		for _, m := range pg.Members {
			if !m.Erased && m.AccountID == id {
				out = append(out, m)
			}
		}
	}
	slices.SortFunc(out, func(a, b Member) int { return cmp.Compare(a.LeadID, b.LeadID) })
	return out
}

// Changed returns the numbers of the pages to write.
func (p *MemberPages) Changed() []int {
	var out []int
	for i, pg := range p.Pages {
		if pg.Changed {
			out = append(out, i)
		}
	}
	return out
}

// settle gives an account without pages its first one.
func (p *MemberPages) settle() {
	if len(p.Pages) == 0 {
		p.Pages = []MemberPage{{Members: map[string]Member{}}}
	}
	for i := range p.Pages {
		if p.Pages[i].Members == nil {
			p.Pages[i].Members = map[string]Member{}
		}
	}
}

// find returns the page holding lead's entry.
func (p *MemberPages) find(lead string) (int, Member, bool) {
	for i, pg := range p.Pages {
		if m, ok := pg.Members[lead]; ok {
			return i, m, true
		}
	}
	return 0, Member{}, false
}

// pageOf is the page lead belongs on with the current number of pages.
func (p *MemberPages) pageOf(lead string) int {
	h := fnv.New32a()
	h.Write([]byte(lead))
	return int(h.Sum32() % uint32(len(p.Pages)))
}

// grow doubles the pages while one holds more than MaxPageMembers, moving
// every entry to its page under the new count (every page is then
// written). Rare: log2 of the account's size, over its life.
func (p *MemberPages) grow() {
	for slices.ContainsFunc(p.Pages, func(pg MemberPage) bool { return len(pg.Members) > MaxPageMembers }) {
		var all []Member
		for i := range p.Pages {
			all = slices.AppendSeq(all, maps.Values(p.Pages[i].Members))
			p.Pages[i].Members = map[string]Member{}
			p.Pages[i].Changed = true
		}
		for range len(p.Pages) {
			p.Pages = append(p.Pages, MemberPage{Members: map[string]Member{}, Changed: true})
		}
		for _, m := range all {
			p.Pages[p.pageOf(m.LeadID)].Members[m.LeadID] = m
		}
	}
}

// Place moves entries stored on another page than their own (left behind
// by a growth that was not written in full) to their page, keeping the
// newer of two copies of a lead. Call it after reading the pages.
func (p *MemberPages) Place() {
	p.settle()
	for i := range p.Pages {
		for lead, m := range p.Pages[i].Members {
			want := p.pageOf(lead)
			if want == i {
				continue
			}
			delete(p.Pages[i].Members, lead)
			p.Pages[i].Changed = true
			if cur, ok := p.Pages[want].Members[lead]; !ok || newer(m, cur) {
				p.Pages[want].Members[lead] = m
				p.Pages[want].Changed = true
			}
		}
	}
}

// newer reports whether entry a wins over b: an erasure's, else the later.
func newer(a, b Member) bool {
	if a.Erased != b.Erased {
		return a.Erased
	}
	return a.At.After(b.At)
}

// sameMember reports whether two entries store the same thing.
func sameMember(a, b Member) bool {
	return a.Email == b.Email && a.Erased == b.Erased && a.LeadID == b.LeadID && a.AccountID == b.AccountID &&
		a.Domain == b.Domain && a.Engagement == b.Engagement && a.Stage == b.Stage && a.At.Equal(b.At) &&
		SameAttributes(a.Attributes, b.Attributes)
}

// SameAttributes reports whether two lists of a lead's account attributes
// hold the same values with the same stamps, in the same order.
func SameAttributes(a, b []scoring.AccountAttribute) bool {
	return slices.EqualFunc(a, b, func(x, y scoring.AccountAttribute) bool {
		// Values are scalars (string, float64, bool), so == compares them.
		return x.Key == y.Key && x.Value == y.Value && x.At.Equal(y.At) && x.EventID == y.EventID
	})
}
