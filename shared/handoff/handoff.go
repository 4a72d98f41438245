// Package handoff is the handoff function's handler: it delivers each
// transition on the handoff queue as a signed webhook POST (docs/api.md
// "Handoff webhooks"), backing off a failing receiver by stretching the
// message's visibility, until the redrive policy parks it in the DLQ.
package handoff

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/leadscore/leadscore/shared/config"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/logging"
	"github.com/leadscore/leadscore/shared/metrics"
	"github.com/leadscore/leadscore/shared/webhook"
)

// Visibility stretches a received message's visibility timeout;
// shared/sqs.Queues implements it.
type Visibility interface {
	ExtendVisibility(ctx context.Context, queueURL, receiptHandle string, d time.Duration) error
}

const (
	// Timeout bounds one webhook call: a slow receiver must not hold the
	// batch (the function's timeout is 30 s, a batch is up to 10).
	Timeout = 5 * time.Second
	// maxResponseBytes is how much of a receiver's answer is read.
	maxResponseBytes = 4 << 10
	// Retry delays: 30 s, 1, 2, 4, 8 min, then 15 min.
	firstRetry = 30 * time.Second
	maxRetry   = 15 * time.Minute
)

// Handler delivers handoff messages.
type Handler struct {
	client     *http.Client
	urls       map[string]string // handoff type -> webhook URL
	secret     []byte
	queueURL   string
	visibility Visibility
	log        *slog.Logger
	metrics    *metrics.Recorder
	now        func() time.Time
	retryBase  time.Duration
}

// Options are a Handler's dependencies and settings.
type Options struct {
	Config     config.Config
	Visibility Visibility
	Logger     *slog.Logger
	Metrics    *metrics.Recorder
	// Client overrides the HTTP client (tests); its redirect policy and
	// timeout are replaced by the handler's own.
	Client *http.Client
	Now    func() time.Time
	// RetryBase is the first retry delay (30 s when zero); tests shorten it.
	RetryBase time.Duration
}

// RouteFor maps a handoff type to the configuration's webhook URL: mql and
// sql to sales, nurture to the email platform. Other kinds have no receiver
// by default and are skipped.
func RouteFor(cfg config.Config) map[string]string {
	urls := map[string]string{}
	if cfg.WebhookURLSales != "" {
		urls["lead.mql"] = cfg.WebhookURLSales
		urls["lead.sql"] = cfg.WebhookURLSales
		// Accounts (docs/scoring.md section 7): sales gets the ready
		// account and the opportunity; customer and the return to account
		// have no receiver by default.
		urls["account.mqa"] = cfg.WebhookURLSales
		urls["account.opportunity"] = cfg.WebhookURLSales
	}
	if cfg.WebhookURLNurture != "" {
		urls["lead.nurture"] = cfg.WebhookURLNurture
	}
	return urls
}

// New checks the webhook URLs (https, unless the local stack) and the
// dependencies (Logger and Metrics are required; Visibility is optional)
// and returns a Handler. Call it once per process: a bad configuration
// fails the cold start.
func New(o Options) (*Handler, error) {
	if o.Logger == nil {
		return nil, errors.New("handoff: Options.Logger is nil")
	}
	if o.Metrics == nil {
		return nil, errors.New("handoff: Options.Metrics is nil")
	}
	urls := RouteFor(o.Config)
	for kind, u := range urls {
		p, err := url.Parse(u)
		if err != nil || p.Host == "" {
			return nil, fmt.Errorf("webhook URL for %s %q is not an absolute URL", kind, u)
		}
		if p.Scheme != "https" && !(o.Config.Local && p.Scheme == "http") {
			return nil, fmt.Errorf("webhook URL for %s must be https (http only with %s=1), got %q", kind, config.EnvLocal, p.Scheme)
		}
	}
	if len(urls) > 0 && o.Config.WebhookSecret == "" {
		return nil, fmt.Errorf("%s is not set: webhooks must be signed", config.EnvWebhookSecret)
	}
	c := &http.Client{}
	if o.Client != nil {
		cp := *o.Client
		c = &cp
	}
	c.Timeout = Timeout
	// A redirect could send the signed lead to a host nobody configured.
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &Handler{client: c, urls: urls, secret: []byte(o.Config.WebhookSecret), queueURL: o.Config.HandoffQueueURL,
		visibility: o.Visibility, log: o.Logger, metrics: o.Metrics, now: now, retryBase: o.RetryBase}, nil
}

