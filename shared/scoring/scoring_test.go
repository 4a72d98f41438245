package scoring

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// day0 is "today" in most tests: 2026-03-10, evaluated at noon UTC.
var (
	day0 = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	noon = day0.Add(12 * time.Hour)
)

// daysAgo returns 10:00 UTC n days before day0.
func daysAgo(n int) time.Time { return day0.AddDate(0, 0, -n).Add(10 * time.Hour) }

func mustRules(t testing.TB, doc string) *Rules {
	t.Helper()
	r, err := ParseRules([]byte(doc))
	if err != nil {
		t.Fatalf("ParseRules: %v\n%s", err, doc)
	}
	return r
}

// withMQL appends a lifecycle section so engagement-only documents parse.
func withMQL(doc string) string {
	return doc + "\nmql: {fit_min: 40, engagement_min: 50}\n"
}

var seq int

func ev(typ string, at time.Time, props map[string]any) Event {
	seq++
	return Event{EventID: "e" + strings.Repeat("0", 6-len(itoa(seq))) + itoa(seq), Type: typ, OccurredAt: at, Email: "ada@acme.io", Properties: props}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

func engagementOf(t *testing.T, r *Rules, evs []Event, now time.Time) (float64, []Contribution) {
	t.Helper()
	s := NewState()
	s.Apply(evs, r)
	res := s.Evaluate(r, now)
	return res.Score.Engagement, res.Breakdown
}

func contribution(bd []Contribution, rule string) Contribution {
	for _, c := range bd {
		if c.Rule == rule {
			return c
		}
	}
	return Contribution{Rule: "(missing " + rule + ")", Points: math.NaN()}
}

func problemsOf(t *testing.T, doc string) []Problem {
	t.Helper()
	_, err := ParseRules([]byte(doc))
	var re *RulesError
	if !errors.As(err, &re) {
		t.Fatalf("want *RulesError, got %v", err)
	}
	return re.Problems
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
