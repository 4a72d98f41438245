package leadscore

import (
	"context"
	"time"

	"github.com/leadscore/leadscore/shared/scoring"
)

// PublishedRules is one published rules version and when it was published.
type PublishedRules struct {
	Rules       *scoring.Rules
	PublishedAt time.Time
}

// RulesHistory lists the published rules versions (GET /v1/rules/versions).
type RulesHistory interface {
	// RulesHistory returns every published version, oldest first; none
	// when nothing was published (the defaults apply).
	RulesHistory(ctx context.Context) ([]PublishedRules, error)
}

// EventReader reads the events recorded for a lead (GET
// /v1/leads/{lead_id}/events, the console's latest events).
type EventReader interface {
	// EventHistory returns every recorded event of subjectID.
	EventHistory(ctx context.Context, subjectID string) ([]scoring.Event, error)
}
