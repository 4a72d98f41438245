// Command score is the score function: it consumes the score queue and
// writes leads (shared/score does the work).
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/leadscore/leadscore/shared/config"
	"github.com/leadscore/leadscore/shared/dynamodb"
	"github.com/leadscore/leadscore/shared/logging"
	"github.com/leadscore/leadscore/shared/metrics"
	"github.com/leadscore/leadscore/shared/score"
	"github.com/leadscore/leadscore/shared/sqs"
)

func main() {
	log := logging.New(os.Stdout, os.Getenv(config.EnvFunctionName), os.Getenv(config.EnvLogLevel))
	// SCORE_QUEUE_URL carries the bulk rescore's messages.
	cfg, err := config.Load(os.Getenv, config.EnvTableName, config.EnvScoreQueueURL, config.EnvHandoffQueueURL)
	if err != nil {
		logging.InitFailed(log, "loading configuration failed", err)
	}
	retention, err := config.EventRetention(os.Getenv)
	if err != nil {
		logging.InitFailed(log, "event retention is invalid", err)
	}
	// AWS_ENDPOINT_URL_DYNAMODB and _SQS, set by the local stack, are read
	// by the SDK itself.
	awsCfg, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithLogger(logging.SDK(log)))
	if err != nil {
		logging.InitFailed(log, "loading the AWS configuration failed", err)
	}
	store := dynamodb.New(awsdynamodb.NewFromConfig(awsCfg), cfg.TableName)
	store.EventRetention = retention
	queues := sqs.NewQueues(awssqs.NewFromConfig(awsCfg), cfg.ScoreQueueURL, cfg.HandoffQueueURL).
		WithAccountQueue(cfg.AccountQueueURL)
	h, err := score.New(score.Options{
		Store: store, Rules: store, Rescore: store, Eraser: store, Reports: store, Accounts: store,
		Handoff: queues, Queue: queues,
		Usage:   dynamodb.MeterInvocation,
		Logger:  log,
		Metrics: metrics.New(os.Stdout, cfg.FunctionName),
	})
	if err != nil {
		logging.InitFailed(log, "building the score handler failed", err)
	}
	lambda.Start(h.Handle)
}
