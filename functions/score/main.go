// Command score is the score function: it consumes the score queue and
// writes leads (shared/score does the work).
package main

import (
	"context"
	"fmt"
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
	cfg, err := config.Load(os.Getenv, config.EnvTableName, config.EnvScoreQueueURL, config.EnvHandoffQueueURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	log := logging.New(os.Stdout, cfg.FunctionName, cfg.LogLevel)
	// AWS_ENDPOINT_URL_DYNAMODB and _SQS, set by the local stack, are read
	// by the SDK itself.
	aws, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithLogger(logging.SDK(log)))
	if err != nil {
		log.Error("loading the AWS configuration failed", "error", err.Error())
		os.Exit(1)
	}
	retention, err := config.EventRetention(os.Getenv)
	if err != nil {
		log.Error("event retention is invalid", "error", err.Error())
		os.Exit(1)
	}
	store := dynamodb.New(awsdynamodb.NewFromConfig(aws), cfg.TableName)
	store.EventRetention = retention
	queues := sqs.NewQueues(awssqs.NewFromConfig(aws), cfg.ScoreQueueURL, cfg.HandoffQueueURL)
	h, err := score.New(score.Options{Store: store, Rules: store, Handoff: queues, Rescore: store, Queue: queues, Eraser: store,
		Usage:  dynamodb.MeterInvocation,
		Logger: log, Metrics: metrics.New(os.Stdout, cfg.FunctionName)})
	if err != nil {
		log.Error("building the score handler failed", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}
