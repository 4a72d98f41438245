package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/chromedp/chromedp"
)

// signIn opens the console and types the key into its form.
func signIn(ctx context.Context, base, key string) error {
	return chromedp.Do(ctx,
		chromedp.Navigate(base+"/console"),
		chromedp.WaitVisible(chromedp.ID("api-key")),
		chromedp.SendKeys(chromedp.ID("api-key"), key+"\n"),
	)
}

// open shows a console route (a hash, e.g. "#/rules") and waits for the
// element that says the view has drawn.
func open(ctx context.Context, base, hash, ready string) error {
	return chromedp.Do(ctx,
		chromedp.Navigate(base+"/console"+hash),
		chromedp.WaitVisible(chromedp.CSS(ready)),
	)
}

// js evaluates expr in the page and decodes its value as T.
func js[T any](ctx context.Context, expr string) (T, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// screenshot saves the whole page as dir/name.png, or only what the window
// shows (the queue's first rows, not all of them).
func screenshot(ctx context.Context, dir, name string, whole bool) error {
	shot := chromedp.CaptureScreenshot()
	if whole {
		shot = chromedp.FullScreenshot(100)
	}
	png, err := chromedp.Run(ctx, shot)
	if err != nil {
		return fmt.Errorf("screenshot %s: %w", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
}

// setPoints changes the points of one rule in a YAML rules document.
func setPoints(doc, rule string, points int) (string, error) {
	re := regexp.MustCompile(`(?s)(id: ` + regexp.QuoteMeta(rule) + `\n.*?points: )-?[0-9.]+`)
	if !re.MatchString(doc) {
		return "", errors.New("rule " + rule + " not found in the editor's document")
	}
	return re.ReplaceAllString(doc, "${1}"+strconv.Itoa(points)), nil
}