// RetryDelay is the visibility given to a message after its n-th failed
// delivery: 30 s doubling, capped at 15 minutes.
func RetryDelay(receiveCount int) time.Duration { return retryDelay(firstRetry, receiveCount) }

func retryDelay(base time.Duration, receiveCount int) time.Duration {
	if receiveCount < 1 {
		receiveCount = 1
	}
	if base <= 0 {
		base = firstRetry
	}
	d := base
	for i := 1; i < receiveCount && d < maxRetry; i++ {
		d *= 2
	}
	return min(d, maxRetry)
}

// Handle delivers a batch; failed deliveries are reported in
// batchItemFailures (the event source has ReportBatchItemFailures) after
// their visibility was stretched.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	log := logging.ForInvocation(ctx, h.log)
	var mu sync.Mutex
	var resp events.SQSEventResponse
	var wg sync.WaitGroup
	for _, r := range ev.Records {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := h.deliver(ctx, log, r); err != nil {
				mu.Lock()
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	h.metrics.Count("HandoffFailures", float64(len(resp.BatchItemFailures)))
	h.metrics.Flush()
	return resp, nil
}

// errPermanent marks a message that no retry can deliver.
var errPermanent = errors.New("undeliverable message")

func (h *Handler) deliver(ctx context.Context, log *slog.Logger, r events.SQSMessage) error {
	var ho leadscore.Handoff
	if err := json.Unmarshal([]byte(r.Body), &ho); err != nil || ho.TransitionID == "" || ho.Type == "" || ho.Subject() == "" {
		log.Error("unparseable handoff message", "message_id", r.MessageId, "error", fmt.Sprint(err))
		h.metrics.Count("HandoffUnparseable", 1)
		return errPermanent
	}
	if ho.Account != nil {
		log = log.With("account_id", ho.Account.AccountID, "transition_id", ho.TransitionID, "type", ho.Type)
	} else {
		log = log.With("lead_id", ho.Lead.LeadID, "transition_id", ho.TransitionID, "type", ho.Type)
	}
	target, ok := h.urls[ho.Type]
	if !ok {
		log.Info("no webhook configured for this transition kind: skipped")
		h.metrics.Count("HandoffSkipped", 1)
		return nil
	}
	start := time.Now()
	status, err := h.post(ctx, target, ho)
	h.metrics.Milliseconds("WebhookLatency", time.Since(start))
	if err == nil {
		log.Info("webhook delivered", "status", status)
		h.metrics.Count("HandoffDelivered", 1)
		return nil
	}
	n, _ := strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
	delay := retryDelay(h.retryBase, n)
	log.Warn("webhook delivery failed; backing off", "status", status, "receive_count", n, "retry_in", delay.String(), "error", err.Error())
	if h.visibility != nil && r.ReceiptHandle != "" {
		if verr := h.visibility.ExtendVisibility(ctx, h.queueURL, r.ReceiptHandle, delay); verr != nil {
			// The queue's own visibility timeout still spaces the retry.
			log.Error("extending the message's visibility failed", "error", verr.Error())
		}
	}
	return err
}

// post sends one signed webhook and returns the status (0 when none).
func (h *Handler) post(ctx context.Context, target string, ho leadscore.Handoff) (int, error) {
	body, err := json.Marshal(ho)
	if err != nil {
		return 0, fmt.Errorf("encode transition %s: %w", ho.TransitionID, err)
	}
	ts := h.now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("build request for transition %s: %w", ho.TransitionID, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "leadscore-handoff/1")
	req.Header.Set(webhook.HeaderIdempotencyKey, ho.TransitionID)
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(webhook.HeaderSignature, webhook.Sign(h.secret, ts, body))
	res, err := h.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post transition %s: %w", ho.TransitionID, err)
	}
	defer res.Body.Close()
	// Read a little so the connection can be reused; never the whole of
	// whatever a receiver sends back.
	io.Copy(io.Discard, io.LimitReader(res.Body, maxResponseBytes))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res.StatusCode, fmt.Errorf("post transition %s: receiver answered %d", ho.TransitionID, res.StatusCode)
	}
	return res.StatusCode, nil
}
