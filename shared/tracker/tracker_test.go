package tracker

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// MaxScriptBytes is the budget for GET /v1/t.js: "well under 5 KB".
const MaxScriptBytes = 5 * 1024

func source(t *testing.T) []byte {
	t.Helper()
	src, err := os.ReadFile("t.js")
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// The committed t.min.js is what `make tracker` makes of the committed
// t.js: its first line records the source's SHA-256.
func TestMinifiedIsCurrent(t *testing.T) {
	sum := sha256.Sum256(source(t))
	first, _, _ := bytes.Cut(script, []byte("\n"))
	if !bytes.Contains(first, []byte("source sha256 "+hex.EncodeToString(sum[:]))) {
		t.Fatalf("t.min.js was not made from this t.js (its first line is %q): run `make tracker` and commit t.min.js", first)
	}
}

func TestMinifiedSize(t *testing.T) {
	var gz bytes.Buffer
	w, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	_, _ = w.Write(script)
	_ = w.Close()
	t.Logf("t.min.js: %d bytes, %d gzipped", len(script), gz.Len())
	if len(script) >= MaxScriptBytes {
		t.Errorf("t.min.js is %d bytes; the budget is under %d", len(script), MaxScriptBytes)
	}
}

// Static properties of the source: nothing that evaluates strings or writes
// into the page, and every entry point the page or the browser calls is
// wrapped so nothing throws into the host page.
func TestSourceIsSafe(t *testing.T) {
	src := string(source(t))
	for _, bad := range []string{"eval(", "new Function", "document.write", "innerHTML", "outerHTML", "setTimeout('", `setTimeout("`, "localStorage"} {
		if strings.Contains(src, bad) || bytes.Contains(script, []byte(bad)) {
			t.Errorf("the tracker uses %s", bad)
		}
	}
	body := src[strings.Index(src, "(function (w, d, nav) {"):]
	if !strings.HasPrefix(strings.TrimSpace(strings.TrimPrefix(body, "(function (w, d, nav) {")), "try {") ||
		!strings.HasSuffix(strings.TrimSpace(body), "} catch (e) {}\n})(window, document, navigator);") {
		t.Error("the script's body is not one try/catch")
	}
	listeners := regexp.MustCompile(`addEventListener\('[a-zA-Z]+', (\w+)`).FindAllStringSubmatch(src, -1)
	if len(listeners) < 5 {
		t.Fatalf("found %d event listeners; the pattern no longer reads the source", len(listeners))
	}
	for _, l := range listeners {
		if l[1] != "safe" {
			t.Errorf("listener %q is not wrapped in safe()", l[0])
		}
	}
	for _, method := range []string{"identify", "track", "consent", "page"} {
		if !strings.Contains(src, method+": safe(function") {
			t.Errorf("leadscore.%s is not wrapped in safe()", method)
		}
	}
}

// harnessResult is what testdata/harness.mjs reports.
type harnessResult struct {
	Beacons      []sent              `json:"beacons"`
	Fetches      []sent              `json:"fetches"`
	CookieWrites []string            `json:"cookieWrites"`
	Cookies      map[string]string   `json:"cookies"`
	Forms        []map[string]hidden `json:"forms"`
	Threw        *string             `json:"threw"`
	API          []string            `json:"api"`
}

type sent struct {
	URL       string  `json:"url"`
	Body      Collect `json:"body"`
	Keepalive bool    `json:"keepalive"`
}

type hidden struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// run runs the minified script in Node against a fake browser (Node is
// installed with the emulators; -short skips it like the emulator tests).
func run(t *testing.T, scenario string) harnessResult {
	t.Helper()
	if testing.Short() {
		t.Skip("runs Node; skipped with -short")
	}
	out, err := exec.Command("node", "testdata/harness.mjs", "t.min.js", scenario).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var r harnessResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("harness output %s: %v", out, err)
	}
	if r.Threw != nil {
		t.Fatalf("the tracker threw into the page: %s", *r.Threw)
	}
	return r
}

// decodeSent checks every request with DecodeCollect, as the server will.
func decodeSent(t *testing.T, all []sent) []map[string]any {
	t.Helper()
	var evs []map[string]any
	for _, s := range all {
		if s.URL != "https://api.example.net/v1/collect" {
			t.Errorf("sent to %q", s.URL)
		}
		body, _ := json.Marshal(s.Body)
		c, err := DecodeCollect(body)
		if err != nil {
			t.Fatalf("the server would refuse %s: %v", body, err)
		}
		evs = append(evs, c.Events...)
	}
	return evs
}

