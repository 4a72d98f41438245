// Command handoff is the handoff function: it delivers transitions from
// the handoff queue as signed webhooks (shared/handoff does the work).
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/leadscore/leadscore/shared/config"
	"github.com/leadscore/leadscore/shared/handoff"
	"github.com/leadscore/leadscore/shared/logging"
	"github.com/leadscore/leadscore/shared/metrics"
	"github.com/leadscore/leadscore/shared/sqs"
)

func main() {
	cfg, err := config.Load(os.Getenv, config.EnvHandoffQueueURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	log := logging.New(os.Stdout, cfg.FunctionName, cfg.LogLevel)
	aws, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithLogger(logging.SDK(log)))
	if err != nil {
		log.Error("loading the AWS configuration failed", "error", err.Error())
		os.Exit(1)
	}
	queues := sqs.NewQueues(awssqs.NewFromConfig(aws), cfg.ScoreQueueURL, cfg.HandoffQueueURL)
	h, err := handoff.New(handoff.Options{Config: cfg, Visibility: queues, Logger: log, Metrics: metrics.New(os.Stdout, cfg.FunctionName)})
	if err != nil {
		log.Error("handoff configuration is invalid", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}
