package main

import (
	"bytes"
	"fmt"
)

// Floor is the least a load run's traffic could cost in any design that
// scores each event when it lands, computed from the run's own counts: what
// is left when everything this design adds on top (index key changes,
// transitions, accounts, version conflicts, failed conditional writes, Lambda
// durations, extra SQS receives) costs nothing. docs/performance.md
// ("The floor") explains why each part is there.
type Floor struct {
	// EventRecords is one write unit per unique scored event: the record
	// that makes an event_id count once, ever, and keeps the history rules
	// are replayed on.
	EventRecords float64
	// LeadReads is half a read unit (an eventually consistent read of at
	// most 4 KB) per lead per batch; LeadWrites a write unit per lead per
	// batch. Both per accepted event.
	LeadReads, LeadWrites float64
	// NewLeads is two write units per lead: its first entry in the stage
	// listing and in the due index.
	NewLeads float64
	// Dollars is per million accepted events: the floor's request units, an
	// API request, an ingest invocation and a send per request, and a
	// receive, a delete and an invocation per score batch.
	Dollars float64
}

// RU is the floor's request units per accepted event.
func (f Floor) RU() float64 { return f.EventRecords + f.LeadReads + f.LeadWrites + f.NewLeads }

// floorOf computes run's floor, or reports false when the run has no meter
// or score-function figures.
func floorOf(run LoadRun, p Prices) (Floor, bool) {
	if run.Cost == nil || run.Accepted == 0 || run.ScoreEMF["Batches"] == 0 {
		return Floor{}, false
	}
	acc := float64(run.Accepted)
	conflicts := run.ScoreEMF["LeadWriteConflicts"]
	var reads, writes float64
	for _, o := range run.Cost.Ops {
		if o.Service != "dynamodb" || o.Caller != "ScoreFunction" {
			continue
		}
		// A conflict costs a second read and write of the lead; the floor
		// has none.
		switch o.Op {
		case "GetItem lead":
			reads = max(float64(o.Requests)-conflicts, 0)
		case "PutItem lead":
			writes = max(float64(o.Requests)-conflicts, 0)
		}
	}
	f := Floor{
		EventRecords: run.ScoreEMF["EventsScored"] / acc,
		LeadReads:    0.5 * reads / acc,
		LeadWrites:   writes / acc,
		NewLeads:     2 * float64(run.Leads) / acc,
	}
	writeUnits := f.EventRecords + f.LeadWrites + f.NewLeads
	requests, batches := float64(run.Requests)/acc, run.ScoreEMF["Batches"]/acc
	perEvent := writeUnits*p.WriteUnit + f.LeadReads*p.ReadUnit +
		requests*(p.APIRequest+p.LambdaRequest+p.SQSRequest) +
		batches*(2*p.SQSRequest+p.LambdaRequest)
	f.Dollars = perEvent * 1e6
	return f, true
}

// floorRows writes run's floor next to what it measured.
func floorRows(b *bytes.Buffer, run LoadRun) {
	f, ok := floorOf(run, USEast1)
	if !ok {
		return
	}
	fmt.Fprintf(b, "| floor of scoring each event on arrival, from this run's counts (%s) | %.2f RU (event records %.2f, lead reads %.2f and writes %.2f per lead per batch, new leads' index entries %.2f); $%.2f | reported |\n",
		run.Label, f.RU(), f.EventRecords, f.LeadReads, f.LeadWrites, f.NewLeads, f.Dollars)
}
