package segment

import (
	"os"
	"testing"

	"github.com/leadscore/leadscore/infra/cputime"
)

// BenchmarkDecodeAndMap is the Segment path's own cost per message: decode
// a realistic batch (identify, page, mapped and unmapped track, group,
// alias, as analytics-node sends them) and map every message to an event.
// The HTTP handler adds auth, validation and the queue on top. cpu-ns/msg
// is process CPU, which wall time on a busy machine overstates; allocs/op
// is for the batch of 6 messages.
//
//	go test ./shared/segment -run '^$' -bench DecodeAndMap -benchmem
func BenchmarkDecodeAndMap(b *testing.B) {
	body, err := os.ReadFile("testdata/batch.json")
	if err != nil {
		b.Fatal(err)
	}
	m := Mapper{EventType: b2b}
	msgs := 0
	b.ReportAllocs()
	cpu := cputime.Process()
	for b.Loop() {
		p, err := DecodeBatch(body)
		if err != nil || len(p.Problems) > 0 {
			b.Fatal(err, p.Problems)
		}
		for i := range p.Items {
			if _, problems := m.Map(&p.Items[i], received); len(problems) > 0 {
				b.Fatal(problems)
			}
		}
		msgs += len(p.Items)
	}
	b.ReportMetric(float64((cputime.Process()-cpu).Nanoseconds())/float64(msgs), "cpu-ns/msg")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(msgs), "ns/msg")
}
