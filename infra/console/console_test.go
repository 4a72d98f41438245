package main

import (
	"context"
	"math"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/leadscore/leadscore/infra/browser"
	"github.com/leadscore/leadscore/infra/localstack/stackproc"
	"github.com/leadscore/leadscore/infra/template"
)

const testKey = "console-test-key"

// TestConsoleAgainstTheLocalStack is the marketer's path through the
// console against the real functions (./infra/localstack), seeded through
// the API: a wrong key is refused with a clear message; the seeded MQL tops
// the queue; its breakdown adds up to its engagement; a point value edited
// in the rules editor previews with the lead it would qualify; publishing
// shows the rescore reach 100% and the lead moves; and a lead whose name is
// markup shows as text, with no dialog ever opened.
func TestConsoleAgainstTheLocalStack(t *testing.T) {
	ctx := browser.ForTest(t)
	st := startTestStack(t)
	api := client{base: st.APIURL, key: testKey}
	seedCtx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	if err := api.post(seedCtx, scenario(time.Now())); err != nil {
		t.Fatal(err)
	}
	for email, ok := range map[string]func(leadView) bool{
		mqlEmail:  func(l leadView) bool { return l.Stage == "mql" },
		nearEmail: func(l leadView) bool { return l.Stage == "lead" && l.Score.Fit >= 40 },
		xssEmail:  func(l leadView) bool { return l.Stage == "lead" },
	} {
		if _, err := api.waitLead(seedCtx, email, ok); err != nil {
			t.Fatal(err)
		}
	}
	// Any alert, confirm or prompt fails the test: the console opens none,
	// and an injected onerror=alert(1) would.
	var mu sync.Mutex
	var opened []string
	go func() {
		for ev, err := range chromedp.Events(ctx, page.JavascriptDialogOpening) {
			if err != nil {
				return
			}
			mu.Lock()
			opened = append(opened, ev.Message)
			mu.Unlock()
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		if len(opened) > 0 {
			t.Errorf("dialogs opened: %q", opened)
		}
	}()

	t.Run("wrong key", func(t *testing.T) {
		if err := signIn(ctx, st.APIURL, "not-the-key"); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("key-error"))); err != nil {
			t.Fatal(err)
		}
		msg, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("key-error")))
		if !strings.Contains(msg, "That API key was refused (401)") {
			t.Errorf("message %q", msg)
		}
	})

	t.Run("queue", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("api-key"), testKey+"\n"),
			chromedp.WaitVisible(chromedp.CSS("#leads-rows tr a"))); err != nil {
			t.Fatal(err)
		}
		first, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#leads-rows tr:first-child a")))
		if err != nil || first != mqlName {
			t.Fatalf("first MQL %q (%v), want %q", first, err, mqlName)
		}
	})

	t.Run("lead breakdown", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#leads-rows tr:first-child a")),
			chromedp.WaitVisible(chromedp.ID("lead-engagement"))); err != nil {
			t.Fatal(err)
		}
		// The engagement bars (rules, bursts and caps) carry their points;
		// they must add up to the engagement the view shows.
		sum, err := js[[]float64](ctx, `[
			[...document.querySelectorAll('.breakdown[data-kind="engagement"] li')].reduce((t, li) => t + Number(li.dataset.points), 0),
			Number(document.getElementById('lead-engagement').textContent.replace(/,/g, ''))]`)
		if err != nil {
			t.Fatal(err)
		}
		if sum[1] <= 0 || math.Abs(sum[0]-sum[1]) > 0.011 {
			t.Errorf("the breakdown bars add up to %v, the engagement shown is %v", sum[0], sum[1])
		}
		// Its latest events: the demo request (2 hours ago) first.
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#lead-events tbody tr"))); err != nil {
			t.Fatal(err)
		}
		first, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#lead-events tbody tr:first-child")))
		if !strings.Contains(first, "demo_request") {
			t.Errorf("newest event row %q, want the demo request", first)
		}
	})

	t.Run("preview and publish", func(t *testing.T) {
		if err := open(ctx, st.APIURL, "#/rules", "#rules-editor"); err != nil {
			t.Fatal(err)
		}
		doc, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("rules-editor")))
		if err != nil {
			t.Fatal(err)
		}
		// A broken draft first: the API's 400 details are listed next to
		// the editor, field by field.
		broken, err := setPoints(doc, "pricing-visit", 40)
		if err != nil {
			t.Fatal(err)
		}
		broken = strings.Replace(broken, "fit_min: 40", "fit_min: lots", 1)
		if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.ID("rules-editor"), broken),
			chromedp.Click(chromedp.ID("preview-btn")),
			chromedp.WaitVisible(chromedp.CSS("#rules-problems li"))); err != nil {
			t.Fatal(err)
		}
		problems, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("rules-problems")))
		if !strings.Contains(problems, "mql.fit_min") {
			t.Errorf("problems listed: %q; want the field mql.fit_min named", problems)
		}
		draft, err := setPoints(doc, "pricing-visit", 40)
		if err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.ID("rules-editor"), draft),
			chromedp.Click(chromedp.ID("preview-btn")),
			chromedp.WaitVisible(chromedp.ID("would-qualify"))); err != nil {
			t.Fatal(err)
		}
		qualify, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("would-qualify")))
		if !strings.Contains(qualify, nearEmail) {
			t.Errorf("would qualify: %q, want %s in it", qualify, nearEmail)
		}
		// The accounts part follows the leads' (the seeded leads are at
		// company domains).
		accounts, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("preview-accounts")))
		if !regexp.MustCompile(`would move \d+ of [1-9]\d* accounts`).MatchString(accounts) {
			t.Errorf("the preview's accounts part: %q; want the accounts it evaluated counted", accounts)
		}
		if l, _ := api.lead(t.Context(), nearEmail); l.Stage != "lead" {
			t.Errorf("the preview moved %s to %s", nearEmail, l.Stage)
		}
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("publish-btn")),
			chromedp.WaitVisible(chromedp.ID("confirm-publish")),
			chromedp.Click(chromedp.ID("confirm-publish")),
			chromedp.WaitVisible(chromedp.ID("rescore-done"))); err != nil {
			t.Fatal(err)
		}
		pct, _ := js[string](ctx, `document.querySelector('#rescore .progress').dataset.percent`)
		if pct != "100" {
			t.Errorf("rescore progress at %s%% when done", pct)
		}
		if _, err := api.waitLead(t.Context(), nearEmail, func(l leadView) bool { return l.Stage == "mql" }); err != nil {
			t.Error(err)
		}
		// The history lists the version with what it changed, and its
		// diff shows the edited line.
		if err := open(ctx, st.APIURL, "#/rules/v1", "#version-diff"); err != nil {
			t.Fatal(err)
		}
		history, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("rules-history")))
		diff, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("version-diff")))
		if !strings.Contains(history, "pricing-visit 10 → 40") || !regexp.MustCompile(`(?m)^\+ +points: 40$`).MatchString(diff) {
			t.Errorf("history %q, diff %q; want the points change in both", history, diff)
		}
		if err := open(ctx, st.APIURL, "#/queue", "#leads-rows tr a"); err != nil {
			t.Fatal(err)
		}
		rows, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("leads-rows")))
		if !strings.Contains(rows, "Nico Near") {
			t.Errorf("the MQL list after publishing: %q, want Nico Near in it", rows)
		}
	})

	t.Run("markup in a name is text", func(t *testing.T) {
		l, err := api.lead(t.Context(), xssEmail)
		if err != nil {
			t.Fatal(err)
		}
		if err := open(ctx, st.APIURL, "#/lead/"+l.LeadID, "#lead-name"); err != nil {
			t.Fatal(err)
		}
		name, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("lead-name")))
		imgs, _ := js[int](ctx, `document.querySelectorAll('main img').length`)
		if name != xssName+" Tester" || imgs != 0 {
			t.Errorf("the lead's name shows as %q with %d img elements; want the text %q and none", name, imgs, xssName+" Tester")
		}
	})
}

func startTestStack(t *testing.T) *stackproc.Stack {
	root, err := template.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	st, err := startStack(t.Context(), testKey, filepath.Join(root, "build", "console-test", "stack.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Stop)
	return st
}
