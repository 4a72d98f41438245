package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/leadscore/leadscore/shared/httpapi"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/preview"
	"github.com/leadscore/leadscore/shared/scoring"
	"github.com/leadscore/leadscore/shared/strictjson"
)

// PreviewStarted is the answer to POST /v1/rules/preview.
type PreviewStarted struct {
	PreviewID string `json:"preview_id"`
	// Progress is the route that reports it.
	Progress string `json:"progress"`
}

// PreviewBody is the answer to GET /v1/rules/preview/{preview_id}: the
// progress, and once done the summary (preview.Summary).
type PreviewBody struct {
	PreviewID string `json:"preview_id"`
	// Status is "running" or "done".
	Status   string          `json:"status"`
	Progress PreviewProgress `json:"progress"`
	// PublishedVersion is the version the draft is compared with; Clock the
	// moment every lead was judged at.
	PublishedVersion int        `json:"published_version"`
	Clock            time.Time  `json:"clock"`
	StartedAt        time.Time  `json:"started_at"`
	FinishedAt       *time.Time `json:"finished_at"`
	ExpiresAt        time.Time  `json:"expires_at"`
	*preview.Summary
}

// PreviewProgress counts the leads dry-run so far. Total grows while the
// scan runs (Counting true) and is final after.
type PreviewProgress struct {
	Done     int64 `json:"done"`
	Total    int64 `json:"total"`
	Counting bool  `json:"counting"`
}

// previewIDPattern is what newPreviewID makes; anything else is answered
// without a table read.
var previewIDPattern = regexp.MustCompile(`^pv_[0-9a-f]{32}$`)

func newPreviewID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return "pv_" + hex.EncodeToString(b)
}

// startPreview validates a draft as PUT /v1/rules does (400 with every
// problem) and starts its dry run over every lead: the job item, then the
// first page message on the score queue. Nothing else is written.
func (h *Handler) startPreview(ctx context.Context, c *httpapi.Call) httpapi.Response {
	draft, e := parseRulesBody(c.Req, "nothing was previewed")
	if e != nil {
		return httpapi.ErrorResponse(e)
	}
	if h.previews == nil {
		return httpapi.ErrorResponse(httpapi.StoreUnavailable())
	}
	cur, err := h.rules.CurrentRules(ctx)
	if err != nil {
		c.Log.Error("reading the current rules failed", "error", err.Error())
		return httpapi.ErrorResponse(httpapi.StoreUnavailable())
	}
	now := h.now()
	p := &leadscore.PreviewJob{ID: newPreviewID(), Draft: draft.Document(), Published: cur.Version, Clock: now}
	if err := h.previews.StartPreview(ctx, p, now); err != nil {
		c.Log.Error("starting the preview failed", "error", err.Error())
		return httpapi.ErrorResponse(httpapi.StoreUnavailable())
	}
	failed, err := h.queue.EnqueueScore(ctx, []leadscore.ScoreMessage{leadscore.PreviewPageMessage(p.ID)})
	if err != nil || len(failed) > 0 {
		c.Log.Error("enqueueing the preview's first page failed", "preview_id", p.ID, "error", errText(err))
		return httpapi.ErrorResponse(httpapi.Errorf(http.StatusServiceUnavailable, httpapi.CodeQueueUnavailable,
			"the preview could not start; try again shortly"))
	}
	c.Annotate("preview_id", p.ID, "rules_version", cur.Version)
	return httpapi.JSON(http.StatusAccepted, PreviewStarted{PreviewID: p.ID, Progress: "/v1/rules/preview/" + p.ID})
}

func errText(err error) string {
	if err == nil {
		return "some messages were refused"
	}
	return err.Error()
}

