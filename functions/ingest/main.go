// Command ingest is the internet-facing HTTP function: event and form posts
// in, onto the score queues. It builds its clients once per process and
// hands every request to shared/ingest; its role may send to the score
// queues and read the rules item, nothing else (template.yaml).
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/leadscore/leadscore/shared/config"
	"github.com/leadscore/leadscore/shared/dynamodb"
	"github.com/leadscore/leadscore/shared/ingest"
	"github.com/leadscore/leadscore/shared/logging"
	"github.com/leadscore/leadscore/shared/metrics"
	"github.com/leadscore/leadscore/shared/sqs"
)

func main() {
	cfg, err := config.Load(os.Getenv, config.EnvTableName, config.EnvScoreQueueURL, config.EnvAPIKey)
	log := logging.New(os.Stdout, os.Getenv(config.EnvFunctionName), os.Getenv(config.EnvLogLevel))
	if err != nil {
		logging.InitFailed(log, "loading configuration failed", err)
	}
	sources, err := config.LoadSources(os.Getenv)
	if err != nil {
		logging.InitFailed(log, "loading the sources' configuration failed", err)
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithLogger(logging.SDK(log)))
	if err != nil {
		logging.InitFailed(log, "loading AWS SDK configuration failed", err)
	}
	h, err := ingest.New(ingest.Options{
		Queue: sqs.NewQueues(awssqs.NewFromConfig(awsCfg), cfg.ScoreQueueURL, cfg.HandoffQueueURL).
			WithUrgentQueue(cfg.UrgentScoreQueueURL),
		Rules:                dynamodb.New(awsddb.NewFromConfig(awsCfg), cfg.TableName),
		APIKey:               cfg.APIKey,
		WriteKeys:            sources.WriteKeys,
		Sites:                sources.Sites,
		SegmentWebhookSecret: sources.SegmentWebhookSecret,
		Forms:                cfg.Forms,
		Local:                cfg.Local,
		Logger:               log,
		Metrics:              metrics.New(os.Stdout, cfg.FunctionName),
	})
	if err != nil {
		logging.InitFailed(log, "building the handler failed", err)
	}
	lambda.Start(h.Handle)
}
