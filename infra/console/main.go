// Command console drives the marketer console (shared/console) in headless
// Chromium against a local stack it starts (./infra/localstack), seeded
// through the API:
//
//	go run ./infra/console -screenshots build/screenshots   # make screenshots
//	go run ./infra/console -figures 10000                    # make console-figures
//
// -screenshots saves a PNG of each view; -docs also copies the two the
// README shows into docs/. -figures seeds that many leads and measures the
// console's first paint, the MQL list's load time and a rules preview's
// duration.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/leadscore/leadscore/infra/browser"
	"github.com/leadscore/leadscore/infra/template"
)

const localKey = "console-local-key"

func main() {
	shots := flag.String("screenshots", "", "save a screenshot of each view in this folder")
	docs := flag.String("docs", "", "with -screenshots: also copy the README's two screenshots into this folder")
	figures := flag.Int("figures", 0, "seed this many leads and measure first paint, the MQL list and a preview")
	flag.Parse()
	if *shots == "" && *figures == 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *shots, *docs, *figures); err != nil {
		fmt.Fprintln(os.Stderr, "console:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, shots, docs string, figures int) error {
	root, err := template.RepoRoot()
	if err != nil {
		return err
	}
	st, err := startStack(ctx, localKey, filepath.Join(root, "build", "console", "stack.log"))
	if err != nil {
		return err
	}
	defer st.Stop()
	b, err := browser.Start(ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	api := client{base: st.APIURL, key: localKey}
	if shots != "" {
		if err := screenshots(b.Ctx, api, shots, docs); err != nil {
			return err
		}
	}
	if figures > 0 {
		return measure(b.Ctx, api, figures)
	}
	return nil
}

// settle waits until the score queue has scored the lead of every email.
func settle(ctx context.Context, api client, emails []string) error {
	for _, e := range emails {
		if _, err := api.waitLead(ctx, e, func(l leadView) bool { return l.Stage != "" }); err != nil {
			return err
		}
	}
	return nil
}

func since(t time.Time) string { return time.Since(t).Round(time.Millisecond).String() }
