// Package browser is the one place tests start a real browser: Debian's
// headless Chromium at /usr/bin/chromium, driven through the DevTools
// protocol by github.com/chromedp/chromedp.
//
// Every browser gets a fresh, temporary profile and the flags below, which
// keep Chromium from calling home (no sync, no component updates, no
// background networking, no QUIC), so a browser test only ever talks to the
// 127.0.0.1 server it was pointed at.
package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Path is where Debian's chromium package installs the browser; the CI script
// (.ci/run) installs the package when this file is missing.
const Path = "/usr/bin/chromium"

// Flags are the command-line switches every browser starts with, besides its
// temporary --user-data-dir.
var Flags = []string{
	"--headless",
	"--no-sandbox", // tests run as root in containers, where the sandbox cannot start
	"--disable-gpu",
	"--disable-quic",
	"--no-first-run",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
	// /dev/shm is 64 MB in many containers; Chromium crashes when it fills.
	"--disable-dev-shm-usage",
}

// Width and Height are the window size, which is also the size of a
// screenshot of the viewport.
const (
	Width  = 1280
	Height = 860
)

// ErrMissing says Chromium is not installed where Path says.
var ErrMissing = errors.New("chromium not found at " + Path + " (apt-get install chromium, or run the tests with -short)")

// Browser is one running Chromium. Ctx is a chromedp context for its first
// tab: pass it to chromedp.Run. Close stops the browser and removes its
// profile.
type Browser struct {
	Ctx     context.Context
	cancels []context.CancelFunc
	profile string
}

// Start launches Chromium with Flags, then extra flags ("--name=value" or
// "--name"; e.g. "--user-agent=...", which unlike a DevTools override also
// covers the beacons a page sends as it is left), and a fresh profile
// directory. The browser lives until Close or until parent is done.
func Start(parent context.Context, extra ...string) (*Browser, error) {
	if _, err := os.Stat(Path); err != nil {
		return nil, ErrMissing
	}
	profile, err := os.MkdirTemp("", "leadscore-chromium-*")
	if err != nil {
		return nil, fmt.Errorf("browser: making a profile directory: %w", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Path),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(Width, Height),
	}
	for _, f := range Flags {
		opts = append(opts, chromedp.Flag(f[2:], true))
	}
	for _, f := range extra {
		if name, value, ok := strings.Cut(strings.TrimPrefix(f, "--"), "="); ok {
			opts = append(opts, chromedp.Flag(name, value))
		} else {
			opts = append(opts, chromedp.Flag(name, true))
		}
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(parent, opts...)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	b := &Browser{Ctx: tabCtx, cancels: []context.CancelFunc{cancelTab, cancelAlloc}, profile: profile}
	// The first Run starts the process; fail here rather than in the test's
	// first action, with a message that says what could not start.
	if err := chromedp.Do(tabCtx); err != nil {
		b.Close()
		return nil, fmt.Errorf("browser: starting %s: %w", Path, err)
	}
	return b, nil
}

// Close stops the browser (its tab first, then the process) and removes its
// profile directory.
func (b *Browser) Close() {
	for _, cancel := range b.cancels {
		cancel()
	}
	os.RemoveAll(b.profile)
}

// ForTest starts a browser for t (with Start's extra flags) and stops it
// when t ends. Under
// `go test -short` it skips t, so `make unit` needs no browser; otherwise a
// missing or broken Chromium fails t, since a browser test that silently
// skips would be counted as passing.
func ForTest(t testing.TB, extra ...string) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test: needs Chromium; skipped under -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	b, err := Start(ctx, extra...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b.Ctx
}
