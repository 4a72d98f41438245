package ingest

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/leadscore/leadscore/shared/httpapi"
	"github.com/leadscore/leadscore/shared/segment"
	"github.com/leadscore/leadscore/shared/tracker"
)

const (
	browserUA  = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"
	headlessUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36"
)

// request is a request to one of the sources' routes, as API Gateway
// carries it, without any key; headers are name, value pairs.
func request(t *testing.T, method, path, body string, headers ...string) httpapi.Request {
	t.Helper()
	req := withBody(load(t, "post-event.json"), body, false)
	req.RouteKey, req.RawPath = method+" "+path, path
	req.RequestContext.RouteKey = req.RouteKey
	req.RequestContext.HTTP.Method, req.RequestContext.HTTP.Path = method, path
	req = withHeader(req, "x-api-key", "")
	for i := 0; i+1 < len(headers); i += 2 {
		req = withHeader(req, headers[i], headers[i+1])
	}
	return req
}

func basic(key string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"))
}

// status asserts the answer's status and, for an error, its code.
func status(t *testing.T, resp httpapi.Response, want int, code string) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("status %d body %s; want %d", resp.StatusCode, resp.Body, want)
	}
	if code != "" {
		if got := decodeError(t, resp).Error; got != code {
			t.Fatalf("error code %q, want %q (%s)", got, code, resp.Body)
		}
	}
}

const segmentJourney = `{"sentAt":"2026-11-22T10:15:00Z","batch":[
	{"type":"identify","messageId":"m-1","userId":"u-1","anonymousId":"a-1","timestamp":"2026-11-22T10:14:00Z","traits":{"email":"Ada@Example.com","title":"VP Engineering","employees":250}},
	{"type":"page","messageId":"m-2","userId":"u-1","timestamp":"2026-11-22T10:14:10Z","properties":{"url":"https://www.example.com/pricing?x=1"}},
	{"type":"track","messageId":"m-3","userId":"u-1","event":"Pricing Calculator Used","properties":{"seats":40}},
	{"type":"group","messageId":"m-4","userId":"u-1","groupId":"acme-42","traits":{"name":"Acme","employees":250}},
	{"type":"alias","messageId":"m-5","userId":"u-1","previousId":"a-0"}]}`

func TestSegmentBatch(t *testing.T) {
	e := newEnv(t)
	resp := e.do(t, request(t, "POST", "/v1/batch", segmentJourney, "authorization", basic(testWriteKey)))
	status(t, resp, http.StatusOK, "")
	if resp.Body != `{"success":true}` {
		t.Errorf("body %s, want Segment's {\"success\":true}", resp.Body)
	}
	got := e.received(t, 5)
	want := []struct{ id, typ string }{{"m-1", "identify"}, {"m-2", "page_view"}, {"m-3", "track"}, {"m-4", "group"}, {"m-5", "alias"}}
	for i, w := range want {
		ev := got[i].msg.Event
		if ev.EventID != w.id || ev.Type != w.typ {
			t.Errorf("message %d: %s %s, want %s %s", i, ev.EventID, ev.Type, w.id, w.typ)
		}
	}
	id := got[0].msg.Event
	if id.Email != "ada@example.com" || id.UserID != "u-1" || id.Lead["job_title"] != "VP Engineering" || id.Lead["company_size"] != 250.0 ||
		!id.OccurredAt.Equal(testNow.Add(-time.Minute)) {
		t.Errorf("identify enqueued as %+v", id)
	}
	if got[1].msg.Event.Properties["url"] != "/pricing" || got[2].msg.Event.Properties["event"] != "Pricing Calculator Used" {
		t.Errorf("page %v, track %v", got[1].msg.Event.Properties, got[2].msg.Event.Properties)
	}
	if got[3].msg.Event.AccountID != "acme-42" || got[3].msg.Event.Account["name"] != "Acme" {
		t.Errorf("group %+v", got[3].msg.Event)
	}
}

