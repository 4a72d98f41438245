package sourcestest

import (
	"strconv"
	"testing"
	"time"

	"github.com/leadscore/leadscore/infra/sdkclients"
	"github.com/leadscore/leadscore/shared/scoring"
)

// TestSDKs sends send.mjs's journey with each SDK, unchanged but for the
// API's base URL and a write key, and checks that the lead ends up with
// exactly the score the rules give its events: the identify's traits as
// attributes, both page views (the anonymous one reaching the lead through
// the alias, the userId-only one through the userId remembered with the
// email), the mapped and unmapped track calls, and the resent message
// counted once.
func TestSDKs(t *testing.T) {
	needStack(t)
	for _, sdk := range sdkclients.SDKs {
		t.Run(sdk, func(t *testing.T) {
			run := strconv.FormatInt(time.Now().UnixNano(), 36)
			r, err := sdkclients.Send(t.Context(), sdk, baseURL, writeKey, run)
			if err != nil {
				t.Fatal(err)
			}
			// Every step was answered before the next was sent; once the
			// score queues are empty, every step has been scored.
			waitScored(t)
			v, ok := lead(t, r.IDs.Email)
			if !ok || v.Attributes["journey_step"] != 8.0 {
				t.Fatalf("after scoring, lead %s: found %v, attributes %v", r.IDs.Email, ok, v.Attributes)
			}
			now := time.Now().UTC()
			want := expected(journey(r, now), now)
			if v.Score.Fit != want.Fit || v.Score.Engagement != want.Engagement || v.Score.Grade != want.Grade {
				t.Errorf("score %+v, want %+v (breakdown %+v)", v.Score, want, v.Breakdown)
			}
			// Two pricing views (not three: the resent one counts once).
			if p, _ := contribution(v, "pricing-visit"); p != 20 {
				t.Errorf("pricing-visit contributes %v, want 20 (breakdown %+v)", p, v.Breakdown)
			}
			for k, w := range map[string]any{"job_title": "VP Engineering", "company_size": 250.0, "country": "GB", "company": "Acme"} {
				if v.Attributes[k] != w {
					t.Errorf("attribute %s = %v, want %v", k, v.Attributes[k], w)
				}
			}
		})
	}
}

// journey is send.mjs's journey as the events the rules see (their ids are
// the test's: the engine only needs them distinct).
func journey(r *sdkclients.Report, at time.Time) []scoring.Event {
	pricing := map[string]any{"url": "/pricing", "title": "Pricing", "name": "Pricing"}
	evs := []scoring.Event{
		{EventID: "1", Type: "page_view", AnonymousID: r.IDs.PreviousID, Properties: pricing},
		{EventID: "2", Type: scoring.TypeIdentify, Email: r.IDs.Email, UserID: r.IDs.UserID, Lead: map[string]any{
			"first_name": "Ada", "last_name": "Lovelace", "job_title": "VP Engineering", "company": "Acme",
			"company_size": 250.0, "industry": "software", "country": "GB"}},
		{EventID: "3", Type: "page_view", UserID: r.IDs.UserID, Properties: pricing},
		{EventID: "4", Type: segmentType("Demo Requested"), UserID: r.IDs.UserID, Properties: map[string]any{"event": "Demo Requested", "plan": "enterprise"}},
		{EventID: "5", Type: scoring.TypeTrack, UserID: r.IDs.UserID, Properties: map[string]any{"event": "Pricing Calculator Used", "seats": 40.0}},
		{EventID: "6", Type: scoring.TypeGroup, UserID: r.IDs.UserID, AccountID: r.IDs.GroupID},
		{EventID: "7", Type: scoring.TypeAlias, UserID: r.IDs.UserID, Properties: map[string]any{"previous_id": r.IDs.PreviousID}},
		{EventID: "8", Type: scoring.TypeIdentify, UserID: r.IDs.UserID, Lead: map[string]any{"journey_step": 8.0}},
	}
	for i := range evs {
		evs[i].OccurredAt = at
	}
	return evs
}

// segmentType is the type the rules' sources.segment.events table gives a
// track call's name; unmapped names stay track.
func segmentType(name string) string {
	if typ, ok := rules.SegmentEventType(name); ok {
		return typ
	}
	return scoring.TypeTrack
}
