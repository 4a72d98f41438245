package signals

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// This file is the report's read path as the API serves it: only the leads
// with a sales outcome (won, lost, rejected), read through the store's
// outcome index, so its cost follows outcomes and not the table
// (docs/design.md). Rates, lifts, the model and the AUCs only ever used
// those leads; what changes is that open leads are not read at all, so the
// counts that included them (leads, leads_with, an attribute's leads, the
// funnel) now count leads with an outcome (docs/api.md).

// Populations of LeadsReport.Population.
const (
	// PopulationOutcomes: the leads whose latest sales outcome is won, lost
	// or rejected (GET /v1/reports/signals).
	PopulationOutcomes = "outcomes"
	// PopulationAll: every identified lead, open ones included (a full
	// scan: the command under infra/report with -scan).
	PopulationAll = "all"
)

// Where a report was computed (LeadsReport.Computed).
const (
	ComputedInRequest  = "request"
	ComputedBackground = "background"
)

// DefaultInlineOutcomes is the most leads with an outcome the API reads
// inside a request; above it the report is built in the background. On the
// 2-core dev machine 20,000 took 5.4-7.6 s with DynamoDB Local
// (docs/performance.md "Signals report"), too close to the API function's
// 10 s on a Lambda CPU share; 5,000 keep the request around a second or
// two. A read that nears the deadline anyway stops and goes to the
// background too.
const DefaultInlineOutcomes = 5_000

// ReportTTL is how long a background build's report is kept.
const ReportTTL = 7 * 24 * time.Hour

// outcomePageLeads is the leads asked of one OutcomeLeads call (a Query
// page also stops at 1 MB, ~3,000 projected states).
const outcomePageLeads = 1000

// readers bounds the shards read at once inside a request. Measured on
// the 2-core dev machine, 2 beat 8 (5.4 s against 7.6 s for 20,000
// leads): decoding and re-scoring states is CPU work.
const readers = 2

// OutcomeOptions bound one read of the outcome index.
type OutcomeOptions struct {
	// MaxLeads stops the read past this many leads with an outcome
	// (DefaultInlineOutcomes when zero); the result then says Truncated and
	// is not a report to serve: the caller builds it in the background.
	MaxLeads int
	// Model tunes the model (zero: the defaults).
	Model Options
}

// ReadOutcomesReport reads every lead with an outcome (up to opt.MaxLeads),
// re-scores each with rules at now without writing anything, and builds
// the report over them. The shards are read in parallel; the report is a
// function of the set of leads, so their order does not matter.
func ReadOutcomesReport(ctx context.Context, src leadscore.OutcomeLeads, rules *scoring.Rules, now time.Time, opt OutcomeOptions) (LeadsReport, error) {
	maxLeads := opt.MaxLeads
	if maxLeads <= 0 {
		maxLeads = DefaultInlineOutcomes
	}
	points, err := CurrentPoints(rules)
	if err != nil {
		return LeadsReport{}, err
	}
	var (
		mu        sync.Mutex
		leads     []Lead
		firstErr  error
		read      atomic.Int64
		truncated atomic.Bool
		wg        sync.WaitGroup
		sem       = make(chan struct{}, readers)
	)
	// more records a page read and says whether to read on: not past the
	// bound, not near the deadline, and no other shard stopped.
	more := func(n int) bool {
		if read.Add(int64(n)) > int64(maxLeads) || nearDeadline(ctx) {
			truncated.Store(true)
		}
		return !truncated.Load()
	}
	for shard := range src.OutcomeShards() {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			got, err := readShard(ctx, src, shard, rules, now, more)
			mu.Lock()
			defer mu.Unlock()
			leads = append(leads, got...)
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return LeadsReport{}, firstErr
	}
	rep := LeadsReport{RulesVersion: rules.Version, GeneratedAt: now.UTC(), LeadsRead: len(leads),
		Truncated: truncated.Load() || len(leads) > maxLeads, Population: PopulationOutcomes, Computed: ComputedInRequest}
	if !rep.Truncated {
		rep.Report = Build(leads, points, opt.Model)
	}
	return rep, nil
}

// readShard reads one outcome shard to its end, or until more says stop
// (called with each page's lead count). A lead whose state no longer has an
// outcome (the index lags its table by a moment) is left out.
func readShard(ctx context.Context, src leadscore.OutcomeLeads, shard int, rules *scoring.Rules, now time.Time, more func(n int) bool) ([]Lead, error) {
	var out []Lead
	cursor := ""
	for {
		page, next, err := src.OutcomeLeads(ctx, shard, cursor, outcomePageLeads)
		if err != nil {
			return out, fmt.Errorf("read outcome shard %d for the signals report: %w", shard, err)
		}
		for _, l := range page {
			if l.State == nil || !HasOutcome(l.State.History()) {
				continue
			}
			out = append(out, LeadFromState(l.ID, l.State, rules, now))
		}
		if keepOn := more(len(page)); next == "" || !keepOn {
			return out, nil
		}
		cursor = next
	}
}

// StartBuild starts a background build of the report: the job item, then
// the message that runs it on the score queue. A build already running
// (started less than stale ago) is returned instead of a second one.
func StartBuild(ctx context.Context, store leadscore.ReportStore, queue leadscore.ScoreQueue, now time.Time, stale time.Duration) (*leadscore.ReportJob, error) {
	job, started, err := store.StartSignalsReport(ctx, now, store.OutcomeShards(), stale)
	if err != nil || !started {
		return job, err
	}
	failed, err := queue.EnqueueScore(ctx, []leadscore.ScoreMessage{leadscore.SignalsReportMessage(job.StartedAt)})
	if err != nil || len(failed) > 0 {
		return nil, fmt.Errorf("enqueue the signals report build started at %s: %w", job.StartedAt.Format(time.RFC3339Nano), err)
	}
	return job, nil
}

// RunBuild runs the background build started at startedAt: it reads the
// outcome shards one after the other, recording progress (done shards of
// total) after each, builds the report and stores it for ReportTTL. A
// duplicate or superseded message finds the job finished or replaced and
// does nothing; a retried one starts the read over.
func RunBuild(ctx context.Context, store leadscore.ReportStore, rules *scoring.Rules, now, startedAt time.Time, opt Options) error {
	job, _, err := store.SignalsReport(ctx)
	if err != nil {
		return err
	}
	if job == nil || !job.StartedAt.Equal(startedAt) || job.FinishedAt != nil {
		return nil
	}
	points, err := CurrentPoints(rules)
	if err != nil {
		return err
	}
	var leads []Lead
	for shard := range store.OutcomeShards() {
		got, err := readShard(ctx, store, shard, rules, now, func(int) bool { return true })
		if err != nil {
			return err
		}
		leads = append(leads, got...)
		ok, err := store.AdvanceSignalsReport(ctx, startedAt, shard+1, int64(len(leads)))
		if err != nil || !ok {
			return err // !ok: a newer build replaced this one
		}
	}
	rep := LeadsReport{Report: Build(leads, points, opt), RulesVersion: rules.Version, GeneratedAt: now.UTC(),
		LeadsRead: len(leads), Population: PopulationOutcomes, Computed: ComputedBackground}
	body, err := json.Marshal(rep)
	if err != nil {
		return fmt.Errorf("encode the signals report: %w", err)
	}
	return store.SaveSignalsReport(ctx, startedAt, leadscore.StoredReport{Body: body, GeneratedAt: now.UTC(), Outcomes: rep.Outcomes}, now, ReportTTL)
}