func TestSegmentAuth(t *testing.T) {
	e := newEnv(t)
	body := `{"batch":[{"type":"track","event":"x","userId":"u"}]}`
	for name, tc := range map[string]struct {
		headers []string
		want    int
	}{
		"write key by Basic":   {[]string{"authorization", basic(testWriteKey)}, 200},
		"API key by Basic":     {[]string{"authorization", basic(testKey)}, 200},
		"API key in x-api-key": {[]string{"x-api-key", testKey}, 200},
		"wrong Basic user":     {[]string{"authorization", basic("wk_test_0123456789aX")}, 401},
		"a site key":           {[]string{"authorization", basic(testSiteKey)}, 401},
		"no key":               {nil, 401},
	} {
		t.Run(name, func(t *testing.T) {
			resp := e.do(t, request(t, "POST", "/v1/batch", body, tc.headers...))
			status(t, resp, tc.want, "")
			if tc.want == 200 {
				e.received(t, 1)
			}
		})
	}
	e.queueEmpty(t)
}

func TestSegmentSingleMessageRoutes(t *testing.T) {
	e := newEnv(t)
	for path, want := range map[string]string{
		"/v1/track": "track", "/v1/identify": "identify", "/v1/page": "page_view", "/v1/screen": "page_view",
		"/v1/group": "group", "/v1/alias": "alias",
	} {
		// The route names the type; the body's type is ignored.
		body := `{"type":"track","userId":"u","event":"Something Happened","groupId":"g-1","previousId":"p-1","properties":{"path":"/a"}}`
		resp := e.do(t, request(t, "POST", path, body, "authorization", basic(testWriteKey)))
		status(t, resp, http.StatusOK, "")
		if got := e.received(t, 1)[0].msg.Event.Type; got != want {
			t.Errorf("%s enqueued a %s, want %s", path, got, want)
		}
	}
}

// A batch mixing good and bad messages: the good ones are enqueued, the bad
// ones named in a 400 (which the SDKs do not retry).
func TestSegmentBatchKeepsTheGoodMessages(t *testing.T) {
	e := newEnv(t)
	body := `{"batch":[
		{"type":"track","messageId":"good-1","event":"x","userId":"u"},
		{"type":"track","messageId":"bad-1","userId":"u"},
		{"type":"identify","messageId":"bad-2","userId":"u","traits":{"email":"not-an-email"}},
		{"type":"teleport","userId":"u"},
		{"type":"page","messageId":"good-2","anonymousId":"a","properties":{"path":"/pricing"}},
		{"type":"group","messageId":"bad-3","userId":"u","groupId":"Acme Inc"}]}`
	resp := e.do(t, request(t, "POST", "/v1/batch", body, "authorization", basic(testWriteKey)))
	status(t, resp, http.StatusBadRequest, httpapi.CodeInvalidRequest)
	eb := decodeError(t, resp)
	wantFields := []string{"batch[3].type", "batch[1].event", "batch[5].groupId", "batch[2].email"}
	if got := strings.Join(fields(eb.Details), ","); got != strings.Join(wantFields, ",") {
		t.Errorf("details name %s, want %s", got, strings.Join(wantFields, ","))
	}
	if !strings.Contains(resp.Body, `"accepted":2`) || !strings.Contains(resp.Body, `"success":false`) {
		t.Errorf("body %s does not say 2 were accepted", resp.Body)
	}
	got := e.received(t, 2)
	if got[0].msg.Event.EventID != "good-1" || got[1].msg.Event.EventID != "good-2" {
		t.Errorf("enqueued %s, %s", got[0].msg.Event.EventID, got[1].msg.Event.EventID)
	}
}

func TestSegmentSizeLimits(t *testing.T) {
	e := newEnv(t)
	pad := func(n int) string {
		head := `{"type":"track","event":"x","userId":"u","properties":{"p":"`
		return head + strings.Repeat("p", n-len(head)-3) + `"}}`
	}
	// 33 KB on a single-message route: refused whole, 400 as Segment does.
	resp := e.do(t, request(t, "POST", "/v1/track", pad(33*1024), "authorization", basic(testWriteKey)))
	status(t, resp, http.StatusBadRequest, httpapi.CodePayloadTooLarge)
	// 33 KB inside a batch: that message only.
	resp = e.do(t, request(t, "POST", "/v1/batch", `{"batch":[`+pad(33*1024)+`,`+pad(200)+`]}`, "authorization", basic(testWriteKey)))
	status(t, resp, http.StatusBadRequest, httpapi.CodeInvalidRequest)
	if eb := decodeError(t, resp); len(eb.Details) != 1 || eb.Details[0].Field != "batch[0]" {
		t.Errorf("details %+v, want batch[0] named", eb.Details)
	}
	e.received(t, 1)
	// 501 KB: refused whole, nothing enqueued.
	var b strings.Builder
	b.WriteString(`{"batch":[`)
	for b.Len() < 501*1024 {
		b.WriteString(pad(4000) + ",")
	}
	b.WriteString(pad(200) + `]}`)
	resp = e.do(t, request(t, "POST", "/v1/batch", b.String(), "authorization", basic(testWriteKey)))
	status(t, resp, http.StatusBadRequest, httpapi.CodePayloadTooLarge)
	e.queueEmpty(t)
}

