// Package api is the private half of the HTTP API (API Gateway HTTP API,
// payload format 2.0), every route behind the API key: lead reads, the
// rules, erasure, the bulk rescore's progress and the signals report
// (docs/api.md "HTTP API"). Ingestion is shared/ingest's, in another
// function with a smaller role (docs/architecture.md, the least-privilege
// invariant).
//
// It depends only on the leadscore interfaces; functions/api wires the
// DynamoDB and SQS implementations.
package api

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/leadscore/leadscore/shared/httpapi"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/metrics"
	"github.com/leadscore/leadscore/shared/signals"
)

// MaxRulesBodyBytes caps the body of PUT /v1/rules (docs/api.md caps every
// body at 256 KiB).
const MaxRulesBodyBytes = 256 * 1024

// Options are a Handler's dependencies. All but History, Previews, Events, Report,
// Logger, Metrics and Now are required: New refuses to build a handler
// without them.
type Options struct {
	Leads  leadscore.LeadReader
	Eraser leadscore.LeadEraser
	Rules  leadscore.RulesStore
	// Rescores and Queue start the bulk rescore of a version PUT /v1/rules
	// publishes (the job item, then its first page message on the score
	// queue) and answer its progress.
	Rescores leadscore.RescoreStore
	Queue    leadscore.ScoreQueue
	// Reports reads the leads with an outcome for the signals report and
	// keeps its background builds (whose message goes to Queue).
	Reports leadscore.ReportStore
	// History lists the published rules versions; Previews keeps rules
	// previews (their page message goes on Queue); Events reads a lead's
	// recorded events. Each is optional: nil answers its routes 503 (the
	// in-memory test doubles have no previews).
	History  leadscore.RulesHistory
	Previews leadscore.PreviewStore
	Events   leadscore.EventReader
	// Accounts reads accounts (docs/api.md "Accounts, preview, console");
	// Members removes an erased lead from its account at once.
	Accounts leadscore.AccountReader
	Members  leadscore.MemberWriter
	// APIKey guards every route.
	APIKey string
	// WriteKeys are the ingestion-only keys: known here only to answer them
	// 403 (the key is right, the route is not for it) rather than 401.
	WriteKeys []string
	// Report bounds the leads with an outcome read inside a request (zero:
	// signals.DefaultInlineOutcomes) and tunes the model.
	Report  signals.OutcomeOptions
	Logger  *slog.Logger
	Metrics *metrics.Recorder
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// RescoreSettle holds a publish's rescore back until every score
	// container's cached rules have expired (leadscore.RescoreSettle when
	// zero; negative: not at all, for tests that drain the queue at once).
	RescoreSettle time.Duration
}

// Handler answers the API routes. Build it once per process.
type Handler struct {
	leads  leadscore.LeadReader
	eraser leadscore.LeadEraser
	rules  leadscore.RulesStore
	// views gives the rules version each lead's view is computed with.
	views    *leadscore.RulesCache
	rescores leadscore.RescoreStore
	queue    leadscore.ScoreQueue
	reports  leadscore.ReportStore
	history  leadscore.RulesHistory // nil: GET /v1/rules/versions answers 503
	previews leadscore.PreviewStore // nil: the preview routes answer 503
	events   leadscore.EventReader  // nil: GET /v1/leads/{lead_id}/events answers 503
	accounts leadscore.AccountReader
	members  leadscore.MemberWriter
	report   signals.OutcomeOptions
	now      func() time.Time
	router   *httpapi.Router
	// rescoreSettle is Options.RescoreSettle resolved.
	rescoreSettle time.Duration
}

