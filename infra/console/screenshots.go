package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/chromedp/chromedp"
)

// docShots are the screenshots the README shows, copied into -docs.
var docShots = []string{"queue", "rules-preview"}

// screenshots seeds the scenario and a crowd of 400 people, then saves each
// view: the queue, a lead, its account (when the API serves accounts), the
// rules editor with a preview, the version history with a diff, the
// signals report.
func screenshots(ctx context.Context, api client, dir, docs string) error {
	seedCtx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	now := time.Now()
	evs, emails := crowd(400, 1, now)
	if err := api.post(seedCtx, append(scenario(now), evs...)); err != nil {
		return err
	}
	if err := settle(seedCtx, api, append(emails, mqlEmail, nearEmail, xssEmail)); err != nil {
		return err
	}
	mara, err := api.lead(ctx, mqlEmail)
	if err != nil {
		return err
	}
	steps := []struct {
		name string
		do   func() error
	}{
		{"queue", func() error {
			return chromedp.Do(ctx, chromedp.Navigate(api.base+"/console#/queue"), chromedp.WaitVisible(chromedp.CSS("#leads-rows tr a")))
		}},
		{"lead", func() error { return open(ctx, api.base, "#/lead/"+mara.LeadID, "#lead-engagement") }},
		{"account", func() error {
			if mara.AccountID == "" {
				return errSkip
			}
			return open(ctx, api.base, "#/account/"+mara.AccountID, ".scorecards")
		}},
		{"rules-preview", func() error { return previewDraft(ctx, api.base, "pricing-visit", 40) }},
		{"rules-history", func() error {
			if err := publishEditor(ctx); err != nil {
				return err
			}
			if err := previewDraft(ctx, api.base, "form-fill", 15); err != nil {
				return err
			}
			if err := publishEditor(ctx); err != nil {
				return err
			}
			return open(ctx, api.base, "#/rules/v2", "#version-diff")
		}},
		{"signals", func() error { return open(ctx, api.base, "#/signals", ".scorecards") }},
	}
	if err := signIn(ctx, api.base, api.key); err != nil {
		return err
	}
	for _, s := range steps {
		switch err := s.do(); {
		case err == errSkip:
			fmt.Printf("%-14s skipped: this API has no accounts yet\n", s.name)
			continue
		case err != nil:
			return fmt.Errorf("%s: %w", s.name, err)
		}
		time.Sleep(300 * time.Millisecond) // let the last frame paint
		if err := screenshot(ctx, dir, s.name, s.name != "queue"); err != nil {
			return err
		}
		fmt.Printf("%-14s %s\n", s.name, filepath.Join(dir, s.name+".png"))
	}
	if docs == "" {
		return nil
	}
	for _, name := range docShots {
		b, err := os.ReadFile(filepath.Join(dir, name+".png"))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(docs, "console-"+name+".png"), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

var errSkip = fmt.Errorf("skipped")

// previewDraft opens the rules, sets one rule's points in the editor and
// previews the draft.
func previewDraft(ctx context.Context, base, rule string, points int) error {
	if err := open(ctx, base, "#/rules", "#rules-editor"); err != nil {
		return err
	}
	doc, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("rules-editor")))
	if err != nil {
		return err
	}
	draft, err := setPoints(doc, rule, points)
	if err != nil {
		return err
	}
	return chromedp.Do(ctx, chromedp.SetValue(chromedp.ID("rules-editor"), draft),
		chromedp.Click(chromedp.ID("preview-btn")), chromedp.WaitVisible(chromedp.ID("preview-done")))
}

// publishEditor publishes what the editor holds and waits for the rescore.
func publishEditor(ctx context.Context) error {
	return chromedp.Do(ctx, chromedp.Click(chromedp.ID("publish-btn")),
		chromedp.WaitVisible(chromedp.ID("confirm-publish")), chromedp.Click(chromedp.ID("confirm-publish")),
		chromedp.WaitVisible(chromedp.ID("rescore-done")))
}
