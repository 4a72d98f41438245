// Command report prints the closed-loop signals report (docs/scoring.md
// section 6) as a table, reading the table the functions use: TABLE_NAME,
// and AWS_ENDPOINT_URL_DYNAMODB for the local stack, exactly as the
// functions read them. By default it reads what GET /v1/reports/signals
// reads: the leads with a sales outcome, through the outcome index. -scan
// reads every lead instead (open ones included in the counts and the
// funnel): a pass over the whole table, with the Scan permission the API
// no longer has.
//
//	TABLE_NAME=leadscore AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000 go run ./infra/report [-scan]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/leadscore/leadscore/shared/config"
	"github.com/leadscore/leadscore/shared/dynamodb"
	"github.com/leadscore/leadscore/shared/signals"
)

func main() {
	maxLeads := flag.Int("max-leads", 1_000_000, "stop reading after this many leads (the report then says it covers a sample)")
	asJSON := flag.Bool("json", false, "print the report as JSON (the API's body) instead of a table")
	at := flag.String("now", "", "score leads at this RFC 3339 time instead of now")
	scan := flag.Bool("scan", false, "read every lead (a Scan of the table), not only those with a sales outcome")
	flag.Parse()
	if err := run(*maxLeads, *asJSON, *at, *scan); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(maxLeads int, asJSON bool, at string, scan bool) error {
	cfg, err := config.Load(os.Getenv, config.EnvTableName)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	if at != "" {
		if now, err = time.Parse(time.RFC3339, at); err != nil {
			return fmt.Errorf("-now %q is not an RFC 3339 time: %w", at, err)
		}
	}
	ctx := context.Background()
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load the AWS configuration: %w", err)
	}
	store := dynamodb.New(awsddb.NewFromConfig(awsCfg), cfg.TableName)
	rules, err := store.CurrentRules(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	var body signals.LeadsReport
	if scan {
		body, err = signals.ReadReport(ctx, store, rules, now, signals.ReadOptions{MaxLeads: maxLeads})
	} else {
		body, err = signals.ReadOutcomesReport(ctx, store, rules, now, signals.OutcomeOptions{MaxLeads: maxLeads})
	}
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(body)
	}
	fmt.Printf("Signals report: table %s, rules version %d, %d leads read (%s) in %s", cfg.TableName, body.RulesVersion, body.LeadsRead,
		body.Population, time.Since(start).Round(time.Millisecond))
	if body.Truncated && scan {
		fmt.Printf(" (stopped at -max-leads %d: a sample)", maxLeads)
	}
	if body.Truncated && !scan {
		return fmt.Errorf("more than -max-leads %d leads with an outcome; raise it", maxLeads)
	}
	fmt.Print("\n\n")
	return body.WriteTable(os.Stdout)
}
