package score

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/leadscore/leadscore/shared/dynamodb"
)

// BenchmarkScore measures the score handler per event against DynamoDB
// Local and the SQS emulator, and reports the DynamoDB capacity units
// (read + write request units, GSI writes included) each event costs.
//
//   - session: each batch holds 10 events of one lead (a visit's page views
//     arriving within the batching window)
//   - mixed: each batch holds 10 events drawn from 200 leads (a busy site)
//   - new-leads: each batch holds 10 first events of 10 new leads, the worst
//     case (every event creates a lead and a visitor->lead transition)
func BenchmarkScore(b *testing.B) {
	for _, wl := range []struct {
		name  string
		leads func(i int, rng *rand.Rand) string
	}{
		{"session", func(i int, _ *rand.Rand) string { return fmt.Sprintf("s%d", (i/10)%100) }},
		{"mixed", func(_ int, rng *rand.Rand) string { return fmt.Sprintf("m%d", rng.IntN(200)) }},
		{"new-leads", func(i int, _ *rand.Rand) string { return fmt.Sprintf("n%d", i) }},
	} {
		b.Run(wl.name, func(b *testing.B) {
			e := newEnv(b, t0)
			rng := rand.New(rand.NewPCG(1, 2))
			urls := []string{"/pricing", "/docs", "/blog/a", "/features", "/pricing/enterprise"}
			m := &dynamodb.CapacityMeter{}
			ctx := dynamodb.WithMeter(b.Context(), m)
			seq := 0
			next := func() events.SQSEvent {
				var recs []events.SQSMessage
				for range 10 {
					email := "bench-" + wl.leads(seq, rng) + "@acme.io"
					ev := event(fmt.Sprintf("b%d", seq), "page_view", email, "", t0.Add(-time.Duration(rng.IntN(72))*time.Hour),
						map[string]any{"url": urls[rng.IntN(len(urls))]})
					recs = append(recs, record(b, evMsg(ev)))
					seq++
				}
				return events.SQSEvent{Records: recs}
			}
			b.ResetTimer()
			events := 0
			for b.Loop() {
				resp, err := e.h.Handle(ctx, next())
				if err != nil || len(resp.BatchItemFailures) > 0 {
					b.Fatalf("Handle: %v %v", resp, err)
				}
				events += 10
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(events), "µs/event")
			b.ReportMetric(m.Total()/float64(events), "RU/event")
			u := m.Usage()
			b.ReportMetric(float64(u["WriteLead"].Calls)/float64(events), "leadwrites/event")
			if testing.Verbose() {
				for op, x := range u {
					b.Logf("%-20s %6d calls %8.1f units %.3f units/event", op, x.Calls, x.Units, x.Units/float64(events))
				}
			}
		})
	}
}
