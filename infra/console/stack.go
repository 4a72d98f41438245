package main

import (
	"context"

	"github.com/leadscore/leadscore/infra/localstack/stackproc"
)

// startStack starts `make run` (./infra/localstack) on free ports with
// apiKey, logging to logPath: the real functions behind the template's
// routes, DynamoDB Local, the SQS emulator and the event sources.
func startStack(ctx context.Context, apiKey, logPath string) (*stackproc.Stack, error) {
	return stackproc.Start(ctx, stackproc.Options{Name: "console", LogPath: logPath,
		Env: []string{"API_KEY=" + apiKey, "LOG_LEVEL=warn"}})
}
