package browser_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/leadscore/leadscore/infra/browser"
)

// TestLoadsAPageAndReadsTheDOM serves a page from 127.0.0.1, lets the
// browser run its script, and reads back what the script wrote: proof that
// the browser starts, reaches a local server and executes JavaScript.
func TestLoadsAPageAndReadsTheDOM(t *testing.T) {
	ctx := browser.ForTest(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><title>t</title><p id="out">static</p>
<script>document.getElementById("out").textContent = "written by " + "script";</script>`))
	}))
	defer srv.Close()

	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatalf("loading %s: %v", srv.URL, err)
	}
	got, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("out")))
	if err != nil {
		t.Fatalf("reading #out: %v", err)
	}
	if got != "written by script" {
		t.Errorf("#out = %q, want the text the page's script wrote", got)
	}
}
