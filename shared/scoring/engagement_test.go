package scoring

import (
	"testing"
)

func TestCapsAndDecay(t *testing.T) {
	pv := func(age int) Event { return ev("page_view", daysAgo(age), map[string]any{"url": "/pricing"}) }
	repeat := func(n, age int) []Event {
		var out []Event
		for range n {
			out = append(out, pv(age))
		}
		return out
	}
	cat := func(parts ...[]Event) []Event {
		var out []Event
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		decay  string
		rule   string
		events []Event
		want   float64
		counts int // counted events still carrying weight
	}{
		// 5 today, only 3 count (30); 2 yesterday (20). 30 + 20 = 50.
		{"max_per_day", "none: true", "max_per_day: 3", cat(repeat(5, 0), repeat(2, 1)), 50, 5},
		// Earliest counting events: 1 at age 5, then 1 of the 2 at age 3.
		// 10 x 0.5^(5/10) + 10 x 0.5^(3/10) = 7.0711 + 8.1225 = 15.19
		{"max_total keeps the earliest", "half_life_days: 10", "max_total: 2", cat(repeat(1, 5), repeat(2, 3), repeat(1, 1)), 15.19, 2},
		// per-day cap applies first: age 5: 1, age 2: min(3,2)=2 -> total 3 reached.
		// 10 x 0.5^0.5 + 20 x 0.5^0.2 = 7.0711 + 17.4110 = 24.48
		{"max_per_day then max_total", "half_life_days: 10", "max_per_day: 2\n      max_total: 3", cat(repeat(1, 5), repeat(3, 2), repeat(2, 0)), 24.48, 3},
		// 10 + 10 x 0.5 + 10 x 0.25 = 17.5
		{"half-life", "half_life_days: 30", "", cat(repeat(1, 0), repeat(1, 30), repeat(1, 60)), 17.5, 3},
		// 10 x 0.5^(1/30) = 9.7716 -> 9.77
		{"half-life rounding", "half_life_days: 30", "", repeat(1, 1), 9.77, 1},
		// factor 1 while age < 7: ages 0 and 6 count, 7 and 100 do not.
		{"expire_after_days", "expire_after_days: 7", "", cat(repeat(1, 0), repeat(1, 6), repeat(1, 7), repeat(1, 100)), 20, 2},
		// no decay: 1000 days old counts in full.
		{"none", "none: true", "", cat(repeat(1, 0), repeat(1, 1000)), 20, 2},
		// 40 half-lives (1200 days at 30) is treated as exactly 0.
		{"half-life reaches zero", "half_life_days: 30", "", cat(repeat(1, 1199), repeat(1, 1200)), 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRules(t, withMQL("engagement:\n  decay: {"+tc.decay+"}\n  rules:\n    - id: pricing\n      event: page_view\n      points: 10\n      "+tc.rule+"\n"))
			got, bd := engagementOf(t, r, tc.events, noon)
			c := contribution(bd, "pricing")
			if got != tc.want || c.Points != tc.want || c.Events != tc.counts || c.RawPoints != float64(10*tc.counts) {
				t.Errorf("engagement %v (want %v), contribution %+v (want %d events)", got, tc.want, c, tc.counts)
			}
		})
	}
}

func TestBursts(t *testing.T) {
	const rules = `
engagement:
  decay: {%s}
  rules:
    - {id: pricing, event: page_view, points: 10, max_per_day: %d}
  bursts:
    - {id: urgency, rule: pricing, min_count: 3, within_days: %d, points: 20}
`
	pv := func(n, age int) []Event {
		var out []Event
		for range n {
			out = append(out, ev("page_view", daysAgo(age), nil))
		}
		return out
	}
	cat := func(parts ...[]Event) []Event {
		var out []Event
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		decay     string
		perDay    int
		within    int
		events    []Event
		want      float64
		burstWant float64
	}{
		// 2 yesterday + 1 today = 3 within days today-1..today: 30 + 20 = 50.
		{"fires", "none: true", 3, 2, cat(pv(2, 1), pv(1, 0)), 50, 20},
		// 2 two days ago + 1 today: no window of 2 days holds 3. 30.
		{"window too short", "none: true", 3, 2, cat(pv(2, 2), pv(1, 0)), 30, 0},
		// Fires on the first qualifying day only (10 days ago), decays from it:
		// rule 3 x 10 x 0.5 + 3 x 10 = 45, burst 20 x 0.5 = 10. 55.
		{"once, decaying from its day", "half_life_days: 10", 3, 1, cat(pv(3, 10), pv(3, 0)), 55, 10},
		// Counts counting events: 5 today but max_per_day 2 -> 2 < 3. 20.
		{"counts only counting events", "none: true", 2, 1, pv(5, 0), 20, 0},
		// The first qualifying day is 10 days ago and expired (factor 0):
		// the burst was awarded then and is worth 0 now, even though today
		// also qualifies. 30 today + 0 + 0.
		{"first day expired", "expire_after_days: 5", 3, 1, cat(pv(3, 10), pv(3, 0)), 30, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRules(t, withMQL(sprintf(rules, tc.decay, tc.perDay, tc.within)))
			got, bd := engagementOf(t, r, tc.events, noon)
			b := contribution(bd, "urgency")
			if got != tc.want || b.Points != tc.burstWant || b.Kind != "burst" {
				t.Errorf("engagement %v (want %v), burst %+v (want %v)", got, tc.want, b, tc.burstWant)
			}
		})
	}
}

