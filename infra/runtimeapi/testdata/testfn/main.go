// Command testfn is a Lambda function whose behaviour the payload chooses,
// so the runtimeapi tests can drive every path of the Runtime API.
package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type request struct {
	Echo    string `json:"echo"`
	Fail    string `json:"fail"`
	Exit    bool   `json:"exit"`
	SleepMS int    `json:"sleep_ms"`
	Env     string `json:"env"`
	// Barrier is a directory: the handler drops a file in it and waits until
	// N files are there, which only N concurrent environments can achieve.
	Barrier string `json:"barrier"`
	N       int    `json:"n"`
}

type response struct {
	Echo      string `json:"echo,omitempty"`
	Env       string `json:"env,omitempty"`
	PID       int    `json:"pid"`
	RequestID string `json:"request_id"`
	Deadline  bool   `json:"has_deadline"`
}

func main() {
	lambda.Start(func(ctx context.Context, r request) (response, error) {
		lc, _ := lambdacontext.FromContext(ctx)
		_, hasDeadline := ctx.Deadline()
		out := response{Echo: r.Echo, PID: os.Getpid(), Deadline: hasDeadline}
		if lc != nil {
			out.RequestID = lc.AwsRequestID
		}
		switch {
		case r.Fail != "":
			return response{}, errors.New(r.Fail)
		case r.Exit:
			os.Exit(3)
		case r.SleepMS > 0:
			time.Sleep(time.Duration(r.SleepMS) * time.Millisecond)
		case r.Env != "":
			out.Env = os.Getenv(r.Env)
		case r.Barrier != "":
			if err := os.WriteFile(filepath.Join(r.Barrier, strconv.Itoa(os.Getpid())), nil, 0o644); err != nil {
				return response{}, err
			}
			for {
				entries, err := os.ReadDir(r.Barrier)
				if err != nil {
					return response{}, err
				}
				if len(entries) >= r.N {
					break
				}
				select {
				case <-ctx.Done():
					return response{}, ctx.Err()
				case <-time.After(10 * time.Millisecond):
				}
			}
		}
		return out, nil
	})
}
