package chaos

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/leadscore/leadscore/infra/emulators"
	"github.com/leadscore/leadscore/infra/faults"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// request answers one API request through the api handler.
func (w *world) request(method, path, routeKey string, params map[string]string, query map[string]string, body []byte) events.APIGatewayV2HTTPResponse {
	req := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: routeKey, RawPath: path, PathParameters: params,
		QueryStringParameters: query,
		Headers:               map[string]string{"x-api-key": apiKey, "content-type": "application/json"}, Body: string(body),
		RequestContext: events.APIGatewayV2HTTPRequestContext{RouteKey: routeKey, RequestID: "req-privacy",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path}}}
	resp, _ := w.api.Handle(context.Background(), req)
	return resp
}

// drain runs the score and handoff queues dry through pumps that never
// kill an invocation.
func (w *world) drain(t *testing.T) {
	t.Helper()
	var ps []*pump
	for _, q := range scoreQueueIDs(t) {
		ps = append(ps, &pump{w: w, queueURL: stack.QueueURLs[q], arn: stack.QueueARNs[q], invoke: w.score.Handle, rnd: newRand()})
	}
	ps = append(ps, &pump{w: w, queueURL: stack.HandoffQueueURL, arn: stack.QueueARNs[emulators.HandoffQueueID], invoke: w.handoff.Handle, rnd: newRand()})
	for _, p := range ps {
		for w.queueDepth(t.Context(), p.queueURL) > 0 {
			if _, err := p.once(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func rawItems(t *testing.T, subject string) []map[string]types.AttributeValue {
	t.Helper()
	return rawPartition(t, "LEAD#"+subject)
}

// rawPartition is every item under partition key pk.
func rawPartition(t *testing.T, pk string) []map[string]types.AttributeValue {
	t.Helper()
	out, err := stack.DynamoDB().Query(t.Context(), &awsdynamodb.QueryInput{TableName: aws.String(stack.TableName),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}},
		ConsistentRead:            aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Items
}

// TestDeleteLeadErasesEverythingAndQueuedEventsCannotRecreateIt goes
// through the real handlers: a lead with a stitched cookie is scored, more
// of its events are accepted but still queued, DELETE /v1/leads/{id}
// answers 204; once the queue has been processed the table holds, under
// the lead and its visitor, only a tombstone without personal data, and
// the API answers 404. Every log line is checked for personal data.
func TestDeleteLeadErasesEverythingAndQueuedEventsCannotRecreateIt(t *testing.T) {
	start := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	w := newWorld(t, faults.Config{}, 0, start)
	email, cookie := "erase.me@example.org", "cookie-erase-1"
	id, vid := leadscore.LeadID(email), leadscore.VisitorID(cookie)
	post := func(evs ...map[string]any) {
		t.Helper()
		if st := w.post(context.Background(), jsonBody(map[string]any{"events": evs}), -1); st != http.StatusAccepted {
			t.Fatalf("posting events: status %d", st)
		}
	}
	at := start.Add(-time.Hour).Format(time.RFC3339)
	post(map[string]any{"event_id": "p1", "type": "page_view", "occurred_at": at, "anonymous_id": cookie, "properties": map[string]any{"url": "/pricing"}})
	w.drain(t)
	post(map[string]any{"event_id": "p2", "type": "demo_request", "occurred_at": at, "email": email, "anonymous_id": cookie,
		"lead": map[string]any{"first_name": "Erin", "phone": "+1 415 555 0100", "job_title": "CTO", "company_size": 500}})
	w.drain(t)
	if n := len(rawItems(t, id)); n < 3 {
		t.Fatalf("before erasure the lead has %d items, want the lead and its records", n)
	}
	if n := len(rawItems(t, vid)); n < 2 {
		t.Fatalf("before erasure the visitor has %d items, want its marker and record", n)
	}

	// Accepted but still queued when the erasure comes.
	post(map[string]any{"event_id": "p3", "type": "form_submit", "occurred_at": at, "email": email, "anonymous_id": cookie,
		"lead": map[string]any{"last_name": "Erased", "phone": "+1 415 555 0100"}})
	if resp := w.request("DELETE", "/v1/leads/"+id, "DELETE /v1/leads/{lead_id}", map[string]string{"lead_id": id}, nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE answered %d %s", resp.StatusCode, resp.Body)
	}
	w.drain(t)
	w.sweepForLogs(t)

	items := rawItems(t, id)
	if len(items) != 1 {
		t.Fatalf("after erasure the lead has %d items, want only its tombstone: %v", len(items), items)
	}
	for name := range items[0] {
		if name != "pk" && name != "sk" && name != "erased_at" && name != "expires_at" {
			t.Errorf("tombstone has attribute %s: %v", name, items[0])
		}
	}
	if dump := strings.ToLower(stringify(items)); strings.Contains(dump, "erase.me") || strings.Contains(dump, "555") || strings.Contains(dump, "erin") {
		t.Errorf("the table still holds personal data of the erased lead: %s", dump)
	}
	if items := rawItems(t, vid); len(items) != 0 {
		t.Errorf("the visitor still has %d items: %v", len(items), items)
	}
	// Its account (example.org's) keeps a member tombstone, nothing of the person.
	acct := scoring.AccountIDForDomain("example.org")
	if ms, err := w.rawDDB.AccountMembers(t.Context(), acct); err != nil || len(ms) != 0 {
		t.Errorf("the erased lead's account still has members %+v (%v)", ms, err)
	}
	if dump := strings.ToLower(stringify(rawPartition(t, "ACCOUNT#"+acct))); strings.Contains(dump, "erase.me") || strings.Contains(dump, "555") || strings.Contains(dump, "erin") {
		t.Errorf("the account still holds personal data of the erased lead: %s", dump)
	}
	for _, r := range []events.APIGatewayV2HTTPResponse{
		w.request("GET", "/v1/leads/"+id, "GET /v1/leads/{lead_id}", map[string]string{"lead_id": id}, nil, nil),
		w.request("GET", "/v1/leads", "GET /v1/leads", nil, map[string]string{"email": email}, nil),
	} {
		if r.StatusCode != http.StatusNotFound {
			t.Errorf("reading the erased lead answered %d %s, want 404", r.StatusCode, r.Body)
		}
	}
	checkLogs(t, w)
	// The api function's erase and reads, and ingestion's, within their roles.
	checkCallsAgainstPolicies(t, w.inj.Calls())
}

func stringify(v any) string {
	return string(jsonBody(v))
}

// sweepForLogs runs one sweep so its log lines are part of the check.
func (w *world) sweepForLogs(t *testing.T) {
	t.Helper()
	if _, err := w.sweep.Handle(t.Context(), events.EventBridgeEvent{ID: "sweep-privacy", Time: w.clock.Advance(2 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
}
