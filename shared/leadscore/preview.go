package leadscore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/leadscore/leadscore/shared/preview"
	"github.com/leadscore/leadscore/shared/scoring"
)

// Score-queue message kinds of a rules preview (docs/api.md "Accounts,
// preview, console"), fanned out like the bulk rescore: a preview_page
// message advances the scan by one page and sends a preview message per
// lead, which dry-runs the draft on that lead and records the outcome.
// Neither writes a lead or sends a webhook.
const (
	KindPreviewPage = "preview_page"
	KindPreview     = "preview"
)

// PreviewTTL is how long a preview's items are kept (DynamoDB TTL).
const PreviewTTL = 24 * time.Hour

// PreviewPageMessage advances the scan of preview id. LeadID names the job,
// as RescorePageMessage's does.
func PreviewPageMessage(id string) ScoreMessage {
	return ScoreMessage{Kind: KindPreviewPage, LeadID: "preview_" + id, PreviewID: id}
}

// PreviewJob is a rules preview: its inputs and its progress.
type PreviewJob struct {
	ID string
	// Draft is the draft document as posted; Published the version it is
	// compared with; Clock the now of every lead's dry run, so all leads
	// are judged at one moment.
	Draft     []byte
	Published int
	Clock     time.Time
	// Progress counts pages and leads as a rescore job does (its Version is
	// unused).
	Progress RescoreJob
	// Summary is the answer's JSON once computed (preview.Summary), nil
	// before.
	Summary []byte
}

// PreviewStore is the table side of a rules preview.
type PreviewStore interface {
	// StartPreview writes the job item of p (ID, Draft, Published, Clock).
	StartPreview(ctx context.Context, p *PreviewJob, now time.Time) error
	// PreviewJob reads a preview, strongly consistent; ErrNotFound when
	// there is none (or it expired).
	PreviewJob(ctx context.Context, id string) (*PreviewJob, error)
	// ScanLeadIDs is RescoreStore's.
	ScanLeadIDs(ctx context.Context, cursor string, wantLeads int) (ids []string, next string, err error)
	// AdvancePreview is AdvanceRescore for a preview.
	AdvancePreview(ctx context.Context, id string, page int64, n int, next string, complete bool, now time.Time) (advanced bool, err error)
	// RecordPreview keeps the outcomes of leads and counts each lead done
	// once, however often it is called; gone are leads scanned but erased
	// since, counted done with no outcome.
	RecordPreview(ctx context.Context, id string, outcomes []preview.Outcome, gone []string, now time.Time) error
	// PreviewOutcomes returns every recorded outcome of a preview.
	PreviewOutcomes(ctx context.Context, id string) ([]preview.Outcome, error)
	// SavePreviewSummary keeps the computed answer of a finished preview.
	SavePreviewSummary(ctx context.Context, id string, summary []byte, now time.Time) error
}

// SummarizePreview adds up a finished preview's outcomes (preview.Summarize
// with the MQL bars of the published rules and of the draft), evaluates the
// accounts under the draft at the preview's clock (previewAccounts) and
// keeps the summary. The score function calls it when the last lead is in,
// so that GET /v1/rules/preview/{id} reads one item; the API calls it too if
// the summary is not there yet. Two callers at once compute the same
// summary. accounts may be nil: the summary then has no accounts part.
func SummarizePreview(ctx context.Context, store PreviewStore, accounts AccountReader, job *PreviewJob, published, draft *scoring.Rules, now time.Time) (*preview.Summary, error) {
	outcomes, err := store.PreviewOutcomes(ctx, job.ID)
	if err != nil {
		return nil, err
	}
	pub, err := preview.BarOf(published)
	if err != nil {
		return nil, err
	}
	dr, err := preview.BarOf(draft)
	if err != nil {
		return nil, err
	}
	sum := preview.Summarize(outcomes, pub, dr)
	if accounts != nil {
		if sum.Accounts, err = previewAccounts(ctx, accounts, outcomes, draft, job.Clock); err != nil {
			return nil, fmt.Errorf("rules preview %s: %w", job.ID, err)
		}
	}
	b, err := json.Marshal(sum)
	if err != nil {
		return nil, err
	}
	// Keeping it saves the next reader the work; failing to only means the
	// next reader computes it again.
	_ = store.SavePreviewSummary(ctx, job.ID, b, now)
	return &sum, nil
}

// previewReaders bounds the account reads of one summary in flight.
const previewReaders = 16

// previewAccounts reads every account the dry run touches as stored now
// (an account not stored yet starts new) and evaluates them under the
// draft (preview.Accounts). It only reads.
func previewAccounts(ctx context.Context, accounts AccountReader, outcomes []preview.Outcome, draft *scoring.Rules, clock time.Time) (*preview.AccountSummary, error) {
	ids := preview.AccountIDs(outcomes)
	found := make([]*preview.StoredAccount, len(ids))
	var g errgroup.Group
	g.SetLimit(previewReaders)
	for i, id := range ids {
		g.Go(func() (err error) {
			found[i], err = storedAccount(ctx, accounts, id)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	stored := make(map[string]*preview.StoredAccount, len(ids))
	for i, id := range ids {
		if found[i] != nil {
			stored[id] = found[i]
		}
	}
	sum := preview.Accounts(outcomes, stored, draft, clock)
	return &sum, nil
}

// storedAccount is account id as the table holds it, nil when it holds
// none.
func storedAccount(ctx context.Context, accounts AccountReader, id string) (*preview.StoredAccount, error) {
	a, err := accounts.Account(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read account %s: %w", id, err)
	}
	if a.State == nil {
		return nil, nil
	}
	v := a.View
	return &preview.StoredAccount{State: a.State, EvaluatedAt: v.EvaluatedAt,
		Before: preview.AccountSnapshot{Fit: v.Score.Fit, Engagement: v.Score.Engagement, Grade: v.Score.Grade,
			Stage: a.State.Stage(), EngagedContacts: v.EngagedContacts}}, nil
}
