package api

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/leadscore/leadscore/shared/httpapi"
	"github.com/leadscore/leadscore/shared/preview"
	"github.com/leadscore/leadscore/shared/scoring"
	"github.com/leadscore/leadscore/shared/signals"
)

// VersionsBody is the answer to GET /v1/rules/versions, newest first.
type VersionsBody struct {
	Versions []Version `json:"versions"`
}

// Version is one published rules version. Who published it is not known:
// the API key names no person.
type Version struct {
	Version     int       `json:"version"`
	PublishedAt time.Time `json:"published_at"`
	// Summary says in a line what changed against the previous version
	// (version 1: against the default rules).
	Summary string  `json:"summary"`
	Changes Changes `json:"changes"`
}

// Changes are what a version changed against the one before it.
type Changes struct {
	Added   []string      `json:"added"`   // rule ids
	Removed []string      `json:"removed"` // rule ids
	Points  []PointChange `json:"points"`  // rules kept, with new points
	// MQL is the MQL bar, when it moved.
	MQL *BarChange `json:"mql,omitempty"`
	// Other is true when the documents differ but no rule, point or MQL
	// bar did (descriptions, conditions, decay, lists, grades...).
	Other bool `json:"other"`
}

// PointChange is one rule's points before and after.
type PointChange struct {
	Rule string  `json:"rule"`
	From float64 `json:"from"`
	To   float64 `json:"to"`
}

// BarChange is the MQL bar before and after.
type BarChange struct {
	From preview.Bar `json:"from"`
	To   preview.Bar `json:"to"`
}

func (h *Handler) listVersions(ctx context.Context, c *httpapi.Call) httpapi.Response {
	if h.history == nil {
		return httpapi.ErrorResponse(httpapi.StoreUnavailable())
	}
	published, err := h.history.RulesHistory(ctx)
	if err != nil {
		c.Log.Error("reading the rules versions failed", "error", err.Error())
		return httpapi.ErrorResponse(httpapi.StoreUnavailable())
	}
	body := VersionsBody{Versions: make([]Version, 0, len(published))}
	prev := scoring.DefaultRules()
	for _, p := range published {
		ch, err := Diff(prev, p.Rules)
		if err != nil {
			c.Log.Error("summarising a rules version failed", "rules_version", p.Rules.Version, "error", err.Error())
			return httpapi.ErrorResponse(httpapi.StoreUnavailable())
		}
		body.Versions = append(body.Versions, Version{Version: p.Rules.Version, PublishedAt: p.PublishedAt, Summary: ch.String(), Changes: ch})
		prev = p.Rules
	}
	slices.Reverse(body.Versions)
	c.Annotate("versions", len(body.Versions))
	return httpapi.JSON(http.StatusOK, body)
}

// Diff compares two rules documents: the rules added and removed, the
// points changed, the MQL bar, and whether anything else differs.
func Diff(prev, cur *scoring.Rules) (Changes, error) {
	before, err := signals.CurrentPoints(prev)
	if err != nil {
		return Changes{}, err
	}
	after, err := signals.CurrentPoints(cur)
	if err != nil {
		return Changes{}, err
	}
	ch := Changes{Added: []string{}, Removed: []string{}, Points: []PointChange{}}
	for _, id := range slices.Sorted(maps.Keys(after)) {
		p, kept := before[id]
		switch {
		case !kept:
			ch.Added = append(ch.Added, id)
		case p != after[id]:
			ch.Points = append(ch.Points, PointChange{Rule: id, From: p, To: after[id]})
		}
	}
	for _, id := range slices.Sorted(maps.Keys(before)) {
		if _, kept := after[id]; !kept {
			ch.Removed = append(ch.Removed, id)
		}
	}
	barBefore, err := preview.BarOf(prev)
	if err != nil {
		return Changes{}, err
	}
	barAfter, err := preview.BarOf(cur)
	if err != nil {
		return Changes{}, err
	}
	if barBefore != barAfter {
		ch.MQL = &BarChange{From: barBefore, To: barAfter}
	}
	named := len(ch.Added) + len(ch.Removed) + len(ch.Points)
	// Documents carry their own version number; that is no change.
	ch.Other = !bytes.Equal(prev.WithVersion(0).Document(), cur.WithVersion(0).Document()) && named == 0 && ch.MQL == nil
	return ch, nil
}

// String is the one-line summary: "points: pricing-visit 10 → 40; added
// webinar-attend".
func (ch Changes) String() string {
	var parts []string
	if len(ch.Points) > 0 {
		var ps []string
		for _, p := range ch.Points {
			ps = append(ps, fmt.Sprintf("%s %g → %g", p.Rule, p.From, p.To))
		}
		parts = append(parts, "points: "+strings.Join(ps, ", "))
	}
	if len(ch.Added) > 0 {
		parts = append(parts, "added "+strings.Join(ch.Added, ", "))
	}
	if len(ch.Removed) > 0 {
		parts = append(parts, "removed "+strings.Join(ch.Removed, ", "))
	}
	if ch.MQL != nil {
		parts = append(parts, fmt.Sprintf("MQL bar fit %g → %g, engagement %g → %g",
			ch.MQL.From.FitMin, ch.MQL.To.FitMin, ch.MQL.From.EngagementMin, ch.MQL.To.EngagementMin))
	}
	switch {
	case len(parts) > 0:
		return strings.Join(parts, "; ")
	case ch.Other:
		return "no rule or point changed; other settings did"
	}
	return "the same document as before"
}
