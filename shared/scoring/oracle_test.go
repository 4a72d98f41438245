package scoring

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

// oracleEngagement computes docs/scoring.md section 3 directly from the event
// list, with none of the state's machinery (per-day counts, caches, pruning),
// to check the state against an independent reading of the contract. It is
// one function on purpose: it reads as section 3 does, clause by clause, and
// splitting it would share helpers with the code it checks.
func oracleEngagement(c *compiled, evs []Event, now time.Time) float64 {
	today := dayOf(now)
	factor := func(d int32) float64 {
		age := float64(max(today-d, 0))
		switch c.decay.kind {
		case decayHalfLife:
			if age >= math.Ceil(halfLivesToZero*c.decay.halfLife) {
				return 0
			}
			return math.Pow(0.5, age/c.decay.halfLife)
		case decayExpire:
			if age < float64(c.decay.expire) {
				return 1
			}
			return 0
		}
		return 1
	}
	groups := make([]float64, len(c.groups))
	var total float64
	add := func(g int, v float64) {
		if g >= 0 {
			groups[g] += v
		} else {
			total += v
		}
	}
	counting := make([][]Event, len(c.eng))
	for ri := range c.eng {
		rule := &c.eng[ri]
		var matched []Event
		for _, e := range evs {
			if e.Type == rule.event && rule.matches(e.Properties) {
				matched = append(matched, e)
			}
		}
		sort.Slice(matched, func(i, j int) bool {
			a, b := matched[i], matched[j]
			if dayOf(a.OccurredAt) != dayOf(b.OccurredAt) {
				return dayOf(a.OccurredAt) < dayOf(b.OccurredAt)
			}
			if !a.OccurredAt.Equal(b.OccurredAt) {
				return a.OccurredAt.Before(b.OccurredAt)
			}
			return a.EventID < b.EventID
		})
		perDay := map[int32]uint32{}
		for _, e := range matched {
			d := dayOf(e.OccurredAt)
			if rule.maxPerDay > 0 && perDay[d] >= rule.maxPerDay {
				continue
			}
			if rule.maxTotal > 0 && uint32(len(counting[ri])) >= rule.maxTotal {
				break
			}
			perDay[d]++
			counting[ri] = append(counting[ri], e)
		}
		for _, e := range counting[ri] {
			add(rule.group, rule.points*factor(dayOf(e.OccurredAt)))
		}
	}
	for _, b := range c.bursts {
		cs := counting[b.rule]
		for _, e := range cs {
			d := dayOf(e.OccurredAt)
			n := 0
			for _, o := range cs {
				if od := dayOf(o.OccurredAt); od > d-b.withinDays && od <= d {
					n++
				}
			}
			if uint32(n) >= b.minCount {
				add(b.group, b.points*factor(d)) // first such day: cs is sorted
				break
			}
		}
	}
	for gi, v := range groups {
		total += min(v, c.groups[gi].max)
	}
	if c.hasEngMax {
		total = min(total, c.engMax)
	}
	return total
}

func TestEngagementMatchesOracle(t *testing.T) {
	end := time.Date(2026, 5, 1, 18, 0, 0, 0, time.UTC)
	nows := []time.Time{end, end.Add(36 * time.Hour), end.AddDate(0, 0, 9), end.AddDate(0, 0, 45)}
	for _, form := range decayForms {
		r := mustRules(t, sprintf(propertyRules, form))
		rng := rand.New(rand.NewPCG(5, uint64(len(form))))
		for it := range 300 {
			evs := randomEvents(rng, 1+rng.IntN(150), 1+rng.IntN(60), end)
			// Applied in shuffled batches so that pruning happens midway.
			s := NewState()
			perm := rng.Perm(len(evs))
			for len(perm) > 0 {
				k := 1 + rng.IntN(len(perm))
				batch := make([]Event, k)
				for i, p := range perm[:k] {
					batch[i] = evs[p]
				}
				perm = perm[k:]
				s.Apply(batch, r)
			}
			for _, now := range nows {
				got, _ := s.Scores(r, now)
				want := oracleEngagement(r.c, evs, now)
				if math.Abs(got.Engagement-want) > 0.005+1e-9 {
					t.Fatalf("%s #%d at %v: engagement %v, oracle %v", form, it, now, got.Engagement, want)
				}
			}
		}
	}
}
