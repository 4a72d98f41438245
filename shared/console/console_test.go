package console

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestAssetServesThePageAndEveryFile(t *testing.T) {
	page, ok := Asset("")
	if !ok || !bytes.Contains(page.Body, []byte(`<script type="module" src="console/app.js">`)) {
		t.Fatalf("Asset(\"\") = ok %v, body %.80q; want the page loading console/app.js", ok, page.Body)
	}
	if page.ContentType != "text/html; charset=utf-8" {
		t.Errorf("page content type %q", page.ContentType)
	}
	names := Names()
	for _, want := range []string{"app.js", "api.js", "dom.js", "console.css", "views/rules.js"} {
		if !slices.Contains(names, want) {
			t.Errorf("Names() = %v, missing %s", names, want)
		}
	}
	for _, n := range names {
		f, ok := Asset(n)
		if !ok || len(f.Body) == 0 || f.ETag == "" {
			t.Errorf("Asset(%q) = ok %v, %d bytes, etag %q", n, ok, len(f.Body), f.ETag)
		}
	}
}

func TestAssetRefusesWhatIsNotAnAsset(t *testing.T) {
	for _, name := range []string{"../console.go", "views/../app.js", "/app.js", "index.html", "views", "assets/app.js",
		"nope.js", "console.go", "app.js/", "README.md"} {
		if f, ok := Asset(name); ok {
			t.Errorf("Asset(%q) served %d bytes; want not found", name, len(f.Body))
		}
	}
}

func TestHeadersAreStrict(t *testing.T) {
	f, _ := Asset("")
	h := Headers(f)
	if h["x-content-type-options"] != "nosniff" || h["content-security-policy"] != CSP || h["etag"] != f.ETag {
		t.Errorf("headers %v", h)
	}
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*", "http:", "https:"} {
		if strings.Contains(CSP, bad) {
			t.Errorf("CSP allows %q: %s", bad, CSP)
		}
	}
	for _, need := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(CSP, need) {
			t.Errorf("CSP lacks %q", need)
		}
	}
}

func TestNotModified(t *testing.T) {
	f, _ := Asset("app.js")
	other, _ := Asset("dom.js")
	cases := map[string]bool{f.ETag: true, "W/" + f.ETag: true, other.ETag + ", " + f.ETag: true, "*": true,
		"": false, other.ETag: false, `"0000"`: false}
	for header, want := range cases {
		if got := NotModified(f, header); got != want {
			t.Errorf("NotModified(If-None-Match %q) = %v, want %v", header, got, want)
		}
	}
	if f.ETag == other.ETag {
		t.Errorf("two files share the ETag %s", f.ETag)
	}
}

// TestNoHTMLFromStrings is the console's rule that nothing from the API is
// parsed as markup: the scripts never use the DOM's HTML-parsing sinks, eval
// or string timers, and the page has no inline script, style or handler
// (which the CSP would block anyway).
func TestNoHTMLFromStrings(t *testing.T) {
	sinks := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|createContextualFragment|DOMParser|\beval\(|new Function|setTimeout\(['"\x60]|setInterval\(['"\x60]|srcdoc`)
	for _, n := range Names() {
		if !strings.HasSuffix(n, ".js") {
			continue
		}
		f, _ := Asset(n)
		for i, line := range strings.Split(string(f.Body), "\n") {
			if m := sinks.FindString(line); m != "" && !strings.HasPrefix(strings.TrimSpace(line), "//") {
				t.Errorf("%s:%d uses %s: build nodes with dom.js (textContent, createElement) instead", n, i+1, m)
			}
		}
	}
	page, _ := Asset("")
	inline := regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]|<style|\sstyle=|\son[a-z]+=|javascript:`)
	if m := inline.Find(page.Body); m != nil {
		t.Errorf("index.html has inline code %q; the CSP forbids it", m)
	}
}

// TestNoRemoteResources: the console loads nothing from another host at
// run time (no CDN): every URL in the assets is relative.
func TestNoRemoteResources(t *testing.T) {
	remote := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	for _, n := range append(Names(), "") {
		f, _ := Asset(n)
		for i, line := range strings.Split(string(f.Body), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "//") {
				continue // a comment, e.g. an example URL
			}
			for _, m := range remote.FindAllString(line, -1) {
				if m != "http://www.w3.org" { // the SVG namespace name, not a fetch
					t.Errorf("%q line %d refers to %s", n, i+1, m)
				}
			}
		}
	}
}

// FuzzAsset: whatever the path, Asset serves only files of the console:
// nothing outside assets/, no directory, never the page under another name.
func FuzzAsset(f *testing.F) {
	for _, seed := range []string{"", "app.js", "views/rules.js", "../console.go", "views/../app.js", "index.html", "./app.js", "app.js\x00", "%2e%2e/x"} {
		f.Add(seed)
	}
	names := map[string]bool{"": true}
	for _, n := range Names() {
		names[n] = true
	}
	f.Fuzz(func(t *testing.T, name string) {
		file, ok := Asset(name)
		if ok && (!names[name] || len(file.Body) == 0) {
			t.Fatalf("Asset(%q) served %d bytes; it is not a console file", name, len(file.Body))
		}
	})
}
