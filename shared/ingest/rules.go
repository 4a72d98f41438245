package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
	"github.com/leadscore/leadscore/shared/strictjson"
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
	// (SCORING.md section 5) and where its progress is.
	Rescore *RescoreStarted `json:"rescore,omitempty"`
}

func (h *Handler) getRules(ctx context.Context, req *events.APIGatewayV2HTTPRequest, _ map[string]string, c *call) events.APIGatewayV2HTTPResponse {
	if h.rules == nil {
		return errorResponse(storeUnavailable())
	}
	var r *scoring.Rules
	var err error
	if s, ok := query(req)["version"]; ok {
		v, convErr := strconv.Atoi(s[0])
		if convErr != nil || v < 1 {
			return errorResponse(errorf(http.StatusBadRequest, CodeInvalidRequest, "malformed version",
				Detail{Field: "version", Message: "must be a whole number from 1"}))
		}
		r, err = h.rules.Rules(ctx, v)
	} else {
		r, err = h.rules.CurrentRules(ctx)
	}
	switch {
	case errors.Is(err, leadscore.ErrNotFound):
		return errorResponse(errorf(http.StatusNotFound, CodeNotFound, "no such rules version"))
	case err != nil:
		c.log.Error("reading rules failed", "error", err.Error())
		return errorResponse(storeUnavailable())
	}
	doc := r.Document()
	if !json.Valid(doc) {
		// A document kept as YAML is passed on as a JSON string.
		doc, _ = json.Marshal(string(doc))
	}
	return jsonResponse(http.StatusOK, RulesBody{Version: r.Version, Rules: doc})
}

// rulesMediaTypes are the bodies PUT /v1/rules takes (ParseRules reads JSON
// and YAML alike).
var rulesMediaTypes = map[string]bool{"application/json": true, "application/yaml": true, "application/x-yaml": true,
	"text/yaml": true, "text/x-yaml": true}

func (h *Handler) putRules(ctx context.Context, req *events.APIGatewayV2HTTPRequest, _ map[string]string, c *call) events.APIGatewayV2HTTPResponse {
	b, e := body(req, MaxRulesBodyBytes)
	if e != nil {
		return errorResponse(e)
	}
	mt, _ := mediaType(req)
	if !rulesMediaTypes[mt] {
		return errorResponse(unsupportedMedia("application/json or application/yaml"))
	}
	// A JSON document is read as strictly as every JSON body; ParseRules
	// (a YAML reader) refuses duplicate keys itself but keeps a NUL.
	var strict *strictjson.Error
	if mt == "application/json" && errors.As(strictjson.Check(b), &strict) {
		return errorResponse(errorf(http.StatusBadRequest, CodeInvalidRules, "the rules document is not valid JSON text; nothing was published",
			Detail{Field: strict.Path, Message: strict.Problem}))
	}
	r, err := scoring.ParseRules(b)
	if err != nil {
		var re *scoring.RulesError
		if errors.As(err, &re) {
			details := make([]Detail, len(re.Problems))
			for i, p := range re.Problems {
				field := p.Path
				if field == "" {
					field = "(document)"
				}
				details[i] = Detail{Field: field, Message: p.Message}
			}
			return errorResponse(errorf(http.StatusBadRequest, CodeInvalidRules, strconv.Itoa(len(details))+" problem(s) in the rules; nothing was published", details...))
		}
		// ParseRules describes the input (a YAML or JSON syntax error), not
		// the server, so its text is safe and useful to return.
		return errorResponse(errorf(http.StatusBadRequest, CodeInvalidRules, "the rules document could not be read",
			Detail{Field: "(body)", Message: err.Error()}))
	}
	if h.rules == nil {
		return errorResponse(storeUnavailable())
	}
	v, err := h.rules.PublishRules(ctx, r)
	if err != nil {
		c.log.Error("publishing rules failed", "error", err.Error())
		return errorResponse(storeUnavailable())
	}
	h.forgetRules()
	c.log.Info("rules published", "rules_version", v)
	return jsonResponse(http.StatusOK, PublishedBody{Version: v, Rescore: h.startRescore(ctx, v, c)})
}