func TestGroupsAndMax(t *testing.T) {
	r := mustRules(t, withMQL(`
engagement:
  max: 100
  groups:
    content: {max: 40, description: downloads together}
    negative: {max: 10}
  rules:
    - {id: bofu, event: content_download, where: {funnel_stage: {eq: bottom}}, points: 25, group: content}
    - {id: tofu, event: content_download, where: {funnel_stage: {eq: top}}, points: 10, group: content}
    - {id: careers, event: page_view, where: {url: {contains: careers}}, points: -15, group: negative}
    - {id: trial, event: trial_signup, points: 70}
`))
	dl := func(stage string) Event {
		return ev("content_download", daysAgo(0), map[string]any{"funnel_stage": stage})
	}
	careers := ev("page_view", daysAgo(0), map[string]any{"url": "/careers"})

	// content: 25 + 25 + 10 = 60, capped at 40 (cap line -20).
	got, bd := engagementOf(t, r, []Event{dl("bottom"), dl("bottom"), dl("top")}, noon)
	if got != 40 || contribution(bd, "content").Points != -20 || contribution(bd, "content").Kind != "cap" || contribution(bd, "bofu").Points != 50 {
		t.Errorf("group cap: %v %+v", got, bd)
	}
	// negative sums are not raised to the cap: -15 x 2 = -30 stays.
	got, _ = engagementOf(t, r, []Event{careers, ev("page_view", daysAgo(1), map[string]any{"url": "/careers"})}, noon)
	if got != -30 {
		t.Errorf("negative group: %v, want -30", got)
	}
	// engagement.max: 70 x 2 + 40 (content) - 15 = 165 -> 100, cap line -65.
	got, bd = engagementOf(t, r, []Event{ev("trial_signup", daysAgo(0), nil), ev("trial_signup", daysAgo(1), nil), dl("bottom"), dl("bottom"), careers}, noon)
	if got != 100 || contribution(bd, "engagement.max").Points != -65 {
		t.Errorf("engagement.max: %v %+v", got, bd)
	}
}

func TestNegativeTotalKept(t *testing.T) {
	r := mustRules(t, withMQL(`
engagement:
  rules:
    - {id: unsubscribe, event: unsubscribe, points: -20, max_total: 1}
`))
	got, _ := engagementOf(t, r, []Event{ev("unsubscribe", daysAgo(1), nil), ev("unsubscribe", daysAgo(0), nil)}, noon)
	if got != -20 {
		t.Errorf("engagement %v, want -20", got)
	}
}

func TestRound2(t *testing.T) {
	for in, want := range map[float64]float64{
		1.005: 1.01, -1.005: -1.01, 2.675: 2.68, 0.004: 0, -0.004: 0, -0.005: -0.01,
		62.5: 62.5, 9.771599: 9.77, 0.125: 0.13, -0.125: -0.13, 1e9 + 0.015: 1e9 + 0.02,
	} {
		if got := round2(in); got != want {
			t.Errorf("round2(%v) = %v, want %v", in, got, want)
		}
	}
}

func TestBreakdownOrderAndFit(t *testing.T) {
	r := DefaultRules()
	s := NewState()
	s.Apply(typicalEvents(100, 30, 9), r)
	res := s.Evaluate(r, benchNow)
	c := r.c
	if len(res.Breakdown) < len(c.fit)+len(c.eng)+len(c.bursts) {
		t.Fatalf("breakdown has %d lines", len(res.Breakdown))
	}
	var fit, eng float64
	for i, line := range res.Breakdown {
		switch {
		case i < len(c.fit):
			if line.Kind != "fit" || line.Rule != c.fit[i].id {
				t.Errorf("line %d: %+v", i, line)
			}
			fit += line.Points
		case i < len(c.fit)+len(c.eng):
			if line.Kind != "engagement" || line.Rule != c.eng[i-len(c.fit)].id {
				t.Errorf("line %d: %+v", i, line)
			}
			eng += line.Points
		default:
			eng += line.Points
		}
	}
	// Head of Marketing (20) at 800 people (15) in software (10), DE (5).
	if res.Score.Fit != 50 || fit != 50 || res.Score.Grade != "C" {
		t.Errorf("fit %v (lines %v) grade %s", res.Score.Fit, fit, res.Score.Grade)
	}
	// Lines are rounded one by one, so they may miss the total by cents.
	if d := eng - res.Score.Engagement; d > 0.05 || d < -0.05 {
		t.Errorf("breakdown sums to %v, engagement %v", eng, res.Score.Engagement)
	}
}
