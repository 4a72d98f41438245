package leadscore

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// KindRescorePage is the score-queue message that advances a bulk rescore
// (docs/scoring.md section 5) by one page of leads. Its RulesVersion names the
// job; the job item holds the scan cursor and the page count, so the message
// carries no position of its own: any delivery of it means "advance job v by
// the next page", which is what makes duplicates harmless.
const KindRescorePage = "rescore_page"

// RescorePageMessage is the message that advances the rescore of version.
// LeadID names the job (SQS message attributes may not be empty, and an
// operator reading the queue sees what the message is about).
func RescorePageMessage(version int) ScoreMessage {
	return ScoreMessage{Kind: KindRescorePage, LeadID: "rescore_v" + strconv.Itoa(version), RulesVersion: version}
}

// RescoreJob is the progress of the bulk rescore started by publishing
// rules Version (GET /v1/rules/{version}/rescore).
type RescoreJob struct {
	Version   int       `json:"version"`
	StartedAt time.Time `json:"started_at"`
	// FinishedAt is set once the scan is complete and every enqueued lead
	// was rescored; null while running.
	FinishedAt *time.Time `json:"finished_at"`
	// LeadsEnqueued counts the leads the scan has handed to the score queue
	// so far; it is final once ScanComplete.
	LeadsEnqueued int64 `json:"leads_enqueued"`
	LeadsDone     int64 `json:"leads_done"`
	// LeadsLeft is enqueued minus done (never negative): while the scan
	// runs it is a lower bound of what remains.
	LeadsLeft    int64 `json:"leads_left"`
	ScanComplete bool  `json:"scan_complete"`
	// Pages is the number of scan pages done.
	Pages int64 `json:"pages"`
	// SupersededBy is the newer version that stopped this job's scan: leads
	// not reached yet are rebuilt by that version's rescore instead.
	SupersededBy int `json:"superseded_by,omitempty"`
	// Cursor is where the scan resumes (the store's opaque key).
	Cursor string `json:"-"`
}

// RescoreStore is the table side of a bulk rescore.
type RescoreStore interface {
	// StartRescore writes the job item of version (once: a second call
	// reports created false and changes nothing).
	StartRescore(ctx context.Context, version int, now time.Time) (created bool, err error)
	// RescoreJob reads a job's progress, strongly consistent; ErrNotFound
	// when version has no job.
	RescoreJob(ctx context.Context, version int) (*RescoreJob, error)
	// ScanLeadIDs returns the ids of identified leads after cursor, at least
	// wantLeads of them unless the table ends first (then next is ""), read
	// through a bounded number of Scan calls.
	ScanLeadIDs(ctx context.Context, cursor string, wantLeads int) (ids []string, next string, err error)
	// AdvanceRescore records page number page of the job as done (with n
	// leads enqueued and the cursor after it) if the job is still at that
	// page: advanced is false when another delivery recorded it first.
	// complete marks the scan complete; supersededBy, when non-zero, says
	// why it stopped early.
	AdvanceRescore(ctx context.Context, version int, page int64, n int, next string, complete bool, supersededBy int, now time.Time) (advanced bool, err error)
	// MarkRescored counts leadIDs as done for the job, each at most once
	// however often it is called.
	MarkRescored(ctx context.Context, version int, leadIDs []string, now time.Time) error
}

// LeadScanner reads every identified lead a page at a time (the signals
// report: a pass over all leads is what it is).
type LeadScanner interface {
	// ScanLeads returns up to about limit identified leads after cursor;
	// next is "" at the end of the table.
	ScanLeads(ctx context.Context, cursor string, limit int) (leads []*Lead, next string, err error)
}

// RescoreSettle is how long after a publish the bulk rescore's scan starts:
// the rules cache's TTL (a score container that read the rules just before
// the publish scores with them that long) plus the score function's 30 s
// timeout (an invocation that read them at the TTL's last moment writes
// until then) plus a margin. A lead first scored in that window is written
// with the previous version, before the scan starts, so the scan finds it
// and every lead ends on the new version without new events
// (docs/scoring.md section 5). A read of the rules that keeps failing past
// the TTL lets a container keep its copy longer; its lead writes go to the
// same table and fail alike.
const RescoreSettle = DefaultRulesTTL + 30*time.Second + 5*time.Second

// StartRescore begins the bulk rescore of version: the job item, then the
// first page message, held back settle (RescoreSettle in production) so
// that the scan starts after every cached copy of the previous rules has
// expired. Publishers call it right after publishing (PUT /v1/rules);
// calling it again for a started job only re-sends the page message, which
// the job's page count makes harmless.
func StartRescore(ctx context.Context, store RescoreStore, queue ScoreQueue, version int, now time.Time, settle time.Duration) error {
	if _, err := store.StartRescore(ctx, version, now); err != nil {
		return err
	}
	first := RescorePageMessage(version)
	first.Delay = settle
	failed, err := queue.EnqueueScore(ctx, []ScoreMessage{first})
	if err != nil || len(failed) > 0 {
		return fmt.Errorf("enqueue the first page of the rescore of rules version %d: %w", version, err)
	}
	return nil
}
