package score

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/signals"
)

// TestSignalsReportBuildRunsFromTheQueue: leads scored through the handler
// get their sales outcomes; a build started as the API starts it runs from
// its signals_report message, reports done = total parts and stores the
// report of exactly the leads with an outcome. A duplicate delivery of the
// message changes nothing.
func TestSignalsReportBuildRunsFromTheQueue(t *testing.T) {
	eachBackend(t, t0, func(t *testing.T, e *env) {
		ctx := context.Background()
		const decided, open = 12, 5
		for i := range decided + open {
			email := fmt.Sprintf("outcome%02d@example.com", i)
			form := event(fmt.Sprintf("r%d-form", i), "form_submit", email, "", t0.Add(-72*time.Hour), nil)
			form.Lead = fitAttrs
			steps := [][]leadscore.ScoreMessage{{evMsg(form)}}
			if i < decided {
				outcome := "deal_won"
				if i%3 == 0 {
					outcome = "deal_lost"
				}
				steps = append(steps,
					[]leadscore.ScoreMessage{evMsg(event(fmt.Sprintf("r%d-acc", i), "sales_accepted", email, "", t0.Add(-48*time.Hour), nil))},
					[]leadscore.ScoreMessage{evMsg(event(fmt.Sprintf("r%d-out", i), outcome, email, "", t0.Add(-24*time.Hour), nil))})
			}
			for _, msgs := range steps {
				resp, err := e.h.Handle(ctx, batch(t, msgs...))
				if err != nil || len(resp.BatchItemFailures) > 0 {
					t.Fatalf("scoring lead %d: %v %v", i, resp.BatchItemFailures, err)
				}
			}
		}
		job, err := signals.StartBuild(ctx, e.store, discardQueue{}, t0, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			resp, err := e.h.Handle(ctx, batch(t, leadscore.SignalsReportMessage(job.StartedAt)))
			if err != nil || len(resp.BatchItemFailures) > 0 {
				t.Fatalf("signals_report message: %v %v", resp.BatchItemFailures, err)
			}
		}
		got, stored, err := e.store.SignalsReport(ctx)
		if err != nil || got == nil || stored == nil {
			t.Fatalf("after the build: job %+v report %v (%v)", got, stored != nil, err)
		}
		if got.Done != got.Total || got.Total != e.store.OutcomeShards() || got.LeadsRead != decided || got.FinishedAt == nil {
			t.Fatalf("job %+v; want all %d parts done, %d leads read, finished", got, e.store.OutcomeShards(), decided)
		}
		if stored.Outcomes != decided {
			t.Fatalf("stored report of %d outcomes, want %d", stored.Outcomes, decided)
		}
	})
}

// discardQueue accepts the build's message; the test delivers it itself.
type discardQueue struct{}

func (discardQueue) EnqueueScore(context.Context, []leadscore.ScoreMessage) ([]int, error) {
	return nil, nil
}

func TestParseReportMessage(t *testing.T) {
	at := time.Date(2026, 11, 30, 2, 0, 0, 123, time.UTC)
	tests := []struct {
		body     string
		at       time.Time
		isReport bool
		wantErr  bool
	}{
		{body: `{"kind":"signals_report","lead_id":"signals_report","now":"2026-11-30T02:00:00.000000123Z"}`, at: at, isReport: true},
		{body: `{"kind":"signals_report"}`, isReport: true, wantErr: true},
		{body: `{"kind":"rescore","lead_id":"ld_x","rules_version":3}`},
		{body: `{"kind":"event","event":{"event_id":"signals_report"}}`},
		{body: `not json signals_report`},
	}
	for _, tc := range tests {
		got, isReport, err := parseReportMessage([]byte(tc.body))
		if !got.Equal(tc.at) || isReport != tc.isReport || (err != nil) != tc.wantErr {
			t.Errorf("parseReportMessage(%s) = %s, %v, %v; want %s, %v, error %v", tc.body, got, isReport, err, tc.at, tc.isReport, tc.wantErr)
		}
	}
}

func FuzzParseReportMessage(f *testing.F) {
	f.Add([]byte(`{"kind":"signals_report","lead_id":"signals_report","now":"2026-11-30T02:00:00Z"}`))
	f.Add([]byte(`{"kind":"signals_report","now":"yesterday"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		at, isReport, err := parseReportMessage(body)
		if !isReport && (!at.IsZero() || err != nil) {
			t.Fatalf("not a report message but got %s, error %v", at, err)
		}
		if isReport && err == nil && at.IsZero() {
			t.Fatalf("accepted a report message without its start")
		}
	})
}
