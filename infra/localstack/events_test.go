package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/leadscore/leadscore/infra/template"
)

// TestEventFiles checks events/: every file decodes, field for field, into
// the aws-lambda-go type of its trigger, every API request names a route of
// template.yaml, and every route has a sample.
func TestEventFiles(t *testing.T) {
	root, err := template.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := template.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	routes, err := tmpl.Routes()
	if err != nil {
		t.Fatal(err)
	}
	r := newRouter(routes)
	files, err := filepath.Glob(filepath.Join(root, "events", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no events/*.json (%v)", err)
	}
	covered := map[string]bool{}
	kinds := map[string]int{}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			strict := func(v any) error {
				dec := json.NewDecoder(bytes.NewReader(b))
				dec.DisallowUnknownFields()
				return dec.Decode(v)
			}
			var probe map[string]json.RawMessage
			if err := json.Unmarshal(b, &probe); err != nil {
				t.Fatal(err)
			}
			switch {
			case probe["routeKey"] != nil:
				kinds["api"]++
				var ev events.APIGatewayV2HTTPRequest
				if err := strict(&ev); err != nil {
					t.Fatalf("not an API Gateway v2 request: %v", err)
				}
				rt, params := r.match(ev.RequestContext.HTTP.Method, ev.RawPath)
				if rt == nil || rt.Key() != ev.RouteKey || ev.RequestContext.RouteKey != ev.RouteKey {
					t.Fatalf("routeKey %q does not match a template route for %s %s", ev.RouteKey, ev.RequestContext.HTTP.Method, ev.RawPath)
				}
				for k, v := range params {
					if ev.PathParameters[k] != v {
						t.Errorf("pathParameters[%s] = %q, want %q", k, ev.PathParameters[k], v)
					}
				}
				for k := range ev.Headers {
					if k != strings.ToLower(k) {
						t.Errorf("header %q is not lower-case", k)
					}
				}
				if ct := ev.Headers["content-type"]; ev.Body != "" && ev.IsBase64Encoded == isText(ct) {
					t.Errorf("isBase64Encoded %v for content-type %q; API Gateway would say %v", ev.IsBase64Encoded, ct, !isText(ct))
				}
				covered[ev.RouteKey] = true
			case probe["Records"] != nil:
				kinds["sqs"]++
				var ev events.SQSEvent
				if err := strict(&ev); err != nil {
					t.Fatalf("not an SQS event: %v", err)
				}
				for _, m := range ev.Records {
					if m.MessageId == "" || m.ReceiptHandle == "" || m.EventSource != "aws:sqs" || m.Attributes["ApproximateReceiveCount"] == "" {
						t.Errorf("record %+v lacks what Lambda always sends", m)
					}
					if !json.Valid([]byte(m.Body)) {
						t.Errorf("record %s body is not JSON", m.MessageId)
					}
				}
			case probe["detail-type"] != nil:
				kinds["schedule"]++
				var ev events.EventBridgeEvent
				if err := strict(&ev); err != nil {
					t.Fatalf("not a scheduled event: %v", err)
				}
				if ev.Time.IsZero() || ev.DetailType != "Scheduled Event" {
					t.Errorf("time %v detail-type %q; the sweep's clock is `time`", ev.Time, ev.DetailType)
				}
			default:
				t.Fatal("neither an API request, an SQS batch nor a scheduled event")
			}
		})
	}
	for _, rt := range routes {
		if !covered[rt.Key()] {
			t.Errorf("route %s has no sample in events/", rt.Key())
		}
	}
	if kinds["sqs"] < 2 || kinds["schedule"] < 1 {
		t.Errorf("events/ has %v; want an SQS batch for score and for handoff and a scheduled event", kinds)
	}
}
