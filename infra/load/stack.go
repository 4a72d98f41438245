package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/leadscore/leadscore/infra/localapi"
	"github.com/leadscore/leadscore/infra/localstack/stackproc"
)

// localStack is `go run ./infra/localstack -meter` as a child process: the
// same binaries, emulators, pollers and schedule as `make run`, with the
// webhooks pointed at the load tool's receiver and every DynamoDB and SQS
// request counted by the stack's request meter. Its output (the functions'
// logs and EMF metrics) goes to a log file and is scanned for EMF.
type localStack struct {
	*stackproc.Stack
	emf *EMF
}

// startStack builds and starts the local stack with webhooks to hookURL and
// waits until it is up; batching are its -batching overrides.
func startStack(ctx context.Context, apiKey, secret, hookURL, logLevel, logPath string, sqsConcurrency int, batching []string) (*localStack, error) {
	s := &localStack{emf: &EMF{}}
	args := []string{"-meter", "-sqs-concurrency", strconv.Itoa(sqsConcurrency)}
	for _, b := range batching {
		args = append(args, "-batching", b)
	}
	st, err := stackproc.Start(ctx, stackproc.Options{Name: "load", Args: args, LogPath: logPath,
		Env: []string{"API_KEY=" + apiKey, "WEBHOOK_SECRET=" + secret, "LOG_LEVEL=" + logLevel,
			"WEBHOOK_URL_SALES=" + hookURL + "/sales", "WEBHOOK_URL_NURTURE=" + hookURL + "/nurture"},
		Line: func(line []byte) { s.emf.AddLine(line) }})
	if err != nil {
		return nil, err
	}
	s.Stack = st
	return s, nil
}

// resetMeter zeroes the request meter and the EMF sums, so the figures
// cover the load only.
func (s *localStack) resetMeter(ctx context.Context) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, s.InvokeURL+localapi.RequestsPath, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("resetting the request meter: %w", err)
	}
	resp.Body.Close()
	s.emf.Reset()
	return nil
}

// meter reads the stack's request counts.
func (s *localStack) meter(ctx context.Context) ([]OpStats, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.InvokeURL+"/local/requests", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading the request meter: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("reading the request meter: %s", resp.Status)
	}
	var doc localapi.Requests
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return nil, fmt.Errorf("reading the request meter: %w", err)
	}
	return doc.Requests, nil
}

// backlog is the number of messages still in the source queues (every
// queue the banner lists whose name ends in Queue, not the DLQs; visible or
// in flight), read straight from the emulator so the meter does
// not count it.
func (s *localStack) backlog(ctx context.Context) (int, error) {
	return s.Backlog(ctx, "Queue")
}
