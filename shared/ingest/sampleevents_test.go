package ingest

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/leadscore/leadscore/shared/config"
)

// TestSampleEvents sends every API Gateway request of the repository's
// events/ folder (what `make invoke` uses) through the handler, configured
// as the local stack configures it, with the clock at the request's time.
func TestSampleEvents(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "events", "*.json"))
	if len(files) == 0 {
		t.Skip("events/ not written yet")
	}
	withStore := func(store, noStore int) int {
		return map[bool]int{true: store, false: noStore}[storeAvailable]
	}
	want := map[string]int{
		"post-event.json":         http.StatusAccepted,
		"post-form.json":          http.StatusSeeOther,
		"preflight-form.json":     http.StatusNoContent,
		"get-demo-page.json":      http.StatusOK,
		"get-lead.json":           withStore(http.StatusNotFound, http.StatusServiceUnavailable),
		"get-lead-by-email.json":  withStore(http.StatusNotFound, http.StatusServiceUnavailable),
		"list-leads.json":         withStore(http.StatusOK, http.StatusServiceUnavailable),
		"delete-lead.json":        withStore(http.StatusNoContent, http.StatusServiceUnavailable),
		"get-rules.json":          withStore(http.StatusOK, http.StatusServiceUnavailable),
		"put-rules.json":          withStore(http.StatusOK, http.StatusServiceUnavailable),
		"get-rescore.json":        http.StatusTeapot, // an added route, answered by its owner
		"get-signals-report.json": http.StatusTeapot,
	}
	var now time.Time
	e := newEnv(t, func(o *Options) {
		o.APIKey = "local-dev-key"
		o.Local = true
		o.Forms = map[string]config.Form{"contact": {Type: "form_submit", AllowedOrigins: []string{"http://localhost:*", "http://127.0.0.1:*"}}}
		o.Now = func() time.Time { return now }
		teapot := func(context.Context, events.APIGatewayV2HTTPRequest, map[string]string) events.APIGatewayV2HTTPResponse {
			return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusTeapot}
		}
		o.Routes = map[string]RouteFunc{"GET /v1/rules/{version}/rescore": teapot, "GET /v1/reports/signals": teapot}
	})
	enqueued := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var req events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(b, &req); err != nil || req.RouteKey == "" {
			continue // not an API Gateway request (SQS, schedule)
		}
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			now = time.UnixMilli(req.RequestContext.TimeEpoch).UTC()
			resp := e.do(t, req)
			w, ok := want[name]
			if !ok {
				t.Fatalf("no expectation for %s (status %d)", name, resp.StatusCode)
			}
			if resp.StatusCode != w {
				t.Fatalf("status %d body %s; want %d", resp.StatusCode, resp.Body, w)
			}
			if w == http.StatusAccepted || w == http.StatusSeeOther {
				enqueued++
			}
			if name == "put-rules.json" && w == http.StatusOK {
				enqueued++ // the first page message of the version's rescore
			}
		})
	}
	e.received(t, enqueued)
}
