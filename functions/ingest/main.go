// Command ingest is the HTTP API function: it builds its clients once per
// process and hands every request to shared/ingest.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

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
		fail(log, "loading configuration failed", err)
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithLogger(logging.SDK(log)))
	if err != nil {
		fail(log, "loading AWS SDK configuration failed", err)
	}
	store := dynamodb.New(awsddb.NewFromConfig(awsCfg), cfg.TableName)
	// SCORING.md sections 5 and 6: rescore progress and the signals report.
	routes := map[string]ingest.RouteFunc{
		ingest.RescoreProgressRouteKey: ingest.RescoreProgressRoute(store, log),
		ingest.SignalsReportRouteKey:   ingest.SignalsReportRoute(store, store, time.Now, ingest.ReportOptions{}, log),
	}
	h := ingest.New(ingest.Options{
		Queue: sqs.NewQueues(awssqs.NewFromConfig(awsCfg), cfg.ScoreQueueURL, cfg.HandoffQueueURL).
			WithUrgentQueue(cfg.UrgentScoreQueueURL),
		Leads:   store,
		Eraser:  store,
		Rules:   store,
		Rescore: store,
		APIKey:  cfg.APIKey,
		Forms:   cfg.Forms,
		Local:   cfg.Local,
		Logger:  log,
		Metrics: metrics.New(os.Stdout, cfg.FunctionName),
		Routes:  routes,
	})
	lambda.Start(h.Handle)
}

// fail logs why the function cannot start and exits, so Lambda reports an
// init error naming it rather than failing every request.
func fail(log *slog.Logger, msg string, err error) {
	log.Error(msg, "error", err.Error())
	os.Exit(1)
}
