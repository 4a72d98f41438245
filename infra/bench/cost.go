package main

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Prices are on-demand list prices of one region, per unit, without free
// tiers, volume tiers past the first, data transfer or CloudWatch Logs.
type Prices struct {
	Region string
	// Date is when the prices were read, Source where.
	Date, Source string
	// APIRequest is an HTTP API request (each 512 KB of it).
	APIRequest float64
	// LambdaRequest is an invocation; LambdaGBSecond a GB-second of arm64
	// duration (the first 7.5 billion GB-seconds a month).
	LambdaRequest, LambdaGBSecond float64
	// SQSRequest is a standard-queue request (each 64 KB chunk of it).
	SQSRequest float64
	// WriteUnit and ReadUnit are DynamoDB on-demand request units of the
	// Standard table class.
	WriteUnit, ReadUnit float64
}

// USEast1 are the us-east-1 prices the cost table uses.
var USEast1 = Prices{
	Region: "us-east-1 (N. Virginia)",
	Date:   "2026-11-30",
	Source: "aws.amazon.com/lambda/pricing, /api-gateway/pricing, /sqs/pricing, /dynamodb/pricing/on-demand, as quoted by pricing guides of 2026",
	// $1.00 per million HTTP API requests (first 300 million a month).
	APIRequest: 1.00 / 1e6,
	// $0.20 per million requests; $0.0000133334 per GB-second on arm64.
	LambdaRequest:  0.20 / 1e6,
	LambdaGBSecond: 0.0000133334,
	// $0.40 per million standard-queue requests (first 100 billion a month).
	SQSRequest: 0.40 / 1e6,
	// $0.625 per million write request units, $0.125 per million read.
	WriteUnit: 0.625 / 1e6,
	ReadUnit:  0.125 / 1e6,
}

// CostLine is one priced quantity of a load run.
type CostLine struct {
	Item string
	// PerEvent is the quantity per accepted event, in Unit.
	PerEvent float64
	Unit     string
	// Price is per Unit; PerMillion what a million accepted events cost.
	Price      float64
	PerMillion float64
}

// readOps are the DynamoDB operations billed in read request units; every
// other operation with consumed capacity is billed in write units.
var readOps = []string{"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}

func isRead(op string) bool {
	name, _, _ := strings.Cut(op, " ")
	return slices.Contains(readOps, name)
}

// costLines prices what run measured: the API requests it made (429s
// included), every function's invocations and GB-seconds at its configured
// memory, the SQS requests of the functions and event sources in 64 KB
// chunks, and DynamoDB's read and write units (a failed conditional write
// billed as one write unit, as AWS does and DynamoDB Local does not report).
func costLines(run LoadRun, p Prices) []CostLine {
	if run.Cost == nil || run.Accepted == 0 {
		return nil
	}
	acc := float64(run.Accepted)
	line := func(item, unit string, quantity, price float64) CostLine {
		return CostLine{Item: item, PerEvent: quantity / acc, Unit: unit, Price: price, PerMillion: quantity / acc * price * 1e6}
	}
	lines := []CostLine{line("API Gateway HTTP API requests", "request", float64(run.Requests), p.APIRequest)}
	var sqs, reads, writes float64
	for _, o := range run.Cost.Ops {
		switch o.Service {
		case "lambda":
			fn := strings.TrimSuffix(o.Caller, "Function")
			mem := float64(cmp.Or(o.MemoryMB, 128))
			lines = append(lines,
				line("Lambda "+fn+" invocations", "invocation", float64(o.Requests), p.LambdaRequest),
				line(fmt.Sprintf("Lambda %s duration (%d MB, mean %.0f ms)", fn, int(mem), o.BilledMs/float64(max(o.Requests, 1))), "GB-s", o.BilledMs/1000*mem/1024, p.LambdaGBSecond))
		case "sqs":
			sqs += float64(cmp.Or(o.BilledRequests, o.Requests))
		case "dynamodb":
			if isRead(o.Op) {
				reads += o.CapacityUnits
			} else {
				writes += o.CapacityUnits + float64(o.ConditionalFailed)
			}
		}
	}
	lines = append(lines,
		line("SQS requests (64 KB chunks)", "request", sqs, p.SQSRequest),
		line("DynamoDB write request units", "WRU", writes, p.WriteUnit),
		line("DynamoDB read request units", "RRU", reads, p.ReadUnit))
	slices.SortStableFunc(lines, func(a, b CostLine) int { return cmp.Compare(b.PerMillion, a.PerMillion) })
	return lines
}

func totalCost(lines []CostLine) float64 {
	t := 0.0
	for _, l := range lines {
		t += l.PerMillion
	}
	return t
}

// costTable renders run's cost per million accepted events, costliest
// first, with the prices' region and date.
func costTable(run LoadRun, p Prices) []byte {
	lines := costLines(run, p)
	if len(lines) == 0 {
		return nil
	}
	var b bytes.Buffer
	total := totalCost(lines)
	fmt.Fprintf(&b, "| item | per accepted event | price | $ per million accepted events | share |\n|---|---:|---:|---:|---:|\n")
	for _, l := range lines {
		fmt.Fprintf(&b, "| %s | %.4g %s | $%.4g per million | $%.3f | %.0f%% |\n", l.Item, l.PerEvent, l.Unit, l.Price*1e6, l.PerMillion, 100*l.PerMillion/max(total, 1e-12))
	}
	fmt.Fprintf(&b, "| **total** | | | **$%.2f** | |\n", total)
	fmt.Fprintf(&b, "\nPrices: %s on-demand list prices read %s (%s); no free tier, no data transfer, no CloudWatch Logs. Lambda durations are this machine's (DynamoDB Local answers in milliseconds where DynamoDB answers in single-digit ones), so the Lambda duration lines are an upper bound.\n", p.Region, p.Date, p.Source)
	return b.Bytes()
}
