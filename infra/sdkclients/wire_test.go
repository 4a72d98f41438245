package sdkclients

// This test points send.mjs at a bare HTTP server that only decodes and maps
// what arrives, to pin down what the SDKs put on the wire; the stack tests
// (infra/sourcestest) run it against leadscore.

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadscore/leadscore/shared/scoring"
	"github.com/leadscore/leadscore/shared/segment"
)

const writeKey = "wk_test_0123456789ab"

// recorder is a server that speaks just enough of POST /v1/batch.
type recorder struct {
	mu       sync.Mutex
	events   []scoring.Event
	problems []segment.Problem
	requests []string // method, path, auth, encoding of each request
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	user, pass, _ := r.BasicAuth()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.requests = append(rec.requests, strings.Join([]string{r.Method, r.URL.Path, user + ":" + pass, r.Header.Get("Content-Encoding")}, " "))
	body, err := segment.Decompress(raw, r.Header.Get("Content-Encoding"), segment.MaxBatchBytes)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p, err := segment.DecodeBatch(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rec.problems = append(rec.problems, p.Problems...)
	m := segment.Mapper{EventType: func(name string) (string, bool) { return "demo_request", name == "Demo Requested" }}
	for i := range p.Items {
		ev, problems := m.Map(&p.Items[i], time.Now())
		rec.problems = append(rec.problems, problems...)
		rec.events = append(rec.events, ev)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"success":true}`)
}

func TestSDKWire(t *testing.T) {
	for _, tt := range []struct{ sdk, encoding string }{{"segment", ""}, {"rudder", "gzip"}} {
		t.Run(tt.sdk, func(t *testing.T) {
			rec := &recorder{}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			if testing.Short() {
				t.Skip("runs Node and the SDKs; skipped with -short")
			}
			if _, err := Send(t.Context(), tt.sdk, srv.URL, writeKey, "wire"); err != nil {
				t.Fatal(err)
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			for _, r := range rec.requests {
				if want := "POST /v1/batch " + writeKey + ": " + tt.encoding; r != want {
					t.Errorf("request %q, want %q", r, want)
				}
			}
			if len(rec.problems) > 0 {
				t.Fatalf("problems decoding what %s sent: %+v", tt.sdk, rec.problems)
			}
			checkJourney(t, tt.sdk, rec.events)
		})
	}
}

// checkJourney: the nine steps of send.mjs arrive in order and map as
// docs/api.md "Sources" says.
func checkJourney(t *testing.T, sdk string, evs []scoring.Event) {
	t.Helper()
	want := []string{"page_view", "identify", "page_view", "demo_request", "track", "group", "alias", "page_view", "identify"}
	if len(evs) != len(want) {
		t.Fatalf("%d events arrived, want %d: %+v", len(evs), len(want), evs)
	}
	for i, w := range want {
		if evs[i].Type != w {
			t.Errorf("event %d is %q, want %q", i, evs[i].Type, w)
		}
		if age := time.Since(evs[i].OccurredAt); age < 0 || age > time.Minute {
			t.Errorf("event %d occurred_at %v is not about now", i, evs[i].OccurredAt)
		}
	}
	user := sdk + "-user-wire"
	id := evs[1]
	if id.Email != sdk+"-wire@example.com" || id.UserID != user || id.Lead["job_title"] != "VP Engineering" ||
		id.Lead["company_size"] != 250.0 || id.Lead["country"] != "GB" {
		t.Errorf("identify mapped to %+v", id)
	}
	if evs[0].AnonymousID != sdk+"-anon2-wire" || evs[0].Properties["url"] != "/pricing" {
		t.Errorf("anonymous page view %+v", evs[0])
	}
	if evs[2].EventID != sdk+"-page-wire" || evs[7].EventID != evs[2].EventID {
		t.Errorf("resent page: event ids %q and %q, want both %s-page-wire", evs[2].EventID, evs[7].EventID, sdk)
	}
	if evs[4].Properties["event"] != "Pricing Calculator Used" {
		t.Errorf("unmapped track %+v", evs[4])
	}
	if evs[5].AccountID != "acme-"+sdk+"-wire" || evs[5].Account["domain"] != "acme.com" {
		t.Errorf("group %+v", evs[5])
	}
	if evs[6].UserID != user || evs[6].Properties["previous_id"] != sdk+"-anon2-wire" {
		t.Errorf("alias %+v", evs[6])
	}
	for i, ev := range evs {
		if ev.EventID == "" || (i > 0 && i != 7 && ev.EventID == evs[i-1].EventID) {
			t.Errorf("event %d has event id %q", i, ev.EventID)
		}
	}
	if evs[8].UserID != user || evs[8].Email != "" || evs[8].Lead["journey_step"] != 8.0 {
		t.Errorf("last identify %+v", evs[8])
	}
}