func TestPageViewWithDurationOnHide(t *testing.T) {
	r := run(t, `{"url":"https://www.example.com/pricing?utm_source=news&utm_medium=email",
		"steps":[["advance",4000],["hide"],["advance",60000],["show"],["advance",3000],["pagehide"]]}`)
	evs := decodeSent(t, r.Beacons)
	if len(evs) != 1 {
		t.Fatalf("sent %d events, want one page_view: %v", len(evs), evs)
	}
	p, _ := evs[0]["properties"].(map[string]any)
	if evs[0]["type"] != "page_view" || p["url"] != "/pricing" || p["duration_s"] != 4.0 || p["title"] != "Pricing" ||
		p["referrer"] != "https://www.google.com/" || p["utm_source"] != "news" || p["utm_medium"] != "email" {
		t.Errorf("page view %v", evs[0])
	}
	aid := r.Cookies["ls_aid"]
	if aid == "" || r.Beacons[0].Body.AnonymousID != aid || r.Beacons[0].Body.Site != "pk_test_0123456789ab" {
		t.Errorf("anonymous id cookie %q, body %+v", aid, r.Beacons[0].Body)
	}
	for _, w := range r.CookieWrites {
		if strings.HasPrefix(w, "ls_aid=") && (!strings.Contains(w, "SameSite=Lax") || !strings.Contains(w, "Secure") || !strings.Contains(w, "path=/")) {
			t.Errorf("cookie written as %q: want SameSite=Lax, Secure on https, path=/", w)
		}
	}
}

func TestNoSecureCookieOnHTTP(t *testing.T) {
	r := run(t, `{"url":"http://localhost:8080/","steps":[["pagehide"]]}`)
	if len(r.Beacons) != 1 || len(r.CookieWrites) == 0 {
		t.Fatalf("beacons %v cookie writes %v", r.Beacons, r.CookieWrites)
	}
	for _, w := range r.CookieWrites {
		if strings.Contains(w, "Secure") {
			t.Errorf("cookie %q is Secure on http: the browser would drop it", w)
		}
	}
}

func TestAdClick(t *testing.T) {
	r := run(t, `{"url":"https://www.example.com/landing?gclid=Cj0KCQ_abc-123&utm_campaign=spring","steps":[["pagehide"]]}`)
	evs := decodeSent(t, r.Beacons)
	if len(evs) != 2 || evs[0]["type"] != "ad_click" || evs[0]["event_id"] != "ad_Cj0KCQ_abc-123" {
		t.Fatalf("events %v; want an ad_click keyed by the click id, then the page view", evs)
	}
	p := evs[0]["properties"].(map[string]any)
	if p["ad_network"] != "google" || p["url"] != "/landing" || p["utm_campaign"] != "spring" {
		t.Errorf("ad_click properties %v", p)
	}
	r = run(t, `{"url":"https://www.example.com/?utm_medium=CPC&utm_source=bing","steps":[]}`)
	if evs := decodeSent(t, r.Beacons); len(evs) != 1 || evs[0]["type"] != "ad_click" {
		t.Errorf("utm_medium=cpc: events %v", evs)
	}
	r = run(t, `{"url":"https://www.example.com/?utm_medium=email","steps":[]}`)
	if len(r.Beacons) != 0 {
		t.Errorf("an email landing sent %v", r.Beacons)
	}
}

func TestConsentMode(t *testing.T) {
	r := run(t, `{"consentAttr":"required","forms":["https://api.example.net/v1/forms/contact"],
		"steps":[["advance",2000],["hide"],["show"],["call","identify","ada@example.com"],["call","track","newsletter_signup"],["submit",0],["pagehide"]]}`)
	if len(r.Beacons)+len(r.Fetches) != 0 || len(r.CookieWrites) != 0 || len(r.Forms[0]) != 0 {
		t.Fatalf("before consent: beacons %v, fetches %v, cookies %v, form %v", r.Beacons, r.Fetches, r.CookieWrites, r.Forms)
	}
	// Consent given after the tab was hidden once: the page view still
	// goes, with all its visible time.
	r = run(t, `{"consentAttr":"required","forms":["https://api.example.net/v1/forms/contact"],
		"steps":[["advance",2000],["hide"],["show"],["advance",1000],["call","consent",true],["pagehide"]]}`)
	evs := decodeSent(t, r.Beacons)
	if len(evs) != 1 || evs[0]["properties"].(map[string]any)["duration_s"] != 3.0 || !r.Beacons[0].Body.Consent {
		t.Fatalf("after consent: %v", r.Beacons)
	}
	if r.Cookies["ls_consent"] != "1" || r.Forms[0]["anonymous_id"].Value != r.Cookies["ls_aid"] {
		t.Errorf("cookies %v, form %v", r.Cookies, r.Forms)
	}
}

