package ingest

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/leadscore/leadscore/shared/leadscore"
)

// TestEventIDIsPerLead: an event_id names one event of one lead
// (docs/api.md "Event"), as the score function's event records are keyed
// (lead, event_id). In one request the same id for two leads is two
// events; for the same lead, one and a duplicate, however the lead is
// spelled.
func TestEventIDIsPerLead(t *testing.T) {
	e := newEnv(t)
	body := `{"events":[
		{"event_id":"crm-1","type":"page_view","email":"ada@example.com"},
		{"event_id":"crm-1","type":"page_view","email":"grace@example.com"},
		{"event_id":"crm-1","type":"page_view","email":" ADA@example.com"},
		{"event_id":"crm-1","type":"page_view","anonymous_id":"cookie-1"}]}`
	resp := e.do(t, withBody(load(t, "post-event.json"), body, false))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d, body %s", resp.StatusCode, resp.Body)
	}
	var got AcceptedBody
	if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
		t.Fatal(err)
	}
	want := []string{leadscore.LeadID("ada@example.com"), leadscore.LeadID("grace@example.com"), leadscore.VisitorID("cookie-1")}
	if got.Duplicates != 1 || len(got.Accepted) != len(want) {
		t.Fatalf("body %s; want three events accepted (ada, grace, the visitor) and ada's repeat a duplicate", resp.Body)
	}
	for i, w := range want {
		if got.Accepted[i].LeadID != w || got.Accepted[i].EventID != "crm-1" {
			t.Errorf("accepted[%d] = %+v, want crm-1 for %s", i, got.Accepted[i], w)
		}
	}
	e.received(t, len(want))
}
