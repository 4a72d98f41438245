// Package ingest is the internet-facing half of the HTTP API (API Gateway
// HTTP API, payload format 2.0): events and form posts in, onto the score
// queues (docs/api.md "HTTP API"). It reads nothing but the current rules,
// so its role cannot read a lead (docs/architecture.md, the least-privilege
// invariant); reads, rules, erasure and reports are shared/api's.
//
// It depends only on the leadscore interfaces; functions/ingest wires the
// SQS and DynamoDB implementations.
package ingest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/leadscore/leadscore/shared/config"
	"github.com/leadscore/leadscore/shared/httpapi"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/metrics"
	"github.com/leadscore/leadscore/shared/scoring"
)

// RulesTTL is how long validation trusts its cached copy of the current
// rules before looking again: a new version is picked up within a minute,
// and no event of a known type ever costs a table read.
const RulesTTL = 30 * time.Second

// rulesReadTimeout bounds the one table read a stale cache may cost an event
// post; past it the cached (or default) rules are used.
const rulesReadTimeout = 500 * time.Millisecond

// Metric names (EMF, namespace leadscore, dimension function_name), besides
// the request metrics every HTTP function records (shared/httpapi).
const (
	MetricEventsAccepted    = "EventsAccepted"
	MetricEventsRejected    = "EventsRejected"
	MetricEventsDuplicate   = "EventsDuplicate"
	MetricEventsNotEnqueued = "EventsNotEnqueued"
	MetricFormSpamDropped   = "FormSpamDropped"
)

// RulesReader is the one read ingestion makes of the table: the newest
// published rules, to know the event types. leadscore.RulesStore has it.
type RulesReader interface {
	CurrentRules(ctx context.Context) (*scoring.Rules, error)
}

