package main

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/leadscore/leadscore/shared/scoring"
)

// measure seeds n leads through the API, then reports the console's first
// contentful paint and the time until the MQL list has drawn (median of 5
// fresh loads in headless Chromium, on 127.0.0.1), and the duration of a
// rules preview over every lead.
func measure(ctx context.Context, api client, n int) error {
	start := time.Now()
	evs, emails := crowd(n, 2, start)
	seedCtx, cancel := context.WithTimeout(ctx, 60*time.Minute)
	defer cancel()
	if err := api.post(seedCtx, evs); err != nil {
		return err
	}
	fmt.Printf("seeded %d events for %d leads in %s\n", len(evs), n, since(start))
	if err := settleAll(seedCtx, api, emails); err != nil {
		return err
	}
	fmt.Printf("all %d leads scored after %s\n", n, since(start))

	if err := signIn(ctx, api.base, api.key); err != nil {
		return err
	}
	var fcp, list, fetch []float64
	for range 5 {
		if err := chromedp.Do(ctx, chromedp.Navigate(api.base+"/console#/queue"), chromedp.WaitVisible(chromedp.CSS("#leads-rows tr a"))); err != nil {
			return err
		}
		t, err := js[[]float64](ctx, `[
			performance.getEntriesByName('first-contentful-paint')[0].startTime,
			performance.getEntriesByName('leads-rendered')[0].startTime,
			performance.getEntriesByType('resource').find((e) => e.name.includes('v1/leads?stage=mql')).duration]`)
		if err != nil {
			return err
		}
		fcp, list, fetch = append(fcp, t[0]), append(list, t[1]), append(fetch, t[2])
	}
	fmt.Printf("console first contentful paint  %6.0f ms (median of 5)\n", median(fcp))
	fmt.Printf("MQL list drawn (from navigation) %6.0f ms (median of 5; GET /v1/leads?stage=mql itself %.0f ms)\n", median(list), median(fetch))

	draft, err := setPoints(string(scoring.DefaultRulesYAML()), "pricing-visit", 40)
	if err != nil {
		return err
	}
	began := time.Now()
	var started struct {
		PreviewID string `json:"preview_id"`
	}
	if err := api.do(ctx, "POST", "/v1/rules/preview", "application/yaml", draft, &started); err != nil {
		return err
	}
	for {
		var p struct {
			Status   string `json:"status"`
			Leads    int    `json:"leads"`
			Progress struct{ Done, Total int }
		}
		if err := api.do(ctx, "GET", "/v1/rules/preview/"+started.PreviewID, "", nil, &p); err != nil {
			return err
		}
		if p.Status == "done" {
			fmt.Printf("preview of %d leads                %6.1f s\n", p.Leads, time.Since(began).Seconds())
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	fmt.Printf("machine: %s/%s, %d CPUs, Go %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	return nil
}

// settleAll waits until every email's lead is readable, eight at a time.
func settleAll(ctx context.Context, api client, emails []string) error {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	next := make(chan string)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range next {
				if _, err := api.waitLead(ctx, e, func(l leadView) bool { return l.Stage != "" }); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for _, e := range emails {
		select {
		case next <- e:
		case err := <-errs:
			close(next)
			wg.Wait()
			return err
		}
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
