package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// scoreBatch is the SQS event Lambda would hand the score function: n event
// messages for leads leads, the funnel's common event types, each lead with
// its attributes on its first event.
func scoreBatch(n, leads int, queueARN string, now time.Time) events.SQSEvent {
	types := []struct {
		typ   string
		props map[string]any
	}{
		{"page_view", map[string]any{"url": "/pricing", "duration_s": 90.0}},
		{"page_view", map[string]any{"url": "/blog/mql-vs-sql"}},
		{"content_download", map[string]any{"asset_id": "roi-calculator", "funnel_stage": "bottom"}},
		{"webinar_register", map[string]any{"campaign": "product-tour"}},
		{"email_click", map[string]any{"url": "/blog/intent-data"}},
		{"page_view", map[string]any{"url": "/pricing"}},
		{"trial_signup", nil},
		{"demo_request", map[string]any{"form_id": "demo"}},
	}
	ev := events.SQSEvent{}
	for i := range n {
		lead := i % leads
		email := fmt.Sprintf("bench.lead%d@acme.example.com", lead)
		t := types[(i/leads)%len(types)]
		e := &scoring.Event{EventID: fmt.Sprintf("bench-%d", i), Type: t.typ, OccurredAt: now.Add(-time.Duration(n-i) * time.Second),
			Email: email, Properties: t.props}
		if i < leads {
			e.Lead = map[string]any{"job_title": "Director of Marketing", "company_size": 800.0, "industry": "software", "country": "US", "company": "Acme"}
		}
		id := leadscore.LeadID(leadscore.NormalizeEmail(email))
		body, _ := json.Marshal(leadscore.ScoreMessage{Kind: leadscore.KindEvent, LeadID: id, Event: e})
		ev.Records = append(ev.Records, sqsRecord(i, string(body), id, queueARN, now))
	}
	return ev
}

// ingestRequest is an API Gateway HTTP API (payload 2.0) request posting n
// events of leads leads in one body, as a server-to-server integration does.
func ingestRequest(n, leads int, apiKey string, now time.Time) events.APIGatewayV2HTTPRequest {
	var evs []map[string]any
	for i := range n {
		evs = append(evs, map[string]any{
			"event_id": fmt.Sprintf("bench-ingest-%d", i), "type": "page_view", "occurred_at": now.Format(time.RFC3339),
			"email":      fmt.Sprintf("bench.ingest%d@acme.example.com", i%leads),
			"lead":       map[string]any{"job_title": "Director of Marketing", "company_size": 800},
			"properties": map[string]any{"url": "/pricing", "duration_s": 75},
		})
	}
	body, _ := json.Marshal(map[string]any{"events": evs})
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "POST /v1/events", RawPath: "/v1/events",
		Headers: map[string]string{"content-type": "application/json", "x-api-key": apiKey},
		Body:    string(body),
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "bench-request", Stage: "$default", RouteKey: "POST /v1/events",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/v1/events", Protocol: "HTTP/1.1", SourceIP: "127.0.0.1", UserAgent: "bench"},
		},
	}
}

// handoffBatch is n handoff messages (MQL transitions of distinct leads).
func handoffBatch(n int, queueARN string, now time.Time) events.SQSEvent {
	ev := events.SQSEvent{}
	for i := range n {
		id := leadscore.LeadID(fmt.Sprintf("bench.handoff%d@acme.example.com", i))
		h := leadscore.Handoff{
			TransitionID: fmt.Sprintf("tr_bench%06d", i), Type: "lead.mql", OccurredAt: now, RulesVersion: 1,
			Lead: leadscore.LeadView{
				LeadID: id, Email: fmt.Sprintf("bench.handoff%d@acme.example.com", i),
				Attributes: map[string]any{"job_title": "Director of Marketing", "company_size": 800, "industry": "software", "country": "US"},
				Score:      scoring.Score{Fit: 50, Engagement: 75, Grade: "D"},
				Stage:      scoring.StageMQL,
				StageHistory: []scoring.Transition{
					{From: scoring.StageVisitor, To: scoring.StageLead, At: now.Add(-time.Hour), Reason: "identified", RulesVersion: 1},
					{From: scoring.StageLead, To: scoring.StageMQL, At: now, Reason: "fit and engagement", RulesVersion: 1},
				},
				Breakdown: []scoring.Contribution{
					{Rule: "senior-title", Kind: "fit", Points: 20, RawPoints: 20, Events: 0},
					{Rule: "pricing-visit", Kind: "engagement", Points: 30, RawPoints: 30, Events: 3},
					{Rule: "content-bottom", Kind: "engagement", Points: 25, RawPoints: 25, Events: 1, Group: "content"},
				},
				LastActivityAt: now, RulesVersion: 1, EvaluatedAt: now,
			},
		}
		body, _ := json.Marshal(h)
		ev.Records = append(ev.Records, sqsRecord(i, string(body), id, queueARN, now))
	}
	return ev
}

func sqsRecord(i int, body, leadID, queueARN string, now time.Time) events.SQSMessage {
	ms := strconv.FormatInt(now.UnixMilli(), 10)
	return events.SQSMessage{
		MessageId:     fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
		ReceiptHandle: fmt.Sprintf("bench-receipt-%d", i),
		Body:          body,
		Attributes: map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": ms,
			"ApproximateFirstReceiveTimestamp": ms, "SenderId": "AIDAEXAMPLE"},
		MessageAttributes: map[string]events.SQSMessageAttribute{"lead_id": {StringValue: &leadID, DataType: "String"}},
		EventSource:       "aws:sqs",
		EventSourceARN:    queueARN,
		AWSRegion:         "us-east-1",
	}
}
