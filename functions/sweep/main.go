// Command sweep is the scheduled nurture and expiry sweep: it builds its
// clients once per process and hands every scheduled event to shared/sweep.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/leadscore/leadscore/shared/config"
	"github.com/leadscore/leadscore/shared/dynamodb"
	"github.com/leadscore/leadscore/shared/logging"
	"github.com/leadscore/leadscore/shared/metrics"
	"github.com/leadscore/leadscore/shared/sqs"
	"github.com/leadscore/leadscore/shared/sweep"
)

func main() {
	cfg, err := config.Load(os.Getenv, config.EnvTableName, config.EnvScoreQueueURL)
	log := logging.New(os.Stdout, os.Getenv(config.EnvFunctionName), os.Getenv(config.EnvLogLevel))
	if err != nil {
		logging.InitFailed(log, "loading configuration failed", err)
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithLogger(logging.SDK(log)))
	if err != nil {
		logging.InitFailed(log, "loading AWS SDK configuration failed", err)
	}
	h, err := sweep.New(sweep.Options{
		Due:     dynamodb.New(awsddb.NewFromConfig(awsCfg), cfg.TableName),
		Queue:   sqs.NewQueues(awssqs.NewFromConfig(awsCfg), cfg.ScoreQueueURL, "").WithAccountQueue(cfg.AccountQueueURL),
		Logger:  log,
		Metrics: metrics.New(os.Stdout, cfg.FunctionName),
		// A tenth of the template's 60 s timeout: one more page and its
		// SendMessageBatch calls take far less.
		Margin: 6 * time.Second,
		// Only the local stack accepts a sweep time ahead of the clock.
		Local: cfg.Local,
	})
	if err != nil {
		logging.InitFailed(log, "building the sweep handler failed", err)
	}
	lambda.Start(h.Handle)
}