// Options are a Handler's dependencies. Queue, Rules and APIKey are
// required: New refuses to build a handler without them.
type Options struct {
	Queue leadscore.ScoreQueue
	Rules RulesReader
	// APIKey guards POST /v1/events. The form routes and the local demo
	// page are public.
	APIKey string
	// WriteKeys are accepted besides APIKey on POST /v1/events and the
	// Segment-compatible routes (docs/api.md "Sources").
	WriteKeys []string
	// Sites are the browser tracker's sites: POST /v1/collect takes their
	// public keys from their origins.
	Sites map[string]config.Site
	// SegmentWebhookSecret verifies POST /v1/sources/segment's X-Signature;
	// empty means only a key authenticates it.
	SegmentWebhookSecret string
	Forms                map[string]config.Form
	// Local serves the demo page at GET / (a pretend site for trying the
	// tracker and a form; never in AWS).
	Local   bool
	Logger  *slog.Logger
	Metrics *metrics.Recorder
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Handler answers the ingestion routes. Build it once per process.
type Handler struct {
	queue leadscore.ScoreQueue
	rules RulesReader
	forms map[string]config.Form
	local bool
	// sites are sorted by name; siteKeys finds one by its key.
	sites         []site
	siteKeys      config.SiteKeys
	segmentSecret string
	metrics       *metrics.Recorder
	now           func() time.Time
	router        *httpapi.Router

	// rulesCache holds the rules event types are validated with.
	rulesCache *leadscore.RulesCache
}

// New returns a Handler, or an error naming the missing dependency (a
// missing queue, rules store or API key fails the cold start, not the first
// request that needs it).
func New(o Options) (*Handler, error) {
	var missing []error
	if o.Queue == nil {
		missing = append(missing, errors.New("ingest: no score queue (Options.Queue; SCORE_QUEUE_URL)"))
	}
	if o.Rules == nil {
		missing = append(missing, errors.New("ingest: no rules store (Options.Rules; TABLE_NAME)"))
	}
	if o.APIKey == "" {
		missing = append(missing, errors.New("ingest: no API key (Options.APIKey; API_KEY)"))
	}
	if err := errors.Join(missing...); err != nil {
		return nil, err
	}
	h := &Handler{queue: o.Queue, rules: o.Rules, forms: o.Forms, local: o.Local,
		metrics: o.Metrics, now: o.Now, segmentSecret: o.SegmentWebhookSecret,
		siteKeys: config.NewSiteKeys(o.Sites)}
	for name, s := range o.Sites {
		h.sites = append(h.sites, site{name: name, Site: s})
	}
	slices.SortFunc(h.sites, func(a, b site) int { return strings.Compare(a.name, b.name) })
	if h.metrics == nil {
		h.metrics = metrics.New(io.Discard, "ingest")
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.rulesCache = &leadscore.RulesCache{Store: o.Rules, TTL: RulesTTL, Now: h.now}
	if h.forms == nil {
		h.forms = map[string]config.Form{}
	}
	r, err := httpapi.NewRouter(h.routes(), httpapi.Config{APIKey: o.APIKey, WriteKeys: o.WriteKeys, Logger: o.Logger, Metrics: h.metrics})
	if err != nil {
		return nil, err
	}
	h.router = r
	return h, nil
}

// routes are the ingestion routes of docs/api.md. To add one: a line here
// (Public only for what a browser on a customer's site calls without the
// key), its HttpApi event under IngestFunction in template.yaml, and a
// sample request in events/.
func (h *Handler) routes() []httpapi.Route {
	rs := []httpapi.Route{
		{Method: "POST", Path: "/v1/events", Ingest: true, Handle: h.postEvents},
		{Method: "POST", Path: "/v1/forms/{form_id}", Public: true, Handle: h.postForm},
		{Method: "OPTIONS", Path: "/v1/forms/{form_id}", Public: true, Handle: h.preflightForm},
		{Method: "GET", Path: "/", Public: true, Handle: h.demoPage},
		// The Segment-compatible API; the webhook checks its signature
		// itself, else a key like the others.
		{Method: "POST", Path: "/v1/batch", Ingest: true, Handle: h.postSegmentBatch},
		{Method: "POST", Path: "/v1/sources/segment", Public: true, Handle: h.postSegmentWebhook},
		// The browser tracker: public, guarded by the site key and origin.
		{Method: "GET", Path: "/v1/t.js", Public: true, Handle: h.getScript},
		{Method: "POST", Path: "/v1/collect", Public: true, Handle: h.postCollect},
		{Method: "OPTIONS", Path: "/v1/collect", Public: true, Handle: h.preflightCollect},
	}
	for _, typ := range segmentMessageRoutes {
		rs = append(rs, httpapi.Route{Method: "POST", Path: "/v1/" + typ, Ingest: true, Handle: h.postSegmentMessage(typ)})
	}
	return rs
}

// Handle answers one request (lambda.Start(h.Handle)). It never returns an
// error: every failure is an HTTP answer, and a 5xx never carries internals.
func (h *Handler) Handle(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	return h.router.Handle(ctx, req)
}

// notFound is the answer of a route that does not exist in this deployment.
func notFound() httpapi.Response {
	return httpapi.ErrorResponse(httpapi.Errorf(http.StatusNotFound, httpapi.CodeNotFound, "no such route"))
}

// currentRules returns the rules to validate event types with. It reads the
// store only when the cached copy is older than RulesTTL and the caller
// needs it (refresh is true when an event named a type the cached rules do
// not know): an event of a known type never costs a table read.
func (h *Handler) currentRules(ctx context.Context, refresh bool, log *slog.Logger) *scoring.Rules {
	if !refresh {
		return h.rulesCache.Cached()
	}
	rctx, cancel := context.WithTimeout(ctx, rulesReadTimeout)
	defer cancel()
	r, err := h.rulesCache.Current(rctx)
	if err != nil {
		// Validation falls back to the rules it has: an outage of the table
		// must not stop events from being accepted. The cache tries again
		// only after RulesTTL, so a stream of unknown types does not turn
		// into a stream of table reads.
		log.Warn("reading current rules failed; validating with the cached rules", "error", err.Error())
		return h.rulesCache.Cached()
	}
	return r
}
