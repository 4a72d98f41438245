package score

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/preview"
	"github.com/leadscore/leadscore/shared/scoring"
)

// Rules previews (docs/api.md "Accounts, preview, console") ride the score
// queue like the bulk rescore: a preview_page message scans one page of
// leads and sends a preview message per lead; a preview message dry-runs
// the draft on its lead (shared/preview) and records the outcome, its
// account summary under the draft included. Neither writes a lead or an
// account, records an event or sends anything to the handoff or score
// queue beyond the preview's own messages: leads, their histories and the
// accounts (when the summary is made) are only read.

// previewMessage is a preview or preview_page message of a batch.
type previewMessage struct {
	idx    int
	id     string // the preview
	leadID string // "" for a page message
}

// parsePreviewMessage reports whether body is a preview or preview_page
// message, and checks it. Like page messages, they are told apart before
// ParseMessage, which knows the per-lead scoring kinds only.
func parsePreviewMessage(body []byte) (m previewMessage, isPreview bool, err error) {
	if !bytes.Contains(body, []byte(`"preview`)) {
		return m, false, nil
	}
	var sm leadscore.ScoreMessage
	if err := json.Unmarshal(body, &sm); err != nil || (sm.Kind != leadscore.KindPreview && sm.Kind != leadscore.KindPreviewPage) {
		return m, false, nil
	}
	switch {
	case sm.PreviewID == "":
		return m, true, fmt.Errorf("%s message has no preview_id", sm.Kind)
	case sm.Kind == leadscore.KindPreview && sm.LeadID == "":
		return m, true, fmt.Errorf("preview message of %s has no lead_id", sm.PreviewID)
	}
	m.id = sm.PreviewID
	if sm.Kind == leadscore.KindPreview {
		m.leadID = sm.LeadID
	}
	return m, true, nil
}

// previewer does a batch's preview work. It needs the preview store (the
// DynamoDB store is one), the lead store's reads, the score queue and the
// rules versions; and the accounts as the API reads them, for the accounts
// part of the summary (nil: the summary has none).
type previewer struct {
	jobs        leadscore.PreviewStore
	leads       leadscore.ScoreStore
	accounts    leadscore.AccountReader
	queue       leadscore.ScoreQueue
	rules       func(ctx context.Context, version int) (*scoring.Rules, error)
	concurrency int
}

// previewer is the handler's preview work, with the stores and queue it
// already has.
func (h *Handler) previewer() *previewer {
	// The account store the handler scores accounts with (the DynamoDB
	// store) also serves the API's account reads; the preview only reads.
	accounts, _ := h.accounts.(leadscore.AccountReader)
	return &previewer{jobs: h.previews, leads: h.store, accounts: accounts, queue: h.queue, rules: h.rules.Version, concurrency: h.concurrency}
}

// handle runs the batch's preview messages and returns the indexes of those
// to retry.
func (p *previewer) handle(ctx context.Context, log *slog.Logger, msgs []previewMessage, now time.Time) []int {
	byPreview := map[string][]previewMessage{}
	for _, m := range msgs {
		byPreview[m.id] = append(byPreview[m.id], m)
	}
	var failed []int
	for _, id := range slices.Sorted(maps.Keys(byPreview)) {
		ms := byPreview[id]
		plog := log.With("preview_id", id)
		if err := p.run(ctx, plog, id, ms, now); err != nil {
			plog.Error("preview messages failed; they are retried", "messages", len(ms), "error", err.Error())
			for _, m := range ms {
				failed = append(failed, m.idx)
			}
		}
	}
	return failed
}

// run does one preview's messages of the batch: its page messages (at most
// one counts: they all mean "the next page"), then its leads.
func (p *previewer) run(ctx context.Context, log *slog.Logger, id string, ms []previewMessage, now time.Time) error {
	if p.jobs == nil || p.queue == nil {
		return errors.New("this score function has no preview store or score queue")
	}
	job, err := p.jobs.PreviewJob(ctx, id)
	if errors.Is(err, leadscore.ErrNotFound) {
		log.Warn("preview messages for a preview that does not exist (expired?); dropped", "messages", len(ms))
		return nil
	}
	if err != nil {
		return err
	}
	var leadIDs []string
	page := false
	for _, m := range ms {
		if m.leadID == "" {
			page = true
		} else {
			leadIDs = append(leadIDs, m.leadID)
		}
	}
	if page {
		if err := p.advance(ctx, log, job, now); err != nil {
			return err
		}
	}
	if len(leadIDs) == 0 {
		return nil
	}
	return p.dryRun(ctx, job, leadIDs, now)
}

