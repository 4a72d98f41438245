package dynamodb

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/leadscore/leadscore/infra/emulators"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
	"github.com/leadscore/leadscore/shared/signals"
)

// salesPaths are the sales event sequences a random lead may go through,
// each sent and evaluated one at a time as the score function would.
var salesPaths = [][]string{
	nil,                                  // never worked: open
	{"sales_accepted"},                   // accepted, no decision yet: open
	{"sales_accepted", "deal_won"},       // won
	{"sales_accepted", "deal_lost"},      // lost
	{"sales_rejected"},                   // rejected
	{"sales_rejected", "sales_accepted"}, // back in play: open
	{"sales_accepted", "deal_lost", "sales_accepted", "deal_won"}, // won in the end
}

var (
	titles     = []string{"Director of IT", "Engineer", "VP Sales", "Student", "Marketing Manager"}
	industries = []string{"software", "retail", "education", "finance"}
	engagement = []struct{ typ, url string }{{"page_view", "/pricing"}, {"page_view", "/careers"}, {"demo_request", ""},
		{"webinar_attend", ""}, {"email_open", ""}, {"content_download", "/whitepaper"}, {"page_view", "/blog"}}
)

// randomLead is a lead record ready for WriteLead: a form with random fit
// attributes, random engagement, then the sales path (index into
// salesPaths; -1 picks one at random).
func randomLead(rng *rand.Rand, i, path int, prefix string) *leadscore.LeadRecord {
	r := scoring.DefaultRules()
	email := fmt.Sprintf("%s%06d@example.com", prefix, i)
	id := leadscore.LeadID(email)
	rec := &leadscore.LeadRecord{}
	rec.ID, rec.Email, rec.State = id, email, scoring.NewLeadState()
	base := t0.Add(-60 * 24 * time.Hour)
	at := func(day int) time.Time {
		return base.Add(time.Duration(day)*24*time.Hour + time.Duration(i%1000)*time.Second)
	}
	form := scoring.Event{EventID: fmt.Sprintf("%s-f", id), Type: "form_submit", Email: email, OccurredAt: at(0),
		Lead: map[string]any{"job_title": titles[rng.IntN(len(titles))], "industry": industries[rng.IntN(len(industries))],
			"company_size": float64(10 + rng.IntN(8000)), "country": []string{"US", "DE", "BR"}[rng.IntN(3)]}}
	evs := []scoring.Event{form}
	for j := range rng.IntN(6) {
		k := engagement[rng.IntN(len(engagement))]
		evs = append(evs, scoring.Event{EventID: fmt.Sprintf("%s-e%d", id, j), Type: k.typ, Email: email, OccurredAt: at(1 + j),
			Properties: map[string]any{"url": k.url}})
	}
	rec.State.Apply(evs, r)
	res := rec.State.Evaluate(r, at(8))
	if path < 0 {
		path = rng.IntN(len(salesPaths))
	}
	for j, typ := range salesPaths[path] {
		rec.State.Apply([]scoring.Event{{EventID: fmt.Sprintf("%s-s%d", id, j), Type: typ, Email: email, OccurredAt: at(10 + 5*j)}}, r)
		res = rec.State.Evaluate(r, at(10+5*j).Add(time.Minute))
	}
	rec.View = leadscore.BuildView(id, email, rec.State, res, 0, t0)
	return rec
}

