// Package logging gives every function the structured JSON logs Lambda
// Powertools users expect: level, msg, timestamp, function_name, request_id,
// cold_start, and lead_id or correlation_id where the caller adds them.
package logging

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// personalKeys are attribute names that carry personal data. They are
// dropped whatever a caller passes, as a second line of defence behind the
// rule of logging lead_id only (docs/architecture.md invariant 8).
var personalKeys = map[string]bool{
	"email": true, "phone": true, "first_name": true, "last_name": true, "name": true,
}

// New returns a JSON logger writing to w. level is LOG_LEVEL (debug, info,
// warn, error; empty means info).
func New(w io.Writer, functionName, level string) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: parseLevel(level),
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				a.Key = "timestamp"
			}
			if personalKeys[strings.ToLower(a.Key)] {
				return slog.Attr{}
			}
			return a
		},
	})
	return slog.New(h).With("function_name", functionName)
}

func parseLevel(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.TrimSpace(s))); err != nil {
		return slog.LevelInfo
	}
	return l
}

// invocations counts ForInvocation calls in this process: only the first
// one runs on a cold start.
var invocations atomic.Int64

// ForInvocation returns base with the invocation's request_id (from the
// Lambda context, when there is one) and cold_start. Call it once at the top
// of each handler invocation.
func ForInvocation(ctx context.Context, base *slog.Logger) *slog.Logger {
	cold := invocations.Add(1) == 1
	requestID := ""
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		requestID = lc.AwsRequestID
	}
	return base.With("request_id", requestID, "cold_start", cold)
}

// exit is os.Exit; tests replace it.
var exit = os.Exit

// InitFailed logs why a function cannot start, as one JSON line naming the
// cause, and exits 1, so Lambda reports an init error at cold start rather
// than failing every invocation. functions/*/main.go call it for bad
// configuration and missing dependencies.
func InitFailed(log *slog.Logger, msg string, err error) {
	log.Error(msg, "error", err.Error())
	exit(1)
}