// New returns a Handler, or an error naming every missing dependency, so a
// deployment without a table or queue fails its cold start rather than the
// first request that needs them.
func New(o Options) (*Handler, error) {
	var missing []error
	need := func(ok bool, what string) {
		if !ok {
			missing = append(missing, errors.New("api: no "+what))
		}
	}
	need(o.Leads != nil, "lead reader (Options.Leads; TABLE_NAME)")
	need(o.Eraser != nil, "lead eraser (Options.Eraser; TABLE_NAME)")
	need(o.Rules != nil, "rules store (Options.Rules; TABLE_NAME)")
	need(o.Rescores != nil, "rescore store (Options.Rescores; TABLE_NAME)")
	need(o.Queue != nil, "score queue for the rescore (Options.Queue; SCORE_QUEUE_URL)")
	need(o.Reports != nil, "report store for the signals report (Options.Reports; TABLE_NAME)")
	need(o.Accounts != nil, "account reader (Options.Accounts; TABLE_NAME)")
	need(o.Members != nil, "account member writer (Options.Members; TABLE_NAME)")
	need(o.APIKey != "", "API key (Options.APIKey; API_KEY)")
	if err := errors.Join(missing...); err != nil {
		return nil, err
	}
	h := &Handler{leads: o.Leads, eraser: o.Eraser, rules: o.Rules, rescores: o.Rescores, queue: o.Queue,
		reports: o.Reports, accounts: o.Accounts, report: o.Report, now: o.Now}
	if h.now == nil {
		h.now = time.Now
	}
	switch {
	case o.RescoreSettle == 0:
		h.rescoreSettle = leadscore.RescoreSettle
	case o.RescoreSettle > 0:
		h.rescoreSettle = o.RescoreSettle
	}
	h.views = leadscore.NewRulesCache(o.Rules)
	h.history, h.previews, h.events, h.members = o.History, o.Previews, o.Events, o.Members
	m := o.Metrics
	if m == nil {
		m = metrics.New(io.Discard, "api")
	}
	r, err := httpapi.NewRouter(h.routes(), httpapi.Config{APIKey: o.APIKey, WriteKeys: o.WriteKeys, Logger: o.Logger, Metrics: m})
	if err != nil {
		return nil, err
	}
	h.router = r
	return h, nil
}

// Route keys of the routes other packages' tests and tools name.
const (
	RescoreProgressRouteKey = "GET /v1/rules/{version}/rescore"
	SignalsReportRouteKey   = "GET /v1/reports/signals"
	// BuildSignalsReportRouteKey starts a background build of the report.
	BuildSignalsReportRouteKey = "POST /v1/reports/signals"
)

// routes are the API's routes of docs/api.md, all behind the API key but
// the console's page and files (which hold no data). To add one: a line here, its HttpApi event under ApiFunction in
// template.yaml, and a sample request events/api-*.json.
func (h *Handler) routes() []httpapi.Route {
	return []httpapi.Route{
		{Method: "GET", Path: "/v1/leads/{lead_id}", Handle: h.getLead},
		{Method: "GET", Path: "/v1/leads", Handle: h.listLeads},
		{Method: "DELETE", Path: "/v1/leads/{lead_id}", Handle: h.deleteLead},
		{Method: "GET", Path: "/v1/rules", Handle: h.getRules},
		{Method: "PUT", Path: "/v1/rules", Handle: h.putRules},
		{Method: "GET", Path: "/v1/rules/{version}/rescore", Handle: h.rescoreProgress},
		{Method: "GET", Path: "/v1/reports/signals", Handle: h.signalsReport},
		{Method: "POST", Path: "/v1/reports/signals", Handle: h.buildSignalsReport},
		{Method: "GET", Path: "/v1/leads/{lead_id}/events", Handle: h.listEvents},
		{Method: "GET", Path: "/v1/rules/versions", Handle: h.listVersions},
		{Method: "POST", Path: "/v1/rules/preview", Handle: h.startPreview},
		{Method: "GET", Path: "/v1/rules/preview/{preview_id}", Handle: h.getPreview},
		{Method: "GET", Path: "/console", Public: true, Handle: h.getConsole},
		{Method: "GET", Path: "/console/{asset+}", Public: true, Handle: h.getConsole},
		{Method: "GET", Path: "/v1/accounts/{account_id}", Handle: h.getAccount},
		{Method: "GET", Path: "/v1/accounts", Handle: h.listAccounts},
	}
}

// Handle answers one request (lambda.Start(h.Handle)). It never returns an
// error: every failure is an HTTP answer, and a 5xx never carries internals.
func (h *Handler) Handle(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	return h.router.Handle(ctx, req)
}