// inOutcomeIndex reports which outcome shard lists id (-1: none).
func inOutcomeIndex(t *testing.T, s *Store, id string) int {
	t.Helper()
	for shard := range OutcomeShards {
		cursor := ""
		for {
			page, next, err := s.OutcomeLeads(t.Context(), shard, cursor, 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range page {
				if l.ID == id {
					return shard
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
	}
	return -1
}

// TestOutcomeIndexFollowsTheLead: a lead enters the outcome index with its
// first sales outcome, leaves it when sales takes it back, enters again
// with a new outcome, and leaves it when erased.
func TestOutcomeIndexFollowsTheLead(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	r := scoring.DefaultRules()
	rec := randomLead(rand.New(rand.NewPCG(1, 1)), 1, 0, "follow")
	id := rec.ID
	if err := s.WriteLead(ctx, rec, t0); err != nil {
		t.Fatal(err)
	}
	step := func(n int, typ string, want bool) {
		t.Helper()
		if typ != "" {
			at := t0.Add(time.Duration(n) * time.Hour)
			rec.State.Apply([]scoring.Event{{EventID: fmt.Sprintf("follow-%d", n), Type: typ, Email: rec.Email, OccurredAt: at}}, r)
			rec.View = leadscore.BuildView(id, rec.Email, rec.State, rec.State.Evaluate(r, at), 0, at)
			if err := s.WriteLead(ctx, rec, at); err != nil {
				t.Fatal(err)
			}
		}
		shard := inOutcomeIndex(t, s, id)
		if want && shard != outcomeShard(id) || !want && shard != -1 {
			t.Fatalf("after %q: lead in outcome shard %d; want in the index %v (its shard %d)", typ, shard, want, outcomeShard(id))
		}
	}
	step(0, "", false)
	step(1, "sales_accepted", false)
	step(2, "deal_lost", true)
	step(3, "sales_accepted", false)
	step(4, "deal_won", true)
	if err := s.EraseLead(ctx, id); err != nil {
		t.Fatal(err)
	}
	step(5, "", false)
}

// TestOutcomeReportEqualsFullScanOnDecidedLeads is the property that makes
// the index a faithful shortcut: over random leads (every sales path,
// including leads taken back into play), the report read through the
// outcome index equals the report the old full scan builds over its
// decided leads, to the last field.
func TestOutcomeReportEqualsFullScanOnDecidedLeads(t *testing.T) {
	emulators.Need(t)
	r := scoring.DefaultRules()
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			if err := stack.Reset(t.Context()); err != nil {
				t.Fatal(err)
			}
			s := newStore(t)
			rng := rand.New(rand.NewPCG(seed, 17))
			n := 150 + rng.IntN(100)
			for i := range n {
				if err := s.WriteLead(t.Context(), randomLead(rng, i, -1, fmt.Sprint("p", seed, "-")), t0); err != nil {
					t.Fatal(err)
				}
			}
			points, err := signals.CurrentPoints(r)
			if err != nil {
				t.Fatal(err)
			}
			var all, decided []signals.Lead
			cursor := ""
			for {
				page, next, err := s.ScanLeads(t.Context(), cursor, 100)
				if err != nil {
					t.Fatal(err)
				}
				for _, l := range page {
					sl := signals.LeadFromState(l.ID, l.State, r, t0)
					all = append(all, sl)
					if sl.Outcome != signals.Open {
						decided = append(decided, sl)
					}
				}
				if cursor = next; next == "" {
					break
				}
			}
			if len(all) != n || len(decided) == 0 || len(decided) == n {
				t.Fatalf("scanned %d leads (%d decided) of %d written; want all, some decided and some open", len(all), len(decided), n)
			}
			want := signals.Build(decided, points, signals.Options{})
			if want.Model == nil {
				t.Fatalf("%d decided leads gave no model (%s): the comparison would not cover it", len(decided), want.Message)
			}
			got, err := signals.ReadOutcomesReport(t.Context(), s, r, t0, signals.OutcomeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Truncated || got.LeadsRead != len(decided) {
				t.Fatalf("outcome read: %d leads, truncated %v; want the %d decided", got.LeadsRead, got.Truncated, len(decided))
			}
			wantJSON, _ := json.Marshal(want)
			gotJSON, _ := json.Marshal(got.Report)
			if string(wantJSON) != string(gotJSON) {
				t.Fatalf("report through the outcome index differs from the scan's over decided leads:\n got %s\nwant %s", gotJSON, wantJSON)
			}
		})
	}
}

// TestSignalsReportJobLifecycle: one build at a time; progress is recorded
// only for the current build; the stored report round-trips and finishes
// the job; a stale build may be replaced.
func TestSignalsReportJobLifecycle(t *testing.T) {
	emulators.Need(t)
	if err := stack.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	s := newStore(t)
	ctx := t.Context()
	if job, stored, err := s.SignalsReport(ctx); err != nil || job != nil || stored != nil {
		t.Fatalf("empty table: job %v report %v (%v)", job, stored, err)
	}
	first, started, err := s.StartSignalsReport(ctx, t0, OutcomeShards, time.Hour)
	if err != nil || !started {
		t.Fatalf("first start: %v %v", started, err)
	}
	again, started, err := s.StartSignalsReport(ctx, t0.Add(time.Minute), OutcomeShards, time.Hour)
	if err != nil || started || !again.StartedAt.Equal(first.StartedAt) {
		t.Fatalf("second start while running: started %v job %+v (%v); want the first job", started, again, err)
	}
	if ok, err := s.AdvanceSignalsReport(ctx, t0.Add(time.Minute), 3, 30); err != nil || ok {
		t.Fatalf("progress of a build that is not current: %v %v", ok, err)
	}
	if ok, err := s.AdvanceSignalsReport(ctx, first.StartedAt, 3, 30); err != nil || !ok {
		t.Fatalf("progress of the current build: %v %v", ok, err)
	}
	body := []byte(`{"leads":30,"outcomes":30}`)
	if err := s.SaveSignalsReport(ctx, first.StartedAt, leadscore.StoredReport{Body: body, GeneratedAt: t0, Outcomes: 30}, t0.Add(time.Minute), time.Hour); err != nil {
		t.Fatal(err)
	}
	job, stored, err := s.SignalsReport(ctx)
	if err != nil || job == nil || stored == nil || job.Done != 3 || job.Total != OutcomeShards || job.LeadsRead != 30 || job.FinishedAt == nil ||
		string(stored.Body) != string(body) || stored.Outcomes != 30 || !stored.GeneratedAt.Equal(t0) {
		t.Fatalf("after saving: job %+v report %+v (%v)", job, stored, err)
	}
	if _, started, err := s.StartSignalsReport(ctx, t0.Add(2*time.Minute), OutcomeShards, time.Hour); err != nil || !started {
		t.Fatalf("start after a finished build: %v %v", started, err)
	}
	if _, started, err := s.StartSignalsReport(ctx, t0.Add(3*time.Hour), OutcomeShards, time.Hour); err != nil || !started {
		t.Fatalf("start over a stale running build: %v %v", started, err)
	}
}

func TestOutcomeLeadsRefusesAForeignCursor(t *testing.T) {
	s := newStore(t)
	if _, _, err := s.OutcomeLeads(t.Context(), 0, encodeCursor(leadKeyIn(OutcomeShardKey(1)), attrOutcomeShard, ""), 10); err == nil {
		t.Fatal("a cursor of shard 1 accepted for shard 0")
	}
	if _, _, err := s.OutcomeLeads(t.Context(), OutcomeShards, "", 10); err == nil {
		t.Fatal("shard out of range accepted")
	}
}

func leadKeyIn(part string) map[string]types.AttributeValue {
	k := leadKey("ld_x")
	k[attrOutcomeShard] = sAttr(part)
	return k
}