func TestSegmentGzip(t *testing.T) {
	e := newEnv(t)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(segmentJourney))
	_ = zw.Close()
	req := request(t, "POST", "/v1/batch", "", "authorization", basic(testWriteKey), "content-encoding", "gzip")
	req = withBody(req, buf.String(), true)
	status(t, e.do(t, req), http.StatusOK, "")
	e.received(t, 5)
}

func TestSegmentWebhook(t *testing.T) {
	e := newEnv(t)
	one := `{"type":"track","messageId":"wh-1","userId":"u","event":"Demo Requested"}`
	arr := `[{"type":"identify","messageId":"wh-2","userId":"u","traits":{"email":"ada@example.com"}},{"type":"page","messageId":"wh-3","userId":"u","name":"Home"}]`
	status(t, e.do(t, request(t, "POST", "/v1/sources/segment", one, "x-signature", segment.Sign(testSegmentSecret, []byte(one)))), http.StatusOK, "")
	e.received(t, 1)
	status(t, e.do(t, request(t, "POST", "/v1/sources/segment", arr, "authorization", basic(testWriteKey))), http.StatusOK, "")
	e.received(t, 2)
	resp := e.do(t, request(t, "POST", "/v1/sources/segment", one, "x-signature", segment.Sign("another-secret", []byte(one))))
	status(t, resp, http.StatusUnauthorized, httpapi.CodeUnauthorized)
	if eb := decodeError(t, resp); len(eb.Details) != 1 || eb.Details[0].Field != "X-Signature" {
		t.Errorf("a bad signature: %s", resp.Body)
	}
	// A bad signature is not rescued by a good key: the sender meant to sign.
	status(t, e.do(t, request(t, "POST", "/v1/sources/segment", one, "x-signature", "00", "authorization", basic(testWriteKey))), http.StatusUnauthorized, "")
	status(t, e.do(t, request(t, "POST", "/v1/sources/segment", one)), http.StatusUnauthorized, httpapi.CodeUnauthorized)
	e.queueEmpty(t)
}

func TestEventsTakeAWriteKey(t *testing.T) {
	e := newEnv(t)
	req := withHeader(withHeader(load(t, "post-event.json"), "x-api-key", ""), "authorization", basic(testWriteKey))
	status(t, e.do(t, req), http.StatusAccepted, "")
	e.received(t, 1)
}

func TestTrackerScript(t *testing.T) {
	e := newEnv(t)
	resp := e.do(t, request(t, "GET", "/v1/t.js", ""))
	status(t, resp, http.StatusOK, "")
	if resp.Body != string(tracker.Script()) || !strings.HasPrefix(resp.Headers["content-type"], "text/javascript") ||
		!strings.Contains(resp.Headers["cache-control"], "public, max-age=") || resp.Headers["etag"] != tracker.ScriptETag() {
		t.Errorf("headers %v, body of %d bytes", resp.Headers, len(resp.Body))
	}
	resp = e.do(t, request(t, "GET", "/v1/t.js", "", "if-none-match", tracker.ScriptETag()))
	if resp.StatusCode != http.StatusNotModified || resp.Body != "" {
		t.Errorf("revalidation: %d with %d bytes, want 304 and none", resp.StatusCode, len(resp.Body))
	}
}

func collectBody(site string, consent bool, events string) string {
	b, _ := json.Marshal(consent)
	return `{"site":"` + site + `","anonymous_id":"c0ffee-1","consent":` + string(b) + `,"events":` + events + `}`
}

const pageView = `[{"type":"page_view","event_id":"pv_1","properties":{"url":"/pricing","duration_s":42,"title":"Pricing"}}]`

