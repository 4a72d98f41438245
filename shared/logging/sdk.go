package logging

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	smithylogging "github.com/aws/smithy-go/logging"
)

// spuriousChecksum is what the DynamoDB client logs when an error response
// carries no x-amz-crc32 header, as DynamoDB's error responses (and DynamoDB
// Local's) do not (aws/aws-sdk-go-v2#3545). Every duplicate event and every
// lost version race is such a response, so at WARN it would flood the logs.
const spuriousChecksum = "response did not match expected checksum"

// SDK adapts the AWS SDK's logger to base, so what the SDK says comes out as
// the same JSON lines as everything else (pass it with config.WithLogger).
func SDK(base *slog.Logger) smithylogging.Logger {
	return sdkLogger{base.With("source", "aws-sdk")}
}

type sdkLogger struct{ log *slog.Logger }

func (l sdkLogger) Logf(c smithylogging.Classification, format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	level := slog.LevelDebug
	if c == smithylogging.Warn && !strings.Contains(msg, spuriousChecksum) {
		level = slog.LevelWarn
	}
	l.log.Log(context.Background(), level, msg)
}
