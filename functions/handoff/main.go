// Command handoff is the handoff function: it delivers transitions from
// the handoff queue as signed webhooks (shared/handoff does the work).
package main

import (
	"context"
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
	log := logging.New(os.Stdout, os.Getenv(config.EnvFunctionName), os.Getenv(config.EnvLogLevel))
	cfg, err := config.Load(os.Getenv, config.EnvHandoffQueueURL)
	if err != nil {
		logging.InitFailed(log, "loading configuration failed", err)
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithLogger(logging.SDK(log)))
	if err != nil {
		logging.InitFailed(log, "loading the AWS configuration failed", err)
	}
	queues := sqs.NewQueues(awssqs.NewFromConfig(awsCfg), cfg.ScoreQueueURL, cfg.HandoffQueueURL)
	h, err := handoff.New(handoff.Options{
		Config:     cfg,
		Visibility: queues,
		Logger:     log,
		Metrics:    metrics.New(os.Stdout, cfg.FunctionName),
	})
	if err != nil {
		logging.InitFailed(log, "handoff configuration is invalid", err)
	}
	lambda.Start(h.Handle)
}
