package ingest

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

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

// startRescore begins the bulk rescore of a version just published: the
// job item, then the first page message on the score queue (Options.Rescore
// and Options.Queue).
func (h *Handler) startRescore(ctx context.Context, version int, c *call) *RescoreStarted {
	out := &RescoreStarted{Progress: "/v1/rules/" + strconv.Itoa(version) + "/rescore"}
	if h.rescore == nil || h.queue == nil {
		out.Message = "this deployment cannot rescore: no rescore store or score queue"
		return out
	}
	if err := leadscore.StartRescore(ctx, h.rescore, h.queue, version, h.now()); err != nil {
		c.log.Error("starting the rescore failed", "rules_version", version, "error", err.Error())
		out.Message = "the rules are published but the rescore did not start; publish again to rescore every lead"
		return out
	}
	out.Started = true
	c.log.Info("rescore started", "rules_version", version)
	return out
}

// RescoreProgressRoute answers GET /v1/rules/{version}/rescore with the
// job's progress (leadscore.RescoreJob as JSON), 404 for a version without
// one. Add it with Options.Routes under RescoreProgressRouteKey.
func RescoreProgressRoute(store leadscore.RescoreStore, log *slog.Logger) RouteFunc {
	return func(ctx context.Context, _ events.APIGatewayV2HTTPRequest, params map[string]string) events.APIGatewayV2HTTPResponse {
		v, err := strconv.Atoi(params["version"])
		if err != nil || v < 1 {
			return errorResponse(errorf(http.StatusBadRequest, CodeInvalidRequest, "malformed version",
				Detail{Field: "version", Message: "must be a whole number from 1"}))
		}
		job, err := store.RescoreJob(ctx, v)
		switch {
		case errors.Is(err, leadscore.ErrNotFound):
			return errorResponse(errorf(http.StatusNotFound, CodeNotFound, "no rescore for rules version "+strconv.Itoa(v)))
		case err != nil:
			log.Error("reading rescore progress failed", "rules_version", v, "error", err.Error())
			return errorResponse(storeUnavailable())
		}
		return jsonResponse(http.StatusOK, job)
	}
}

// Route keys of the closed-loop routes (template.yaml declares them).
const (
	RescoreProgressRouteKey = "GET /v1/rules/{version}/rescore"
	SignalsReportRouteKey   = "GET /v1/reports/signals"
)
