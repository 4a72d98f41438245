package api

import (
	"context"
	"net/http"

	"github.com/leadscore/leadscore/shared/httpapi"
	"github.com/leadscore/leadscore/shared/signals"
)

// signalsReport answers GET /v1/reports/signals with the closed-loop report
// (docs/scoring.md section 6) built from every identified lead, up to the
// Report bound, and the current rules: a signals.LeadsReport.
func (h *Handler) signalsReport(ctx context.Context, c *httpapi.Call) httpapi.Response {
	r, err := h.rules.CurrentRules(ctx)
	if err != nil {
		c.Log.Error("reading the current rules for the report failed", "error", err.Error())
		return httpapi.ErrorResponse(httpapi.StoreUnavailable())
	}
	body, err := signals.ReadReport(ctx, h.scanner, r, h.now(), h.report)
	if err != nil {
		c.Log.Error("building the signals report failed", "error", err.Error())
		return httpapi.ErrorResponse(httpapi.StoreUnavailable())
	}
	return httpapi.JSON(http.StatusOK, body)
}
