// Command api is the private HTTP function: lead reads, the rules, erasure,
// the rescore's progress and the signals report, every route behind the API
// key. It builds its clients once per process and hands every request to
// shared/api; its role reads and writes the table and sends only the
// rescore's page message to the score queue (template.yaml).
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/leadscore/leadscore/shared/api"
	"github.com/leadscore/leadscore/shared/config"
	"github.com/leadscore/leadscore/shared/dynamodb"
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
	store := dynamodb.New(awsddb.NewFromConfig(awsCfg), cfg.TableName)
	h, err := api.New(api.Options{
		Leads:    store,
		Eraser:   store,
		Rules:    store,
		Rescores: store,
		// Only a rescore's or a preview's first page message: no urgent
		// queue, no handoff queue.
		Queue:     sqs.NewQueues(awssqs.NewFromConfig(awsCfg), cfg.ScoreQueueURL, "").WithAccountQueue(cfg.AccountQueueURL),
		Reports:   store,
		History:   store,
		Accounts:  store,
		Members:   store,
		Previews:  store,
		Events:    store,
		APIKey:    cfg.APIKey,
		WriteKeys: sources.WriteKeys,
		Logger:    log,
		Metrics:   metrics.New(os.Stdout, cfg.FunctionName),
	})
	if err != nil {
		logging.InitFailed(log, "building the handler failed", err)
	}
	lambda.Start(h.Handle)
}
