package leadscore

import (
	"context"
	"time"
)

// KindSignalsReport is the score-queue message that builds the signals
// report (docs/scoring.md section 6) in the background, when the leads with
// an outcome are too many to read inside an API request. It carries no
// position: the job item in the store says which build it is and how far it
// got, so a duplicate delivery finds the job taken or finished.
const KindSignalsReport = "signals_report"

// SignalsReportMessage is the message that runs the build started at
// startedAt (LeadID names the job for an operator reading the queue; SQS
// message attributes may not be empty).
func SignalsReportMessage(startedAt time.Time) ScoreMessage {
	return ScoreMessage{Kind: KindSignalsReport, LeadID: "signals_report", Now: startedAt.UTC()}
}

// OutcomeLeads reads the leads that have a sales outcome (won, lost,
// rejected) and only them: the report's cost follows outcomes, not the
// table. The store keeps them in Shards() parts so they can be read in
// parallel and in steps.
type OutcomeLeads interface {
	// OutcomeShards is how many parts the leads with an outcome are kept in.
	OutcomeShards() int
	// OutcomeLeads returns up to about limit leads of shard after cursor
	// with their state (ID and State only); next is "" at the shard's end.
	OutcomeLeads(ctx context.Context, shard int, cursor string, limit int) (leads []*Lead, next string, err error)
}

// ReportJob is the progress of a background build of the signals report,
// like a rescore's: Done of Total parts of the leads with an outcome read.
type ReportJob struct {
	StartedAt time.Time `json:"started_at"`
	// FinishedAt is set when the report is stored; null while running.
	FinishedAt *time.Time `json:"finished_at"`
	Done       int        `json:"done"`
	Total      int        `json:"total"`
	LeadsRead  int64      `json:"leads_read"`
}

// StoredReport is the latest report a background build stored: its JSON
// body and when it was generated.
type StoredReport struct {
	Body        []byte
	GeneratedAt time.Time
	// Outcomes is how many leads with an outcome it was built from.
	Outcomes int
}

// ReportStore keeps the background build's job and its result.
type ReportStore interface {
	OutcomeLeads
	// SignalsReport returns the current job and the latest stored report;
	// either is nil when there is none.
	SignalsReport(ctx context.Context) (*ReportJob, *StoredReport, error)
	// StartSignalsReport writes a new job started at now, unless a job is
	// running that started less than stale ago: then it returns that job
	// and started false.
	StartSignalsReport(ctx context.Context, now time.Time, total int, stale time.Duration) (job *ReportJob, started bool, err error)
	// AdvanceSignalsReport records progress of the job started at
	// startedAt; ok is false when that job is no longer the current one.
	AdvanceSignalsReport(ctx context.Context, startedAt time.Time, done int, leadsRead int64) (ok bool, err error)
	// SaveSignalsReport stores the report of the job started at startedAt
	// (kept until ttl after now) and marks the job finished.
	SaveSignalsReport(ctx context.Context, startedAt time.Time, r StoredReport, now time.Time, ttl time.Duration) error
}
