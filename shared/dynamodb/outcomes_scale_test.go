package dynamodb

import (
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/leadscore/leadscore/infra/emulators"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
	"github.com/leadscore/leadscore/shared/signals"
)

// BenchmarkSignalsReportScale measures the signals report at scale
// (docs/performance.md "Signals report"): LEADSCORE_REPORT_LEADS leads
// (100,000 by default), one in LEADSCORE_REPORT_OUTCOME_EVERY (50 by
// default: 2%) with a sales outcome, as the score
// function writes them. It reports the request units and seconds of the
// old path (a Scan of every lead, signals.ReadReport) against the outcome
// index read inside a request (signals.ReadOutcomesReport) and the
// background build (signals.RunBuild). Loading the table takes a few
// minutes, so make bench skips it unless told (BENCH_SKIP):
//
//	go test -run '^$' -bench SignalsReportScale -benchtime 1x ./shared/dynamodb/
func BenchmarkSignalsReportScale(b *testing.B) {
	emulators.Need(b)
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("LEADSCORE_REPORT_LEADS")); err == nil && v > 0 {
		n = v
	}
	outcomeEvery := 50 // 2%
	if v, err := strconv.Atoi(os.Getenv("LEADSCORE_REPORT_OUTCOME_EVERY")); err == nil && v > 0 {
		outcomeEvery = v
	}
	if err := stack.Reset(context.Background()); err != nil {
		b.Fatal(err)
	}
	s := newStore(b)
	decided := loadReportLeads(b, s, n, outcomeEvery)
	rules := scoring.DefaultRules()
	now := t0

	b.ResetTimer()
	var scan, index, background measured
	for range b.N {
		scan = measure(b, func(ctx context.Context) int {
			rep, err := signals.ReadReport(ctx, s, rules, now, signals.ReadOptions{MaxLeads: 10 * n})
			if err != nil || rep.Truncated {
				b.Fatalf("scan: truncated %v, %v", rep.Truncated, err)
			}
			return rep.LeadsRead
		})
		index = measure(b, func(ctx context.Context) int {
			rep, err := signals.ReadOutcomesReport(ctx, s, rules, now, signals.OutcomeOptions{MaxLeads: 10 * n})
			if err != nil || rep.Truncated {
				b.Fatalf("outcome index: truncated %v, %v", rep.Truncated, err)
			}
			return rep.LeadsRead
		})
		background = measure(b, func(ctx context.Context) int {
			job, _, err := s.StartSignalsReport(ctx, time.Now(), OutcomeShards, 0)
			if err != nil {
				b.Fatal(err)
			}
			if err := signals.RunBuild(ctx, s, rules, now, job.StartedAt, signals.Options{}); err != nil {
				b.Fatal(err)
			}
			got, _, err := s.SignalsReport(ctx)
			if err != nil || got.Done != got.Total || got.FinishedAt == nil {
				b.Fatalf("background build: %+v %v", got, err)
			}
			return int(got.LeadsRead)
		})
	}
	b.StopTimer()
	if index.leads != decided || background.leads != decided || scan.leads != n {
		b.Fatalf("read %d (scan), %d (index), %d (background); want %d leads and %d with an outcome", scan.leads, index.leads, background.leads, n, decided)
	}
	b.ReportMetric(scan.units, "scan-RU")
	b.ReportMetric(scan.took.Seconds(), "scan-s")
	b.ReportMetric(index.units, "index-RU")
	b.ReportMetric(index.took.Seconds(), "index-s")
	b.ReportMetric(background.units, "background-RU")
	b.ReportMetric(background.took.Seconds(), "background-s")
	b.Logf("%d leads, %d with an outcome: full scan %.1f RU in %s; outcome index %.1f RU in %s (%.0fx fewer units, %.0fx faster); background build %.1f RU in %s",
		n, decided, scan.units, scan.took.Round(time.Millisecond), index.units, index.took.Round(time.Millisecond),
		scan.units/index.units, scan.took.Seconds()/index.took.Seconds(), background.units, background.took.Round(time.Millisecond))
}

type measured struct {
	units float64
	took  time.Duration
	leads int
}

func measure(b *testing.B, f func(ctx context.Context) int) measured {
	b.Helper()
	ctx, units := MeterInvocation(context.Background())
	start := time.Now()
	leads := f(ctx)
	return measured{units: units(), took: time.Since(start), leads: leads}
}

// loadReportLeads writes n random leads as WriteLead would (encodeLead),
// one in every outcomeEvery with a decided sales outcome, in BatchWriteItem
// calls of 25, and returns how many have an outcome.
func loadReportLeads(b testing.TB, s *Store, n, outcomeEvery int) int {
	b.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	decidedPaths, openPaths := []int{2, 3, 4, 6}, []int{0, 0, 0, 1, 5}
	items := make([]map[string]types.AttributeValue, 0, n)
	decided := 0
	for i := range n {
		path := openPaths[rng.IntN(len(openPaths))]
		if i%outcomeEvery == 0 {
			path = decidedPaths[rng.IntN(len(decidedPaths))]
			decided++
		}
		rec := randomLead(rng, i, path, "scale")
		if signals.HasOutcome(rec.State.History()) != (i%outcomeEvery == 0) {
			b.Fatalf("lead %d on sales path %v: outcome %v", i, salesPaths[path], signals.HasOutcome(rec.State.History()))
		}
		rec.IndexDueAt = leadscore.IndexDue(time.Time{}, rec.DueAt, 0, t0)
		item, err := encodeLead(rec, 1)
		if err != nil {
			b.Fatal(err)
		}
		items = append(items, item)
	}
	writeItems(b, s, items)
	return decided
}

func writeItems(b testing.TB, s *Store, items []map[string]types.AttributeValue) {
	b.Helper()
	c := s.client
	var wg sync.WaitGroup
	work := make(chan []map[string]types.AttributeValue)
	var once sync.Once
	var failed error
	for range 8 {
		wg.Go(func() {
			for chunk := range work {
				reqs := make([]types.WriteRequest, len(chunk))
				for i, it := range chunk {
					reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: it}}
				}
				pending := map[string][]types.WriteRequest{s.table: reqs}
				for len(pending[s.table]) > 0 {
					out, err := c.BatchWriteItem(context.Background(), &awsddb.BatchWriteItemInput{RequestItems: pending})
					if err != nil {
						once.Do(func() { failed = err })
						break
					}
					pending = out.UnprocessedItems
				}
			}
		})
	}
	for i := 0; i < len(items); i += 25 {
		work <- items[i:min(i+25, len(items))]
	}
	close(work)
	wg.Wait()
	if failed != nil {
		b.Fatal(failed)
	}
}
