package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/leadscore/leadscore/shared/httpapi"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/signals"
)

// Statuses of SignalsResponse.
const (
	// ReportReady: the body carries a report (computed in the request, or
	// the latest background build's).
	ReportReady = "ready"
	// ReportBuilding: no report yet; Build says how far the build is.
	ReportBuilding = "building"
)

// ReportRefreshAfter is the age past which GET /v1/reports/signals starts
// a new background build while still answering the stored report.
const ReportRefreshAfter = time.Hour

// ReportBuildStale is how long a background build may run before another
// may replace it: past every retry of its message (5 receives, 180 s
// visibility), so only a build whose message died is replaced.
const ReportBuildStale = 15 * time.Minute

// SignalsResponse is the body of GET and POST /v1/reports/signals: the
// report's fields (signals.LeadsReport) when there is one, and the
// background build when one is running.
type SignalsResponse struct {
	Status string `json:"status"`
	*signals.LeadsReport
	// Build is the running background build (done of total parts read),
	// absent when none runs.
	Build *leadscore.ReportJob `json:"build,omitempty"`
}

// signalsReport answers GET /v1/reports/signals (docs/scoring.md section 6).
// Leads with an outcome are read in the request up to the Report bound; a
// larger population is answered from the latest background build, which
// this route starts when there is none or it is over an hour old.
func (h *Handler) signalsReport(ctx context.Context, c *httpapi.Call) httpapi.Response {
	now := h.now()
	job, stored, err := h.reports.SignalsReport(ctx)
	if err != nil {
		c.Log.Error("reading the stored signals report failed", "error", err.Error())
		return httpapi.ErrorResponse(httpapi.StoreUnavailable())
	}
	bound := h.report.MaxLeads
	if bound <= 0 {
		bound = signals.DefaultInlineOutcomes
	}
	if stored == nil || stored.Outcomes <= bound {
		r, err := h.rules.CurrentRules(ctx)
		if err != nil {
			c.Log.Error("reading the current rules for the report failed", "error", err.Error())
			return httpapi.ErrorResponse(httpapi.StoreUnavailable())
		}
		body, err := signals.ReadOutcomesReport(ctx, h.reports, r, now, h.report)
		if err != nil {
			c.Log.Error("building the signals report failed", "error", err.Error())
			return httpapi.ErrorResponse(httpapi.StoreUnavailable())
		}
		if !body.Truncated {
			return httpapi.JSON(http.StatusOK, SignalsResponse{Status: ReportReady, LeadsReport: &body, Build: running(job)})
		}
		c.Log.Info("too many leads with an outcome to read in a request; building in the background", "bound", bound)
	}
	if stored == nil || now.Sub(stored.GeneratedAt) > ReportRefreshAfter {
		if job, err = signals.StartBuild(ctx, h.reports, h.queue, now, ReportBuildStale); err != nil {
			c.Log.Error("starting the signals report build failed", "error", err.Error())
			return httpapi.ErrorResponse(httpapi.StoreUnavailable())
		}
	}
	if stored == nil {
		return httpapi.JSON(http.StatusAccepted, SignalsResponse{Status: ReportBuilding, Build: job})
	}
	var body signals.LeadsReport
	if err := json.Unmarshal(stored.Body, &body); err != nil {
		c.Log.Error("the stored signals report does not decode", "error", err.Error())
		return httpapi.ErrorResponse(httpapi.StoreUnavailable())
	}
	return httpapi.JSON(http.StatusOK, SignalsResponse{Status: ReportReady, LeadsReport: &body, Build: running(job)})
}

// buildSignalsReport answers POST /v1/reports/signals: it starts a
// background build (or returns the one running) and answers 202; GET shows
// its progress and, once finished, its report.
func (h *Handler) buildSignalsReport(ctx context.Context, c *httpapi.Call) httpapi.Response {
	job, err := signals.StartBuild(ctx, h.reports, h.queue, h.now(), ReportBuildStale)
	if err != nil {
		c.Log.Error("starting the signals report build failed", "error", err.Error())
		return httpapi.ErrorResponse(httpapi.StoreUnavailable())
	}
	return httpapi.JSON(http.StatusAccepted, SignalsResponse{Status: ReportBuilding, Build: job})
}

// running is job while it runs, else nil.
func running(job *leadscore.ReportJob) *leadscore.ReportJob {
	if job == nil || job.FinishedAt != nil {
		return nil
	}
	return job
}