// getPreview answers a preview's progress and, once every lead is in, its
// summary: computed from the outcomes the first time and kept on the job.
func (h *Handler) getPreview(ctx context.Context, c *httpapi.Call) httpapi.Response {
	id := c.Params["preview_id"]
	if !previewIDPattern.MatchString(id) {
		return httpapi.ErrorResponse(httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest, "malformed preview_id",
			httpapi.Detail{Field: "preview_id", Message: "must be pv_ followed by 32 hex digits, as POST /v1/rules/preview returned"}))
	}
	if h.previews == nil {
		return httpapi.ErrorResponse(httpapi.StoreUnavailable())
	}
	p, err := h.previews.PreviewJob(ctx, id)
	switch {
	case errors.Is(err, leadscore.ErrNotFound):
		return httpapi.ErrorResponse(httpapi.Errorf(http.StatusNotFound, httpapi.CodeNotFound, "no such preview (previews expire after "+leadscore.PreviewTTL.String()+")"))
	case err != nil:
		c.Log.Error("reading the preview failed", "preview_id", id, "error", err.Error())
		return httpapi.ErrorResponse(httpapi.StoreUnavailable())
	}
	job := p.Progress
	body := PreviewBody{PreviewID: id, Status: "running", PublishedVersion: p.Published, Clock: p.Clock,
		StartedAt: job.StartedAt, FinishedAt: job.FinishedAt, ExpiresAt: job.StartedAt.Add(leadscore.PreviewTTL),
		Progress: PreviewProgress{Done: job.LeadsDone, Total: job.LeadsEnqueued, Counting: !job.ScanComplete}}
	if job.FinishedAt == nil {
		return httpapi.JSON(http.StatusOK, body)
	}
	sum, err := h.previewSummary(ctx, p)
	if err != nil {
		c.Log.Error("summarising the preview failed", "preview_id", id, "error", err.Error())
		return httpapi.ErrorResponse(httpapi.StoreUnavailable())
	}
	h.addEmails(ctx, sum)
	body.Status, body.Summary = "done", sum
	return httpapi.JSON(http.StatusOK, body)
}

// previewSummary is the kept summary of a finished preview (the score
// function keeps it when the last lead is in), or computes and keeps it.
func (h *Handler) previewSummary(ctx context.Context, p *leadscore.PreviewJob) (*preview.Summary, error) {
	if p.Summary != nil {
		var sum preview.Summary
		return &sum, json.Unmarshal(p.Summary, &sum)
	}
	published := scoring.DefaultRules()
	if p.Published > 0 {
		var err error
		if published, err = h.rules.Rules(ctx, p.Published); err != nil {
			return nil, err
		}
	}
	draft, err := scoring.ParseRules(p.Draft)
	if err != nil {
		return nil, err
	}
	return leadscore.SummarizePreview(ctx, h.previews, h.accounts, p, published, draft, h.now())
}

// addEmails fills in the email of each listed lead from its current view
// (outcomes are kept without one); a lead erased since is dropped from the
// lists.
func (h *Handler) addEmails(ctx context.Context, sum *preview.Summary) {
	for _, list := range []*[]preview.Outcome{&sum.WouldQualify, &sum.WouldUnqualify} {
		found := make([]bool, len(*list))
		var g errgroup.Group
		g.SetLimit(16)
		for i := range *list {
			o := &(*list)[i]
			g.Go(func() error {
				l, err := h.leads.Lead(ctx, o.LeadID)
				if err == nil && l.MergedInto == "" {
					o.Email, found[i] = l.Email, true
				}
				return nil
			})
		}
		_ = g.Wait()
		kept := (*list)[:0]
		for i, o := range *list {
			if found[i] {
				kept = append(kept, o)
			}
		}
		*list = kept
	}
}

// parseRulesBody reads a rules document from a PUT or POST body (JSON or
// YAML), answering 400 with every problem ParseRules finds; nothing says
// what was not done ("nothing was published").
func parseRulesBody(req *httpapi.Request, nothing string) (*scoring.Rules, *httpapi.Error) {
	b, e := httpapi.Body(req, MaxRulesBodyBytes)
	if e != nil {
		return nil, e
	}
	mt, _ := httpapi.MediaType(req)
	if !rulesMediaTypes[mt] {
		return nil, httpapi.UnsupportedMedia("application/json or application/yaml")
	}
	// A JSON document is read as strictly as every JSON body; ParseRules
	// (a YAML reader) refuses duplicate keys itself but keeps a NUL.
	var strict *strictjson.Error
	if mt == "application/json" && errors.As(strictjson.Check(b), &strict) {
		return nil, httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRules, "the rules document is not valid JSON text; "+nothing,
			httpapi.Detail{Field: strict.Path, Message: strict.Problem})
	}
	r, err := scoring.ParseRules(b)
	if err == nil {
		return r, nil
	}
	var re *scoring.RulesError
	if errors.As(err, &re) {
		details := make([]httpapi.Detail, len(re.Problems))
		for i, p := range re.Problems {
			field := p.Path
			if field == "" {
				field = "(document)"
			}
			details[i] = httpapi.Detail{Field: field, Message: p.Message}
		}
		return nil, httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRules, strconv.Itoa(len(details))+" problem(s) in the rules; "+nothing, details...)
	}
	// ParseRules describes the input (a YAML or JSON syntax error), not the
	// server, so its text is safe and useful to return.
	return nil, httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRules, "the rules document could not be read",
		httpapi.Detail{Field: "(body)", Message: err.Error()})
}
