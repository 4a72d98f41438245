package ingest

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/leadscore/leadscore/shared/config"
)

// TestSampleEvents sends every API Gateway request of the repository's
// events/ folder that is the ingest function's (what `make invoke FN=ingest`
// uses; the api function's are events/api-*.json) through the handler,
// configured as the local stack configures it, with the clock at the
// request's time.
func TestSampleEvents(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "events", "*.json"))
	if len(files) == 0 {
		t.Fatal("no sample events in events/")
	}
	want := map[string]int{
		"post-event.json":        http.StatusAccepted,
		"post-form.json":         http.StatusSeeOther,
		"preflight-form.json":    http.StatusNoContent,
		"get-demo-page.json":     http.StatusOK,
		"segment-batch.json":     http.StatusOK,
		"segment-track.json":     http.StatusOK,
		"segment-identify.json":  http.StatusOK,
		"segment-page.json":      http.StatusOK,
		"segment-screen.json":    http.StatusOK,
		"segment-group.json":     http.StatusOK,
		"segment-alias.json":     http.StatusOK,
		"segment-webhook.json":   http.StatusOK,
		"collect.json":           http.StatusAccepted,
		"preflight-collect.json": http.StatusNoContent,
		"get-tracker.json":       http.StatusOK,
	}
	var now time.Time
	e := newEnv(t, func(o *Options) {
		o.APIKey = "local-dev-key"
		// The local stack's write key and site (infra/localstack's defaults).
		o.WriteKeys = []string{"wk_local_dev_write_key"}
		o.SegmentWebhookSecret = "local-dev-segment-secret"
		o.Sites = map[string]config.Site{"local": {Key: "pk_local_dev_site_key", AllowedOrigins: []string{"http://localhost:*", "http://127.0.0.1:*"}}}
		o.Local = true
		o.Forms = map[string]config.Form{"contact": {Type: "form_submit", AllowedOrigins: []string{"http://localhost:*", "http://127.0.0.1:*"}}}
		o.Now = func() time.Time { return now }
	})
	enqueued, sent := 0, 0
	for _, f := range files {
		name := filepath.Base(f)
		if strings.HasPrefix(name, "api-") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var req events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(b, &req); err != nil || req.RouteKey == "" {
			continue // not an API Gateway request (SQS, schedule)
		}
		sent++
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
			switch name {
			case "segment-batch.json":
				enqueued += 3
			case "post-event.json", "post-form.json", "collect.json", "segment-webhook.json":
				enqueued++
			default:
				if strings.HasPrefix(name, "segment-") {
					enqueued++
				}
			}
		})
	}
	if sent != len(want) {
		t.Errorf("sent %d ingest sample requests, want one per expectation (%d)", sent, len(want))
	}
	e.received(t, enqueued)
}
