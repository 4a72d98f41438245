package sourcestest

import (
	"context"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/leadscore/leadscore/infra/browser"
	"github.com/leadscore/leadscore/shared/leadscore"
)

// chromeUA is a desktop Chrome's User-Agent: headless Chromium says
// HeadlessChrome, which the bot filter (rightly) does not score.
const chromeUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// site is a customer's web site on its own origin, pasting the snippet:
// /pricing, /contact (a leadscore form) and /thanks.
type site struct {
	URL string
}

var sitePage = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>{{.Title}}</title>
<script async src="{{.API}}/v1/t.js" data-site="{{.Key}}"{{if .Consent}} data-consent="required"{{end}}></script>
</head><body><h1>{{.Title}}</h1>
{{if .Form}}<form method="post" action="{{.API}}/v1/forms/contact">
<input name="email" id="email"><input type="hidden" name="_redirect" value="{{.Origin}}/thanks">
<button id="send" type="submit">Send</button></form>{{end}}
</body></html>`))

// serveSite serves the pages on host (127.0.0.1 belongs to the test sites,
// localhost does not), pointing at the API through api, with the given site
// key.
func serveSite(t *testing.T, api, host, key string, consent bool) site {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	origin := "http://" + host + ":" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		title := strings.Trim(r.URL.Path, "/")
		w.Header().Set("content-type", "text/html; charset=utf-8")
		_ = sitePage.Execute(w, map[string]any{"Title": title, "API": api, "Key": key, "Consent": consent,
			"Form": title == "contact", "Origin": origin})
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return site{URL: origin}
}

// collectLog counts the requests to /v1/collect and their answers, as a
// reverse proxy in front of the API sees them: the DevTools protocol does
// not report the beacon a page sends as it is left for the back/forward
// cache, and that is the one that matters.
type collectLog struct {
	mu       sync.Mutex
	sent     int
	statuses []int
}

func (l *collectLog) snapshot() (int, []int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sent, append([]int(nil), l.statuses...)
}

// apiProxy serves the API on its own address and logs /v1/collect; the
// pages load the tracker and post their forms through it.
func apiProxy(t *testing.T) (string, *collectLog) {
	t.Helper()
	target, _ := url.Parse(baseURL)
	l := &collectLog{}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.URL.Path == "/v1/collect" && resp.Request.Method == "POST" {
			l.mu.Lock()
			l.statuses = append(l.statuses, resp.StatusCode)
			l.mu.Unlock()
		}
		return nil
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/collect" && r.Method == "POST" {
			l.mu.Lock()
			l.sent++
			l.mu.Unlock()
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, l
}

// visit opens a page and waits until the tracker has loaded.
func visit(url string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(url),
		chromedp.Poll[chromedp.Void](`typeof window.leadscore === "object" && typeof window.leadscore.track === "function"`,
			chromedp.WithPollingTimeout(20*time.Second)),
	)
}

// journeyIn visits /pricing for stay, leaves it for /contact and submits
// the form with email.
func journeyIn(s site, email string, stay time.Duration) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		visit(s.URL+"/pricing"),
		chromedp.Sleep(stay), // the visit itself: the seconds the page is in view
		visit(s.URL+"/contact"),
		chromedp.SetValue(chromedp.ID("email"), email),
		// The post answers 303 to the form's _redirect: the next page load
		// is /thanks on the site.
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.ID("send")))(ctx, t)
			return err
		}),
		chromedp.Poll[chromedp.Void](`location.pathname === "/thanks"`, chromedp.WithPollingTimeout(20*time.Second)),
	)
}

// startBrowser starts Chromium with ua as its User-Agent (the flag, not a
// DevTools override, which the beacon a page sends as it is left does not
// carry); "" keeps headless Chromium's own. It returns the API address the
// pages should use and the log of what reached /v1/collect through it.
func startBrowser(t *testing.T, ua string) (context.Context, string, *collectLog) {
	t.Helper()
	needStack(t)
	var extra []string
	if ua != "" {
		extra = append(extra, "--user-agent="+ua)
	}
	ctx := browser.ForTest(t, extra...)
	api, log := apiProxy(t)
	return ctx, api, log
}

func uniqueEmail(prefix string) string {
	return fmt.Sprintf("%s-%d@example.com", prefix, time.Now().UnixNano())
}

// hasFormFill: the form post reached the lead, so everything the page sent
// before it has been answered.
func hasFormFill(v leadscore.LeadView) bool {
	p, _ := contribution(v, "form-fill")
	return p > 0
}

// TestBrowserTracker: a page on another origin loads the snippet, is in view
// on /pricing for a few seconds, is left for /contact, whose leadscore form
// is submitted. The lead the form creates has the pricing page view, with
// its visible seconds (the test rules' pricing-seconds rule scores
// duration_s >= 2), stitched by the anonymous id the tracker added to the
// form.
func TestBrowserTracker(t *testing.T) {
	ctx, api, log := startBrowser(t, chromeUA)
	s := serveSite(t, api, "127.0.0.1", siteKey, false)
	email := uniqueEmail("browser")
	if err := chromedp.Do(ctx, journeyIn(s, email, 3*time.Second)); err != nil {
		t.Fatal(err)
	}
	v := waitForLead(t, email, func(v leadscore.LeadView) bool {
		p, _ := contribution(v, pricingSeconds)
		return hasFormFill(v) && p > 0
	})
	if p, _ := contribution(v, "pricing-visit"); p != 10 {
		t.Errorf("pricing-visit %v, want 10 (breakdown %+v)", p, v.Breakdown)
	}
	if p, _ := contribution(v, pricingSeconds); p != 3 {
		t.Errorf("%s %v, want 3: the page view's duration_s did not arrive", pricingSeconds, p)
	}
	if sent, statuses := log.snapshot(); sent == 0 || !allAre(statuses, http.StatusAccepted) {
		t.Errorf("collect: %d sent, answers %v; want 202s", sent, statuses)
	}
	cookie, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cookie, "ls_aid=") {
		t.Errorf("first-party cookie %q lacks ls_aid", cookie)
	}
}

// TestBrowserForeignOrigin: the snippet with a site key on an origin the
// site does not list is refused, and scores nothing.
func TestBrowserForeignOrigin(t *testing.T) {
	ctx, api, log := startBrowser(t, chromeUA)
	s := serveSite(t, api, "localhost", siteKey, false) // the form allows localhost; the site does not
	email := uniqueEmail("foreign")
	if err := chromedp.Do(ctx, journeyIn(s, email, time.Second)); err != nil {
		t.Fatal(err)
	}
	v := waitForLead(t, email, hasFormFill)
	if p, _ := contribution(v, "pricing-visit"); p != 0 {
		t.Errorf("a page view from a foreign origin scored %v", p)
	}
	if sent, statuses := log.snapshot(); sent == 0 || len(statuses) == 0 || !allAre(statuses, http.StatusForbidden) {
		t.Errorf("collect: %d sent, answers %v; want 403s", sent, statuses)
	}
}

// TestBrowserConsentMode: with data-consent="required" and no consent,
// nothing is sent and nothing stored.
func TestBrowserConsentMode(t *testing.T) {
	ctx, api, log := startBrowser(t, chromeUA)
	s := serveSite(t, api, "127.0.0.1", consentKey, true)
	if err := chromedp.Do(ctx, visit(s.URL+"/pricing"), chromedp.Sleep(time.Second), visit(s.URL+"/contact"),
		chromedp.Navigate(s.URL+"/thanks")); err != nil {
		t.Fatal(err)
	}
	cookie, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`))
	if err != nil {
		t.Fatal(err)
	}
	if sent, _ := log.snapshot(); sent != 0 {
		t.Errorf("%d requests to /v1/collect before consent", sent)
	}
	if cookie != "" {
		t.Errorf("cookies %q stored before consent", cookie)
	}
}

// TestBrowserHeadlessNotScored: headless Chromium's own User-Agent is a bot
// to the filter: answered 202, not scored.
func TestBrowserHeadlessNotScored(t *testing.T) {
	ctx, api, log := startBrowser(t, "")
	s := serveSite(t, api, "127.0.0.1", siteKey, false)
	email := uniqueEmail("headless")
	if err := chromedp.Do(ctx, journeyIn(s, email, time.Second)); err != nil {
		t.Fatal(err)
	}
	v := waitForLead(t, email, hasFormFill)
	if p, _ := contribution(v, "pricing-visit"); p != 0 {
		t.Errorf("a headless browser's page view scored %v", p)
	}
	if sent, statuses := log.snapshot(); sent == 0 || !allAre(statuses, http.StatusAccepted) {
		t.Errorf("collect: %d sent, answers %v; want 202s (a bot is not told)", sent, statuses)
	}
}

func allAre(xs []int, want int) bool {
	for _, x := range xs {
		if x != want {
			return false
		}
	}
	return true
}
