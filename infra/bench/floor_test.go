package main

import (
	"math"
	"strings"
	"testing"
)

// flooredRun is meteredRun with the score function's own counts: 950 unique
// events of 150 leads in 100 batches, 20 version conflicts.
func flooredRun() LoadRun {
	run := meteredRun()
	run.Leads = 150
	run.ScoreEMF = map[string]float64{"EventsScored": 950, "LeadWriteConflicts": 20, "Batches": 100}
	return run
}

func TestFloorCountsOneReadAndWritePerLeadBatchAndTheEventRecord(t *testing.T) {
	f, ok := floorOf(flooredRun(), USEast1)
	if !ok {
		t.Fatal("no floor for a run with meter and score figures")
	}
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("event records", f.EventRecords, 0.95)
	// 800 reads and writes of the lead, 20 of each repeated after a conflict.
	near("lead reads", f.LeadReads, 0.5*780/1000)
	near("lead writes", f.LeadWrites, 0.78)
	near("new leads", f.NewLeads, 0.3)
	near("RU", f.RU(), 2.42)
	// Write units 2.03 and read units 0.39 per event; per request (0.8 per
	// event) an API request, an invocation and a send; per batch (0.1 per
	// event) a receive, a delete and an invocation.
	near("dollars", f.Dollars, 2.03*0.625+0.39*0.125+0.8*(1+0.2+0.4)+0.1*(0.4+0.4+0.2))
	if measured := flooredRun().Cost.CapacityUnits / 1000; f.RU() > measured {
		t.Errorf("floor %.2f RU above the %.2f measured", f.RU(), measured)
	}
}

func TestFloorNeedsTheScoreFunctionsCounts(t *testing.T) {
	if _, ok := floorOf(meteredRun(), USEast1); ok {
		t.Error("a floor without the score function's batches")
	}
	if _, ok := floorOf(LoadRun{Accepted: 10}, USEast1); ok {
		t.Error("a floor without meter figures")
	}
}

func TestTargetsShowTheFloor(t *testing.T) {
	md := string(Report{Loads: []LoadRun{flooredRun()}}.perfMarkdown())
	want := "| floor of scoring each event on arrival, from this run's counts (paced) | 2.42 RU (event records 0.95, lead reads 0.39 and writes 0.78 per lead per batch, new leads' index entries 0.30); $2.70 | reported |"
	if !strings.Contains(md, want) {
		t.Errorf("targets lack the floor row %q:\n%s", want, md)
	}
}
