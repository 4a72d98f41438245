// Package console is the marketer console (docs/api.md "Accounts, preview,
// console"): a web page and its scripts and stylesheet, embedded in the
// binary, that the API function serves at GET /console and
// GET /console/{asset}. It knows nothing of HTTP servers or Lambda: Asset
// returns a file and the headers to send with it, and the API package
// writes them into its response.
//
// Why plain HTML, ES modules and one CSS file, with no framework and no
// build step: see README.md.
package console

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"path"
	"strings"
)

//go:embed assets
var assets embed.FS

// CSP is the Content-Security-Policy of every console response. Scripts and
// styles load only from the API's own origin, and never inline: the page
// holds no script or style element of its own making, and everything the
// API returns is added as text (dom.js). connect-src 'self' keeps the API
// key from being sent anywhere else; frame-ancestors 'none' stops the
// console being framed (clickjacking on Publish).
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// File is one console asset.
type File struct {
	Name        string // path under /console/, "" for the page itself
	Body        []byte
	ContentType string
	// ETag is a strong validator from the content's hash.
	ETag string
}

var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
}

// Asset returns the file GET /console/<name> serves; name "" (GET /console)
// is the page. ok is false for any name that is not an asset, including
// directories and paths that try to climb out ("../").
func Asset(name string) (f File, ok bool) {
	file := "index.html"
	if name != "" {
		if name == "index.html" || strings.Contains(name, "..") || !fs.ValidPath(name) {
			return File{}, false
		}
		file = name
	}
	ct, known := contentTypes[path.Ext(file)]
	if !known {
		return File{}, false
	}
	body, err := assets.ReadFile("assets/" + file)
	if err != nil {
		return File{}, false
	}
	sum := sha256.Sum256(body)
	return File{Name: name, Body: body, ContentType: ct, ETag: `"` + hex.EncodeToString(sum[:8]) + `"`}, true
}

// Headers are the response headers of f.
//
// Caching: every response is "no-cache" with a strong ETag, so a browser
// keeps the files but asks each time whether they changed, and a 304 (see
// NotModified) answers when they did not. Versioned file names would let
// browsers skip that round trip, but ES modules import each other by name,
// so hashed names need a build step to rewrite the imports; and a plain
// max-age would let a browser run a cached old app.js against a new page
// for that long after a deploy. A few small conditional requests per visit
// cost less than either.
func Headers(f File) map[string]string {
	return map[string]string{
		"content-type":            f.ContentType,
		"content-security-policy": CSP,
		"x-content-type-options":  "nosniff",
		"referrer-policy":         "no-referrer",
		"x-frame-options":         "DENY",
		"cache-control":           "no-cache",
		"etag":                    f.ETag,
	}
}

// NotModified says whether a request's If-None-Match header names f's
// current version, so the answer can be a bodiless 304.
func NotModified(f File, ifNoneMatch string) bool {
	for _, tag := range strings.Split(ifNoneMatch, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == f.ETag || tag == "*" {
			return true
		}
	}
	return false
}

// Names lists every asset name Asset serves besides the page, for tests and
// for the route table's documentation.
func Names() []string {
	var names []string
	fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && p != "assets/index.html" {
			names = append(names, strings.TrimPrefix(p, "assets/"))
		}
		return nil
	})
	return names
}
