package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/leadscore/leadscore/shared/httpapi"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// RulesBody is the answer to GET /v1/rules: the version and the document.
type RulesBody struct {
	Version int `json:"version"`
	// Rules is the document as stored (JSON).
	Rules json.RawMessage `json:"rules"`
}

// PublishedBody is the answer to PUT /v1/rules.
type PublishedBody struct {
	Version int `json:"version"`
	// Rescore says whether the bulk rescore of the new version started
	// (docs/scoring.md section 5) and where its progress is.
	Rescore *RescoreStarted `json:"rescore,omitempty"`
}

func (h *Handler) getRules(ctx context.Context, c *httpapi.Call) httpapi.Response {
	var r *scoring.Rules
	var err error
	if s, ok := httpapi.Query(c.Req)["version"]; ok {
		v, convErr := strconv.Atoi(s[0])
		if convErr != nil || v < 1 {
			return httpapi.ErrorResponse(httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest, "malformed version",
				httpapi.Detail{Field: "version", Message: "must be a whole number from 1"}))
		}
		r, err = h.rules.Rules(ctx, v)
	} else {
		r, err = h.rules.CurrentRules(ctx)
	}
	switch {
	case errors.Is(err, leadscore.ErrNotFound):
		return httpapi.ErrorResponse(httpapi.Errorf(http.StatusNotFound, httpapi.CodeNotFound, "no such rules version"))
	case err != nil:
		c.Log.Error("reading rules failed", "error", err.Error())
		return httpapi.ErrorResponse(httpapi.StoreUnavailable())
	}
	doc := r.Document()
	if !json.Valid(doc) {
		// A document kept as YAML is passed on as a JSON string.
		doc, _ = json.Marshal(string(doc))
	}
	return httpapi.JSON(http.StatusOK, RulesBody{Version: r.Version, Rules: doc})
}

// rulesMediaTypes are the bodies PUT /v1/rules takes (ParseRules reads JSON
// and YAML alike).
var rulesMediaTypes = map[string]bool{"application/json": true, "application/yaml": true, "application/x-yaml": true,
	"text/yaml": true, "text/x-yaml": true}

func (h *Handler) putRules(ctx context.Context, c *httpapi.Call) httpapi.Response {
	r, e := parseRulesBody(c.Req, "nothing was published")
	if e != nil {
		return httpapi.ErrorResponse(e)
	}
	v, err := h.rules.PublishRules(ctx, r)
	if err != nil {
		c.Log.Error("publishing rules failed", "error", err.Error())
		return httpapi.ErrorResponse(httpapi.StoreUnavailable())
	}
	c.Log.Info("rules published", "rules_version", v)
	return httpapi.JSON(http.StatusOK, PublishedBody{Version: v, Rescore: h.startRescore(ctx, v, c)})
}
