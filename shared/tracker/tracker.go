// Package tracker is leadscore's browser tracker (docs/api.md "Sources"):
// the script a marketer pastes into a site (t.js, served minified as
// GET /v1/t.js), the decoder of what it posts to POST /v1/collect, and the
// User-Agent list of bots whose page views are not scored. It is pure: the
// ingest routes check the site key and Origin and enqueue the events.
package tracker

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
)

// script is t.js minified by `make tracker` (terser, pinned in
// infra/package.json). Its first line records the SHA-256 of the t.js it
// was made from, so a test can tell when it is stale.
//
//go:embed t.min.js
var script []byte

// scriptETag is the strong validator GET /v1/t.js answers with.
var scriptETag = func() string {
	sum := sha256.Sum256(script)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}()

// Script returns the minified tracker. The caller must not modify it.
func Script() []byte { return script }

// ScriptETag is the script's ETag: a new deploy with a changed script
// changes it, so caches revalidate cheaply.
func ScriptETag() string { return scriptETag }