// advance scans the preview's next page and sends a preview message per
// lead, then records the page and sends the next page message: the bulk
// rescore's advancePage, for a preview (the same page-count condition makes
// a duplicated page message harmless).
func (p *previewer) advance(ctx context.Context, log *slog.Logger, job *leadscore.PreviewJob, now time.Time) error {
	if job.Progress.ScanComplete {
		return nil // a late duplicate
	}
	ids, next, err := p.jobs.ScanLeadIDs(ctx, job.Progress.Cursor, PageLeads)
	if err != nil {
		return err
	}
	msgs := make([]leadscore.ScoreMessage, len(ids))
	for i, id := range ids {
		msgs[i] = leadscore.ScoreMessage{Kind: leadscore.KindPreview, LeadID: id, PreviewID: job.ID}
	}
	if len(msgs) > 0 {
		if failed, err := p.queue.EnqueueScore(ctx, msgs); err != nil || len(failed) > 0 {
			return fmt.Errorf("enqueue %d of %d preview messages of page %d: %v", len(failed), len(msgs), job.Progress.Pages, err)
		}
	}
	advanced, err := p.jobs.AdvancePreview(ctx, job.ID, job.Progress.Pages, len(ids), next, next == "", now)
	if err != nil || !advanced {
		return err
	}
	log.Info("preview page enqueued", "page", job.Progress.Pages, "leads", len(ids), "scan_complete", next == "")
	if next == "" {
		return nil
	}
	if failed, err := p.queue.EnqueueScore(ctx, []leadscore.ScoreMessage{leadscore.PreviewPageMessage(job.ID)}); err != nil || len(failed) > 0 {
		return fmt.Errorf("enqueue page %d of the preview: %v", job.Progress.Pages+1, err)
	}
	return nil
}

// dryRun runs the draft on each lead (read, never written) at the
// preview's clock and records the outcomes. A lead gone since the scan
// (erased) counts as done with no outcome.
func (p *previewer) dryRun(ctx context.Context, job *leadscore.PreviewJob, leadIDs []string, now time.Time) error {
	draft, err := scoring.ParseRules(job.Draft)
	if err != nil {
		return fmt.Errorf("the draft of preview %s does not parse: %w", job.ID, err)
	}
	published, err := p.rules(ctx, job.Published)
	if err != nil {
		return err
	}
	slices.Sort(leadIDs)
	leadIDs = slices.Compact(leadIDs)
	var (
		mu       sync.Mutex
		outcomes []preview.Outcome
		gone     []string
		g        errgroup.Group
	)
	g.SetLimit(max(p.concurrency, 1))
	for _, id := range leadIDs {
		g.Go(func() error {
			o, ok, err := p.lead(ctx, id, published, draft, job.Clock)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			if ok {
				outcomes = append(outcomes, o)
			} else {
				gone = append(gone, id)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if err := p.jobs.RecordPreview(ctx, job.ID, outcomes, gone, now); err != nil {
		return err
	}
	p.summarizeIfDone(ctx, job.ID, published, draft, now)
	return nil
}

// summarizeIfDone keeps the preview's summary once its last lead is in, so
// the API answers it from one item. A failure here is no failure of the
// leads (they are recorded): the API computes the summary itself then.
func (p *previewer) summarizeIfDone(ctx context.Context, id string, published, draft *scoring.Rules, now time.Time) {
	job, err := p.jobs.PreviewJob(ctx, id)
	if err != nil || job.Progress.FinishedAt == nil || job.Summary != nil {
		return
	}
	_, _ = leadscore.SummarizePreview(ctx, p.jobs, p.accounts, job, published, draft, now)
}

// lead dry-runs one lead; ok is false when it no longer exists.
func (p *previewer) lead(ctx context.Context, id string, published, draft *scoring.Rules, clock time.Time) (preview.Outcome, bool, error) {
	rec, err := p.leads.PeekLead(ctx, id)
	if errors.Is(err, leadscore.ErrErased) {
		return preview.Outcome{}, false, nil
	}
	if err != nil {
		return preview.Outcome{}, false, fmt.Errorf("read lead %s: %w", id, err)
	}
	if !rec.Exists {
		return preview.Outcome{}, false, nil
	}
	hist, err := p.leads.EventHistory(ctx, id)
	if err != nil {
		return preview.Outcome{}, false, err
	}
	return preview.Lead(id, "", rec.State, hist, published, draft, clock), true, nil
}
