package score

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/signals"
)

// reportMessage is a signals_report message: run the background build of
// the signals report started at startedAt (docs/scoring.md section 6).
type reportMessage struct {
	idx       int
	startedAt time.Time
}

// parseReportMessage reports whether body is a signals_report message, and
// checks it; like page messages, it is told apart before ParseMessage.
func parseReportMessage(body []byte) (startedAt time.Time, isReport bool, err error) {
	if !bytes.Contains(body, []byte(leadscore.KindSignalsReport)) {
		return time.Time{}, false, nil
	}
	var m leadscore.ScoreMessage
	if err := json.Unmarshal(body, &m); err != nil || m.Kind != leadscore.KindSignalsReport {
		return time.Time{}, false, nil
	}
	if m.Now.IsZero() {
		return time.Time{}, true, fmt.Errorf("signals_report message has no now (the build's start)")
	}
	return m.Now, true, nil
}

// buildReports runs the batch's report builds and returns the indexes of
// the messages to retry. Without a report store (Options.Reports) the
// messages are failed, so the dead-letter queue shows the misconfiguration.
func (h *Handler) buildReports(ctx context.Context, log *slog.Logger, msgs []reportMessage, now time.Time) []int {
	var failed []int
	for _, m := range msgs {
		if err := h.buildReport(ctx, m.startedAt, now); err != nil {
			log.Error("building the signals report failed; the message is retried", "started_at", m.startedAt, "error", err.Error())
			failed = append(failed, m.idx)
			continue
		}
		log.Info("signals report built", "started_at", m.startedAt)
	}
	return failed
}

func (h *Handler) buildReport(ctx context.Context, startedAt, now time.Time) error {
	if h.reports == nil {
		return fmt.Errorf("no report store (Options.Reports)")
	}
	rules, err := h.rules.Current(ctx)
	if err != nil {
		return fmt.Errorf("read current rules: %w", err)
	}
	return signals.RunBuild(ctx, h.reports, rules, now, startedAt, signals.Options{})
}