func TestConsentWithdrawn(t *testing.T) {
	r := run(t, `{"preCookies":{"ls_aid":"old-id","ls_consent":"1"},"steps":[["call","consent",false],["pagehide"]]}`)
	if len(r.Beacons) != 0 || r.Cookies["ls_aid"] != "" || r.Cookies["ls_consent"] != "0" {
		t.Errorf("after consent(false): beacons %v cookies %v", r.Beacons, r.Cookies)
	}
}

func TestGlobalPrivacyControl(t *testing.T) {
	r := run(t, `{"gpc":true,"preCookies":{"ls_aid":"old-id"},"url":"https://www.example.com/?gclid=x",
		"forms":["https://api.example.net/v1/forms/contact"],
		"steps":[["call","consent",true],["call","identify","ada@example.com"],["submit",0],["pagehide"]]}`)
	if len(r.Beacons)+len(r.Fetches) != 0 || r.Cookies["ls_aid"] != "" || len(r.Forms[0]) != 0 {
		t.Errorf("with GPC: beacons %v fetches %v cookies %v form %v", r.Beacons, r.Fetches, r.Cookies, r.Forms)
	}
}

func TestFormsGetTheAnonymousID(t *testing.T) {
	r := run(t, `{"forms":["https://api.example.net/v1/forms/contact","https://crm.example.org/v1/forms/x","/v1/forms/relative"],"steps":[]}`)
	aid := r.Cookies["ls_aid"]
	if got := r.Forms[0]["anonymous_id"]; aid == "" || got.Type != "hidden" || got.Value != aid {
		t.Errorf("leadscore form: %v (cookie %q)", r.Forms[0], aid)
	}
	if len(r.Forms[1]) != 0 || len(r.Forms[2]) != 0 {
		t.Errorf("other forms were given the id: %v", r.Forms[1:])
	}
}

func TestAPIAndQueuedCalls(t *testing.T) {
	r := run(t, `{"queued":[["track","newsletter_signup",{"list":"weekly"}],["nosuchmethod"],["identify","ada@example.com",{"first_name":"Ada"}]],
		"steps":[["call","track","cart_add",{"sku":"a1"}]]}`)
	evs := decodeSent(t, r.Beacons)
	want := []string{"newsletter_signup", "identify", "cart_add"}
	if len(evs) != len(want) {
		t.Fatalf("events %v; want %v", evs, want)
	}
	for i, w := range want {
		if evs[i]["type"] != w {
			t.Errorf("event %d is %v, want %s", i, evs[i]["type"], w)
		}
	}
	if evs[1]["email"] != "ada@example.com" || evs[1]["lead"].(map[string]any)["first_name"] != "Ada" {
		t.Errorf("identify %v", evs[1])
	}
	if strings.Join(r.API, ",") != "consent,identify,page,track" {
		t.Errorf("window.leadscore has %v", r.API)
	}
}

func TestSinglePageNavigation(t *testing.T) {
	r := run(t, `{"url":"https://www.example.com/","steps":[["advance",5000],["push","/pricing"],["advance",7000],["pagehide"]]}`)
	evs := decodeSent(t, r.Beacons)
	if len(evs) != 2 || evs[0]["properties"].(map[string]any)["url"] != "/" || evs[1]["properties"].(map[string]any)["url"] != "/pricing" ||
		evs[1]["properties"].(map[string]any)["duration_s"] != 7.0 || evs[0]["event_id"] == evs[1]["event_id"] {
		t.Errorf("events %v", evs)
	}
}

func TestFetchKeepaliveWhenBeaconRefused(t *testing.T) {
	r := run(t, `{"beaconFails":true,"steps":[["pagehide"]]}`)
	if len(r.Fetches) != 1 || !r.Fetches[0].Keepalive {
		t.Errorf("fetches %v", r.Fetches)
	}
}

func TestNeverThrowsIntoThePage(t *testing.T) {
	r := run(t, `{"throwingCookies":true,"steps":[["call","identify","ada@example.com"],["call","consent",true],["hide"],["pagehide"]]}`)
	if len(r.Beacons) != 0 {
		t.Errorf("sent %v without a readable cookie jar", r.Beacons)
	}
}
