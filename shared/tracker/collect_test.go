package tracker

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestDecodeCollect(t *testing.T) {
	c, err := DecodeCollect([]byte(`{"site":"pk_test_0123456789ab","anonymous_id":"a-1","consent":true,"events":[
		{"type":"page_view","event_id":"pv_1","properties":{"url":"/pricing","duration_s":42}},
		{"type":"identify","email":"ada@example.com","lead":{"first_name":"Ada"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Site != "pk_test_0123456789ab" || c.AnonymousID != "a-1" || !c.Consent || len(c.Events) != 2 {
		t.Fatalf("decoded %+v", c)
	}
	for _, ev := range c.Events {
		if ev["anonymous_id"] != "a-1" {
			t.Errorf("event %v lacks the body's anonymous_id", ev)
		}
	}
	if c.Events[1]["email"] != "ada@example.com" {
		t.Errorf("identify lost its email: %v", c.Events[1])
	}
}

func TestDecodeCollectRefuses(t *testing.T) {
	ok := `"site":"pk_test_0123456789ab","anonymous_id":"a-1"`
	tests := []struct{ name, body, field, want string }{
		{"not json", `{"site":`, "(body)", "must be a JSON object"},
		{"array", `[]`, "(body)", "must be a JSON object"},
		{"no site", `{"anonymous_id":"a","events":[{"type":"page_view"}]}`, "site", "is required"},
		{"site not a string", `{"site":5,"anonymous_id":"a","events":[{"type":"page_view"}]}`, "site", "must be a string"},
		{"no anonymous id", `{"site":"k","events":[{"type":"page_view"}]}`, "anonymous_id", "is required"},
		{"anonymous id with spaces", `{"site":"k","anonymous_id":"a b","events":[{"type":"page_view"}]}`, "anonymous_id", "printable ASCII"},
		{"anonymous id too long", `{"site":"k","anonymous_id":"` + strings.Repeat("a", 129) + `","events":[{"type":"page_view"}]}`, "anonymous_id", "longer than 128"},
		{"consent not a boolean", `{` + ok + `,"consent":"yes","events":[{"type":"page_view"}]}`, "consent", "true or false"},
		{"unknown field", `{` + ok + `,"email":"a@b.co","events":[{"type":"page_view"}]}`, "email", "unknown field"},
		{"no events", `{` + ok + `}`, "events", "is required"},
		{"empty events", `{` + ok + `,"events":[]}`, "events", "is empty"},
		{"events not a list", `{` + ok + `,"events":{}}`, "events", "must be an array"},
		{"too many events", `{` + ok + `,"events":[` + strings.Repeat(`{"type":"page_view"},`, MaxCollectEvents) + `{"type":"page_view"}]}`, "events", "at most 20"},
		{"event not an object", `{` + ok + `,"events":["page_view"]}`, "events[0]", "must be an event object"},
		{"no type", `{` + ok + `,"events":[{"properties":{}}]}`, "events[0].type", "is required"},
		{"a sales outcome", `{` + ok + `,"events":[{"type":"page_view"},{"type":"deal_won"}]}`, "events[1].type", `"deal_won" cannot be sent with a site key`},
		{"a hand-raise", `{` + ok + `,"events":[{"type":"demo_request"}]}`, "events[0].type", `"demo_request" cannot be sent`},
		{"a form", `{` + ok + `,"events":[{"type":"form_submit"}]}`, "events[0].type", `"form_submit" cannot be sent`},
		{"a browser-dated event", `{` + ok + `,"events":[{"type":"page_view","occurred_at":"2020-01-01T00:00:00Z"}]}`, "events[0].occurred_at", "not accepted from a browser"},
		{"an email on a page view", `{` + ok + `,"events":[{"type":"page_view","email":"a@b.co"}]}`, "events[0].email", "only identify"},
		{"lead on a page view", `{` + ok + `,"events":[{"type":"cart_add","lead":{"job_title":"CEO"}}]}`, "events[0].lead", "only identify"},
		{"identify without email", `{` + ok + `,"events":[{"type":"identify","lead":{}}]}`, "events[0].email", "is required on identify"},
		{"oversized", `{` + ok + `,"events":[{"type":"page_view","properties":{"x":"` + strings.Repeat("x", MaxCollectBytes) + `"}}]}`, "(body)", "larger than 16384"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeCollect([]byte(tt.body))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not a *tracker.Error", err)
			}
			if !slices.ContainsFunc(e.Problems, func(p Problem) bool {
				return p.Field == tt.field && strings.Contains(p.Message, tt.want)
			}) {
				t.Errorf("problems %+v; want %s: %s", e.Problems, tt.field, tt.want)
			}
			if e.TooLarge != (tt.name == "oversized") {
				t.Errorf("TooLarge = %v", e.TooLarge)
			}
		})
	}
}

func TestBrowserTypesNeverQualify(t *testing.T) {
	for _, never := range []string{"sales_accepted", "sales_rejected", "deal_won", "deal_lost",
		"demo_request", "contact_request", "quote_request", "trial_signup", "form_submit", "track", "alias", "group"} {
		if slices.Contains(BrowserTypes, never) {
			t.Errorf("%s is accepted with a public site key", never)
		}
	}
}

func TestIsBot(t *testing.T) {
	bots := []string{
		"",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
		"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
		"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
		"Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse",
		"Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
		"Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)",
		"curl/8.5.0", "python-requests/2.31.0", "Go-http-client/1.1", "axios/1.6.7", "node-fetch/1.0",
		"Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Cypress/13.6.0 Chrome/118.0.5993.159 Electron/27.1.3 Safari/537.36",
	}
	for _, ua := range bots {
		if !IsBot(ua) {
			t.Errorf("IsBot(%q) = false", ua)
		}
	}
	people := []string{
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
		"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 13; CUBOT KingKong 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
	}
	for _, ua := range people {
		if IsBot(ua) {
			t.Errorf("IsBot(%q) = true", ua)
		}
	}
}

func TestScriptETag(t *testing.T) {
	if e := ScriptETag(); len(e) != 26 || e[0] != '"' || !strings.HasPrefix(string(Script()), "/*! leadscore tracker") {
		t.Errorf("ETag %q, script starts %q", e, Script()[:20])
	}
}
