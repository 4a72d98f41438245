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
	"time"

	"github.com/leadscore/leadscore/shared/leadscore"
)

// PageLeads is how many leads one rescore_page message hands to the score
// queue (fewer at the table's end, a few more when a Scan call overshoots):
// ~20 SendMessageBatch calls, far inside an invocation's time.
const PageLeads = 200

// pageMessage is a rescore_page message: advance the job of RulesVersion.
type pageMessage struct {
	idx     int
	version int
}

// parsePageMessage reports whether body is a rescore_page message, and
// checks it. Page messages are told apart before ParseMessage, which knows
// the per-lead kinds only.
func parsePageMessage(body []byte) (version int, isPage bool, err error) {
	if !bytes.Contains(body, []byte(leadscore.KindRescorePage)) {
		return 0, false, nil
	}
	var m leadscore.ScoreMessage
	if err := json.Unmarshal(body, &m); err != nil || m.Kind != leadscore.KindRescorePage {
		return 0, false, nil
	}
	if m.RulesVersion <= 0 {
		return 0, true, fmt.Errorf("rescore_page message has no rules_version")
	}
	return m.RulesVersion, true, nil
}

// advancePages handles the batch's rescore_page messages, one job at a time,
// and returns the indexes of the messages that must be retried.
func (h *Handler) advancePages(ctx context.Context, log *slog.Logger, pages []pageMessage, now time.Time) []int {
	byVersion := map[int][]int{}
	for _, p := range pages {
		byVersion[p.version] = append(byVersion[p.version], p.idx)
	}
	var failed []int
	for _, v := range slices.Sorted(maps.Keys(byVersion)) {
		if err := h.advancePage(ctx, log.With("rules_version", v), v, now); err != nil {
			log.Error("advancing the rescore failed; the page message is retried", "rules_version", v, "error", err.Error())
			failed = append(failed, byVersion[v]...)
		}
	}
	return failed
}

// advancePage scans the job's next page, enqueues a rescore message per
// lead, records the page, and enqueues the next page message. The job item
// holds the cursor and the page count; the record is conditioned on the page
// count, so of two deliveries of one page message only one counts its leads
// and carries on (the other's rescore messages are duplicates, which the
// lead's rules version and the done markers absorb). A crash after the
// record and before the next page message is healed by the redelivery:
// it reads the advanced job and does the next page itself.
func (h *Handler) advancePage(ctx context.Context, log *slog.Logger, version int, now time.Time) error {
	store, queue := h.rescore, h.queue
	job, err := store.RescoreJob(ctx, version)
	if errors.Is(err, leadscore.ErrNotFound) {
		log.Warn("rescore_page for a job that does not exist; dropped")
		return nil
	}
	if err != nil {
		return err
	}
	if job.ScanComplete {
		return nil // a late duplicate
	}
	// A newer version's rescore covers every lead this one has not reached
	// (and rebuilds leads with the newest rules anyway): stop scanning.
	if cur, err := h.rules.Current(ctx); err == nil && cur.Version > version {
		_, err := store.AdvanceRescore(ctx, version, job.Pages, 0, "", true, cur.Version, now)
		if err == nil {
			log.Info("rescore superseded by a newer rules version", "superseded_by", cur.Version, "leads_enqueued", job.LeadsEnqueued)
		}
		return err
	}
	ids, next, err := store.ScanLeadIDs(ctx, job.Cursor, PageLeads)
	if err != nil {
		return err
	}
	msgs := make([]leadscore.ScoreMessage, len(ids))
	for i, id := range ids {
		msgs[i] = leadscore.ScoreMessage{Kind: leadscore.KindRescore, LeadID: id, RulesVersion: version}
	}
	if len(msgs) > 0 {
		if failedIdx, err := queue.EnqueueScore(ctx, msgs); err != nil || len(failedIdx) > 0 {
			return fmt.Errorf("enqueue %d of %d rescore messages of page %d: %w", len(failedIdx), len(msgs), job.Pages, err)
		}
	}
	advanced, err := store.AdvanceRescore(ctx, version, job.Pages, len(ids), next, next == "", 0, now)
	if err != nil {
		return err
	}
	if !advanced {
		log.Info("rescore page already recorded by another delivery", "page", job.Pages)
		return nil
	}
	log.Info("rescore page enqueued", "page", job.Pages, "leads", len(ids), "scan_complete", next == "")
	if next == "" {
		return nil
	}
	if failedIdx, err := queue.EnqueueScore(ctx, []leadscore.ScoreMessage{leadscore.RescorePageMessage(version)}); err != nil || len(failedIdx) > 0 {
		return fmt.Errorf("enqueue page %d: %w", job.Pages+1, err)
	}
	return nil
}

// countRescored counts the batch's rescore messages that succeeded as done
// for their jobs. A lead counts whether or not it needed a rebuild (it may
// be at the version already, through an event scored after the publish, or
// erased): each enqueued lead is counted exactly once, by its marker, so
// leads_done reaches leads_enqueued. It returns the messages to retry when
// counting failed.
func (h *Handler) countRescored(ctx context.Context, log *slog.Logger, msgs []leadscore.ScoreMessage, failed []bool, now time.Time) []int {
	byVersion := map[int][]int{}
	for i, m := range msgs {
		if m.Kind == leadscore.KindRescore && !failed[i] {
			byVersion[m.RulesVersion] = append(byVersion[m.RulesVersion], i)
		}
	}
	if len(byVersion) == 0 {
		return nil
	}
	var retry []int
	for _, v := range slices.Sorted(maps.Keys(byVersion)) {
		idx := byVersion[v]
		ids := make([]string, len(idx))
		for j, i := range idx {
			ids[j] = msgs[i].LeadID
		}
		if err := h.rescore.MarkRescored(ctx, v, ids, now); err != nil {
			// The leads are rescored; a redelivery finds them at the
			// version (no second move) and counts them then.
			log.Error("counting rescored leads failed", "rules_version", v, "leads", len(ids), "error", err.Error())
			retry = append(retry, idx...)
		}
	}
	return retry
}
