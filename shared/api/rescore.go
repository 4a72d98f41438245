package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/leadscore/leadscore/shared/httpapi"
	"github.com/leadscore/leadscore/shared/leadscore"
)

// RescoreStarted is the rescore part of the answer to PUT /v1/rules.
type RescoreStarted struct {
	Started bool `json:"started"`
	// Progress is the route that reports it.
	Progress string `json:"progress"`
	// Message says why it did not start (the version is published anyway;
	// publishing again starts the rescore of the newer version, which
	// covers every lead).
	Message string `json:"message,omitempty"`
}

// startRescore begins the bulk rescore of a version just published
// (docs/scoring.md section 5): the job item, then the first page message on
// the score queue.
func (h *Handler) startRescore(ctx context.Context, version int, c *httpapi.Call) *RescoreStarted {
	out := &RescoreStarted{Progress: "/v1/rules/" + strconv.Itoa(version) + "/rescore"}
	if err := leadscore.StartRescore(ctx, h.rescores, h.queue, version, h.now(), h.rescoreSettle); err != nil {
		c.Log.Error("starting the rescore failed", "rules_version", version, "error", err.Error())
		out.Message = "the rules are published but the rescore did not start; publish again to rescore every lead"
		return out
	}
	out.Started = true
	c.Log.Info("rescore started", "rules_version", version)
	return out
}

// rescoreProgress answers GET /v1/rules/{version}/rescore with the job's
// progress (leadscore.RescoreJob as JSON), 404 for a version without one.
func (h *Handler) rescoreProgress(ctx context.Context, c *httpapi.Call) httpapi.Response {
	v, err := strconv.Atoi(c.Params["version"])
	if err != nil || v < 1 {
		return httpapi.ErrorResponse(httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest, "malformed version",
			httpapi.Detail{Field: "version", Message: "must be a whole number from 1"}))
	}
	job, err := h.rescores.RescoreJob(ctx, v)
	switch {
	case errors.Is(err, leadscore.ErrNotFound):
		return httpapi.ErrorResponse(httpapi.Errorf(http.StatusNotFound, httpapi.CodeNotFound, "no rescore for rules version "+strconv.Itoa(v)))
	case err != nil:
		c.Log.Error("reading rescore progress failed", "rules_version", v, "error", err.Error())
		return httpapi.ErrorResponse(httpapi.StoreUnavailable())
	}
	return httpapi.JSON(http.StatusOK, job)
}