func TestCollect(t *testing.T) {
	e := newEnv(t)
	resp := e.do(t, request(t, "POST", "/v1/collect", collectBody(testSiteKey, false, pageView),
		"content-type", "text/plain;charset=UTF-8", "origin", "https://www.example.com", "user-agent", browserUA))
	status(t, resp, http.StatusAccepted, "")
	if resp.Headers["access-control-allow-origin"] != "https://www.example.com" {
		t.Errorf("CORS headers %v", resp.Headers)
	}
	ev := e.received(t, 1)[0].msg.Event
	if ev.Type != "page_view" || ev.AnonymousID != "c0ffee-1" || ev.Properties["duration_s"] != 42.0 || !ev.OccurredAt.Equal(testNow) {
		t.Errorf("enqueued %+v", ev)
	}
}

func TestCollectRefusals(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, body, origin, ua string
		want                   int
		code                   string
	}{
		{"a foreign origin", collectBody(testSiteKey, false, pageView), "https://evil.example.net", browserUA, 403, httpapi.CodeOriginNotAllowed},
		{"no origin (not a browser)", collectBody(testSiteKey, false, pageView), "", browserUA, 403, httpapi.CodeOriginNotAllowed},
		{"another site's origin", collectBody(testSiteKey, false, pageView), "https://eu.example.com", browserUA, 403, httpapi.CodeOriginNotAllowed},
		{"an unknown site key", collectBody("pk_nope_0123456789ab", false, pageView), "https://www.example.com", browserUA, 401, httpapi.CodeUnauthorized},
		{"a write key as the site key", collectBody(testWriteKey, false, pageView), "https://www.example.com", browserUA, 401, httpapi.CodeUnauthorized},
		{"a sales outcome", collectBody(testSiteKey, false, `[{"type":"deal_won"}]`), "https://www.example.com", browserUA, 400, httpapi.CodeInvalidRequest},
		{"a hand-raise", collectBody(testSiteKey, false, `[{"type":"demo_request"}]`), "https://www.example.com", browserUA, 400, httpapi.CodeInvalidRequest},
		{"a bad email on identify", collectBody(testSiteKey, false, `[{"type":"identify","email":"nope"}]`), "https://www.example.com", browserUA, 400, httpapi.CodeInvalidRequest},
		{"consent mode without consent", collectBody(testConsentKey, false, pageView), "https://eu.example.com", browserUA, 403, CodeConsentRequired},
		{"oversized", collectBody(testSiteKey, false, `[{"type":"page_view","properties":{"x":"`+strings.Repeat("x", 17000)+`"}}]`), "https://www.example.com", browserUA, 413, httpapi.CodePayloadTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.do(t, request(t, "POST", "/v1/collect", tc.body, "content-type", "text/plain", "origin", tc.origin, "user-agent", tc.ua))
			status(t, resp, tc.want, tc.code)
		})
	}
	e.queueEmpty(t)
}

func TestCollectConsentAndBots(t *testing.T) {
	e := newEnv(t)
	resp := e.do(t, request(t, "POST", "/v1/collect", collectBody(testConsentKey, true, pageView),
		"content-type", "text/plain", "origin", "https://eu.example.com", "user-agent", browserUA))
	status(t, resp, http.StatusAccepted, "")
	e.received(t, 1)
	// A headless browser is answered as usual and scores nothing.
	for _, ua := range []string{headlessUA, "", "curl/8.5.0"} {
		resp = e.do(t, request(t, "POST", "/v1/collect", collectBody(testSiteKey, false, pageView),
			"content-type", "text/plain", "origin", "https://www.example.com", "user-agent", ua))
		status(t, resp, http.StatusAccepted, "")
	}
	e.queueEmpty(t)
	if !strings.Contains(e.metrics.String(), MetricCollectBotDropped) {
		t.Error("no CollectBotDropped metric")
	}
}

func TestCollectPreflight(t *testing.T) {
	e := newEnv(t)
	resp := e.do(t, request(t, "OPTIONS", "/v1/collect", "", "origin", "http://localhost:5173"))
	status(t, resp, http.StatusNoContent, "")
	if resp.Headers["access-control-allow-origin"] != "http://localhost:5173" || resp.Headers["access-control-allow-methods"] != "POST" {
		t.Errorf("preflight headers %v", resp.Headers)
	}
	status(t, e.do(t, request(t, "OPTIONS", "/v1/collect", "", "origin", "https://evil.example.net")), http.StatusForbidden, httpapi.CodeOriginNotAllowed)
}
