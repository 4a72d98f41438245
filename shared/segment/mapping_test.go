package segment

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

var received = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// b2b is a stand-in for the rules' sources.segment.events table.
func b2b(name string) (string, bool) {
	t, ok := map[string]string{"Demo Requested": "demo_request", "Trial Started": "trial_signup"}[name]
	return t, ok
}

// mapOne decodes one message (its type from the body) and maps it.
func mapOne(t *testing.T, m Mapper, body string) (scoring.Event, []Problem) {
	t.Helper()
	p, err := DecodeMessage([]byte(body), "")
	if err != nil {
		t.Fatalf("DecodeMessage: %v", err)
	}
	if len(p.Problems) > 0 {
		return scoring.Event{}, p.Problems
	}
	return m.Map(&p.Items[0], received)
}

func mustMap(t *testing.T, m Mapper, body string) scoring.Event {
	t.Helper()
	ev, problems := mapOne(t, m, body)
	if len(problems) > 0 {
		t.Fatalf("problems mapping %s: %+v", body, problems)
	}
	return ev
}

// wantProblem asserts exactly one problem, on field, saying want.
func wantProblem(t *testing.T, problems []Problem, field, want string) {
	t.Helper()
	if len(problems) != 1 || problems[0].Field != field || !strings.Contains(problems[0].Message, want) {
		t.Fatalf("problems = %+v; want one on %q saying %q", problems, field, want)
	}
}

func TestOccurredAt(t *testing.T) {
	tests := []struct {
		name string
		body string
		want time.Time
	}{
		{"no timestamp: received", `{"type":"track","event":"x","userId":"u"}`, received},
		{"timestamp without sentAt: as sent",
			`{"type":"track","event":"x","userId":"u","timestamp":"2026-11-20T08:00:00Z"}`,
			time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)},
		// The sender's clock is 1h fast: it says it sent at 11:00 what
		// happened at 10:59:30; the server received it at 10:00.
		{"sentAt corrects clock skew",
			`{"type":"track","event":"x","userId":"u","timestamp":"2026-11-22T10:59:30Z","sentAt":"2026-11-22T11:00:00Z"}`,
			received.Add(-30 * time.Second)},
		{"time zone offsets",
			`{"type":"track","event":"x","userId":"u","timestamp":"2026-11-22T12:59:30.5+02:00","sentAt":"2026-11-22T11:00:00Z"}`,
			received.Add(-29500 * time.Millisecond)},
		{"RudderStack's originalTimestamp",
			`{"type":"track","event":"x","userId":"u","originalTimestamp":"2026-11-22T09:00:00Z","sentAt":"2026-11-22T09:00:10Z"}`,
			received.Add(-10 * time.Second)},
		{"timestamp wins over originalTimestamp",
			`{"type":"track","event":"x","userId":"u","timestamp":"2026-11-01T00:00:00Z","originalTimestamp":"2026-11-22T09:00:00Z"}`,
			time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := mustMap(t, Mapper{}, tt.body)
			if !ev.OccurredAt.Equal(tt.want) || ev.OccurredAt.Location() != time.UTC {
				t.Errorf("occurred_at = %v, want %v UTC", ev.OccurredAt, tt.want)
			}
		})
	}
}

func TestOccurredAtProblems(t *testing.T) {
	_, problems := mapOne(t, Mapper{}, `{"type":"track","event":"x","userId":"u","timestamp":"yesterday"}`)
	wantProblem(t, problems, "timestamp", "ISO-8601")
	_, problems = mapOne(t, Mapper{}, `{"type":"track","event":"x","userId":"u","timestamp":"2026-11-22T10:00:00Z","sentAt":"2026-11-22 10:00"}`)
	wantProblem(t, problems, "sentAt", "ISO-8601")
}

// A batch's sentAt applies to its messages (analytics-node sets it there).
func TestBatchSentAtCorrects(t *testing.T) {
	p, err := DecodeBatch([]byte(`{"sentAt":"2026-11-22T11:00:00Z","batch":[
		{"type":"track","event":"x","userId":"u","timestamp":"2026-11-22T10:59:00Z"},
		{"type":"track","event":"x","userId":"u","timestamp":"2026-11-22T10:59:00Z","sentAt":"2026-11-22T10:59:00Z"}]}`))
	if err != nil || len(p.Items) != 2 {
		t.Fatalf("DecodeBatch: %v, %+v", err, p)
	}
	for i, want := range []time.Time{received.Add(-time.Minute), received} {
		ev, problems := Mapper{}.Map(&p.Items[i], received)
		if len(problems) > 0 || !ev.OccurredAt.Equal(want) {
			t.Errorf("message %d: occurred_at %v (problems %v), want %v", i, ev.OccurredAt, problems, want)
		}
	}
}

func TestEventID(t *testing.T) {
	if got := EventID("node-next-1668208232027-743be593-7789-4b74-8078-cbcc8894c586"); got != "node-next-1668208232027-743be593-7789-4b74-8078-cbcc8894c586" {
		t.Errorf("a messageId that fits is changed: %q", got)
	}
	if got := EventID(""); got != "" {
		t.Errorf("no messageId gives %q, want empty (generated later)", got)
	}
	for _, id := range []string{"has spaces in it", strings.Repeat("a", 129), "ünïcode", "a/b"} {
		got := EventID(id)
		if !leadscore.ValidID(got) || !strings.HasPrefix(got, "sg_") {
			t.Errorf("EventID(%q) = %q, does not fit event_id", id, got)
		}
		if EventID(id) != got {
			t.Errorf("EventID(%q) is not deterministic", id)
		}
	}
	if EventID("a b") == EventID("a c") {
		t.Error("two messageIds hash alike")
	}
	ev := mustMap(t, Mapper{}, `{"type":"track","event":"x","userId":"u","messageId":"m 1"}`)
	if ev.EventID != EventID("m 1") {
		t.Errorf("event_id = %q", ev.EventID)
	}
}

func TestIdentity(t *testing.T) {
	tests := []struct {
		name                       string
		body                       string
		email, userID, anonymousID string
	}{
		{"identify traits.email, normalized",
			`{"type":"identify","userId":"u1","traits":{"email":"  Ada@Example.COM "}}`, "ada@example.com", "u1", ""},
		{"identify falls back to context.traits.email",
			`{"type":"identify","anonymousId":"a1","context":{"traits":{"email":"ada@example.com"}}}`, "ada@example.com", "", "a1"},
		{"track uses context.traits.email",
			`{"type":"track","event":"x","anonymousId":"a1","context":{"traits":{"email":"ada@example.com"}}}`, "ada@example.com", "", "a1"},
		{"track ignores properties.email",
			`{"type":"track","event":"x","userId":"u1","properties":{"email":"ada@example.com"}}`, "", "u1", ""},
		{"group's traits.email is the company's, not the person's",
			`{"type":"group","groupId":"acme","userId":"u1","traits":{"email":"info@acme.com"}}`, "", "u1", ""},
		{"numeric ids are kept as text",
			`{"type":"track","event":"x","userId":12345,"anonymousId":678}`, "", "12345", "678"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := mustMap(t, Mapper{}, tt.body)
			if ev.Email != tt.email || ev.UserID != tt.userID || ev.AnonymousID != tt.anonymousID {
				t.Errorf("email %q user %q anon %q; want %q %q %q", ev.Email, ev.UserID, ev.AnonymousID, tt.email, tt.userID, tt.anonymousID)
			}
		})
	}
}

func TestIdentityProblems(t *testing.T) {
	_, problems := mapOne(t, Mapper{}, `{"type":"track","event":"x"}`)
	wantProblem(t, problems, "userId", "a userId or an anonymousId is required")
	_, problems = mapOne(t, Mapper{}, `{"type":"identify","userId":"u","traits":{"email":42}}`)
	wantProblem(t, problems, "traits.email", "must be a string")
	_, problems = mapOne(t, Mapper{}, `{"type":"track","event":"x","userId":"`+strings.Repeat("u", 257)+`"}`)
	if len(problems) == 0 || problems[0].Field != "userId" {
		t.Errorf("an oversized userId gave %+v", problems)
	}
	_, problems = mapOne(t, Mapper{}, `{"type":"track","event":"x","userId":true}`)
	wantProblem(t, problems, "userId", "must be a string or a number")
}

func TestIdentifyTraits(t *testing.T) {
	tests := []struct {
		name   string
		traits string
		want   map[string]any
	}{
		{"camelCase names", `{"firstName":"Ada","lastName":"Lovelace","title":"VP Engineering","phone":"+1 555 0100"}`,
			map[string]any{"first_name": "Ada", "last_name": "Lovelace", "job_title": "VP Engineering", "phone": "+1 555 0100"}},
		{"snake_case names", `{"first_name":"Ada","last_name":"Lovelace","job_title":"CTO"}`,
			map[string]any{"first_name": "Ada", "last_name": "Lovelace", "job_title": "CTO"}},
		{"company as a string", `{"company":"Acme","employees":250,"industry":"software"}`,
			map[string]any{"company": "Acme", "company_size": 250.0, "industry": "software"}},
		{"company as an object", `{"company":{"name":"Acme","employee_count":"1200","industry":"fintech","id":"c1"}}`,
			map[string]any{"company": "Acme", "company_size": 1200.0, "industry": "fintech"}},
		{"top-level industry beats company.industry", `{"company":{"industry":"fintech"},"industry":"software"}`,
			map[string]any{"industry": "software"}},
		{"address.country", `{"address":{"city":"London","country":"GB"}}`, map[string]any{"country": "GB"}},
		{"country beats address.country", `{"address":{"country":"GB"},"country":"US"}`, map[string]any{"country": "US"}},
		{"annualRevenue", `{"annualRevenue":5000000}`, map[string]any{"annual_revenue": 5e6}},
		{"phone as a number", `{"phone":5550100}`, map[string]any{"phone": "5550100"}},
		{"other scalar traits kept, snake_cased", `{"plan":"enterprise","createdAt":"2026-01-01","Lead Source":"webinar","beta":true}`,
			map[string]any{"plan": "enterprise", "created_at": "2026-01-01", "lead_source": "webinar", "beta": true}},
		{"nested and unnamable traits left out, email not an attribute",
			`{"email":"a@b.co","tags":["x"],"prefs":{"a":1},"123":"x","email_domain":"x.com","bio":"` + strings.Repeat("b", 300) + `"}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := mustMap(t, Mapper{}, `{"type":"identify","userId":"u1","traits":`+tt.traits+`}`)
			if ev.Type != scoring.TypeIdentify || !reflect.DeepEqual(ev.Lead, tt.want) {
				t.Errorf("type %q lead = %#v; want identify %#v", ev.Type, ev.Lead, tt.want)
			}
		})
	}
}

func TestIdentifyTraitsFromContext(t *testing.T) {
	// RudderStack puts an identify's traits in context.traits too; Segment
	// senders sometimes only there.
	ev := mustMap(t, Mapper{}, `{"type":"identify","userId":"u1","context":{"traits":{"firstName":"Ada","email":"ada@example.com"}}}`)
	if ev.Lead["first_name"] != "Ada" || ev.Email != "ada@example.com" {
		t.Errorf("lead %v email %q", ev.Lead, ev.Email)
	}
}

func TestIdentifyTraitsCap(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"zfirstName":"x"`)
	for i := range 80 {
		b.WriteString(`,"custom` + string(rune('a'+i/26)) + string(rune('a'+i%26)) + `":1`)
	}
	b.WriteString(`,"firstName":"Ada"}`)
	ev := mustMap(t, Mapper{}, `{"type":"identify","userId":"u1","traits":`+b.String()+`}`)
	if len(ev.Lead) != leadscore.MaxKeys || ev.Lead["first_name"] != "Ada" {
		t.Errorf("%d attributes, first_name %v; want %d with the mapped one kept", len(ev.Lead), ev.Lead["first_name"], leadscore.MaxKeys)
	}
}

func TestIdentifyTraitProblems(t *testing.T) {
	tests := []struct{ traits, field, want string }{
		{`{"employees":"many"}`, "traits.employees", "must be a number"},
		{`{"employees":-5}`, "traits.employees", "not negative"},
		{`{"annualRevenue":true}`, "traits.annualRevenue", "must be a number"},
		{`{"company":5}`, "traits.company", "must be a string or an object"},
		{`{"company":{"employee_count":"x"}}`, "traits.company.employee_count", "must be a number"},
		{`{"company":{"name":["a"]}}`, "traits.company.name", "must be a string"},
		{`{"address":"UK"}`, "traits.address", "must be an object"},
		{`{"title":{"a":1}}`, "traits.title", "must be a string"},
		{`{"firstName":"` + strings.Repeat("a", 257) + `"}`, "traits.firstName", "longer than 256"},
	}
	for _, tt := range tests {
		_, problems := mapOne(t, Mapper{}, `{"type":"identify","userId":"u1","traits":`+tt.traits+`}`)
		wantProblem(t, problems, tt.field, tt.want)
	}
}

func TestPage(t *testing.T) {
	tests := []struct {
		name string
		body string
		want map[string]any
	}{
		{"properties.path", `{"type":"page","anonymousId":"a","name":"Pricing","properties":{"path":"/pricing","url":"https://x.io/pricing?q=1","title":"Pricing","plan":"pro"}}`,
			map[string]any{"url": "/pricing", "title": "Pricing", "name": "Pricing", "plan": "pro"}},
		{"path of properties.url", `{"type":"page","anonymousId":"a","properties":{"url":"https://x.io/docs/start?utm_source=x"}}`,
			map[string]any{"url": "/docs/start"}},
		{"a bare origin is /", `{"type":"page","anonymousId":"a","properties":{"url":"https://x.io"}}`,
			map[string]any{"url": "/"}},
		{"context.page", `{"type":"page","anonymousId":"a","context":{"page":{"path":"/pricing","title":"Plans","referrer":"https://google.com/"}}}`,
			map[string]any{"url": "/pricing", "title": "Plans", "referrer": "https://google.com/"}},
		{"context.page.url", `{"type":"page","anonymousId":"a","context":{"page":{"url":"https://x.io/careers"}}}`,
			map[string]any{"url": "/careers"}},
		{"category and campaign", `{"type":"page","anonymousId":"a","category":"Docs","properties":{"path":"/a"},"context":{"campaign":{"name":"spring","source":"google","medium":"cpc","term":"crm","content":"ad1"}}}`,
			map[string]any{"url": "/a", "category": "Docs", "utm_campaign": "spring", "utm_source": "google", "utm_medium": "cpc", "utm_term": "crm", "utm_content": "ad1"}},
		{"screen", `{"type":"screen","userId":"u","name":"Billing","properties":{"plan":"pro"}}`,
			map[string]any{"name": "Billing", "plan": "pro"}},
		{"nested properties left out", `{"type":"page","anonymousId":"a","properties":{"path":"/a","products":[{"id":1}],"meta":{"a":1},"bad key":"x"}}`,
			map[string]any{"url": "/a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := mustMap(t, Mapper{}, tt.body)
			if ev.Type != eventPageView || !reflect.DeepEqual(ev.Properties, tt.want) {
				t.Errorf("type %q properties = %#v; want page_view %#v", ev.Type, ev.Properties, tt.want)
			}
		})
	}
}

func TestTrack(t *testing.T) {
	tests := []struct {
		name     string
		m        Mapper
		body     string
		wantType string
		want     map[string]any
	}{
		{"mapped name", Mapper{EventType: b2b}, `{"type":"track","userId":"u","event":"Demo Requested","properties":{"plan":"pro"}}`,
			"demo_request", map[string]any{"event": "Demo Requested", "plan": "pro"}},
		{"unmapped name kept as track", Mapper{EventType: b2b}, `{"type":"track","userId":"u","event":"Invoice Paid","properties":{"amount":99}}`,
			"track", map[string]any{"event": "Invoice Paid", "amount": 99.0}},
		{"no table", Mapper{}, `{"type":"track","userId":"u","event":"Demo Requested"}`,
			"track", map[string]any{"event": "Demo Requested"}},
		{"the name beats a property called event", Mapper{}, `{"type":"track","userId":"u","event":" Signed Up ","properties":{"event":"x"}}`,
			"track", map[string]any{"event": "Signed Up"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := mustMap(t, tt.m, tt.body)
			if ev.Type != tt.wantType || !reflect.DeepEqual(ev.Properties, tt.want) {
				t.Errorf("type %q properties %#v; want %q %#v", ev.Type, ev.Properties, tt.wantType, tt.want)
			}
		})
	}
	_, problems := mapOne(t, Mapper{}, `{"type":"track","userId":"u","event":"  "}`)
	wantProblem(t, problems, "event", "is required")
	_, problems = mapOne(t, Mapper{}, `{"type":"track","userId":"u","event":"`+strings.Repeat("e", 201)+`"}`)
	wantProblem(t, problems, "event", "longer than 200")
}

func TestTrackPropertiesCap(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"a":1`)
	for i := range 80 {
		b.WriteString(`,"p` + string(rune('a'+i/26)) + string(rune('a'+i%26)) + `":1`)
	}
	b.WriteString(`}`)
	ev := mustMap(t, Mapper{}, `{"type":"track","userId":"u","event":"E","properties":`+b.String()+`,"context":{"campaign":{"name":"c","source":"s","medium":"m","term":"t","content":"x"}}}`)
	if len(ev.Properties) > leadscore.MaxKeys || ev.Properties["event"] != "E" || ev.Properties["utm_content"] != "x" {
		t.Errorf("%d properties (event %v, utm_content %v); want at most %d with the mapped ones kept",
			len(ev.Properties), ev.Properties["event"], ev.Properties["utm_content"], leadscore.MaxKeys)
	}
}

func TestGroup(t *testing.T) {
	ev := mustMap(t, Mapper{}, `{"type":"group","userId":"u1","groupId":"acme-42","traits":{
		"name":"Acme","industry":"software","employees":"250","website":"https://www.Acme.com/about",
		"address":{"country":"DE"},"plan":"enterprise","annualRevenue":1e7,"createdAt":"2020-01-01","tags":["a"]}}`)
	want := map[string]any{"name": "Acme", "industry": "software", "company_size": 250.0, "domain": "acme.com",
		"country": "DE", "plan": "enterprise", "annual_revenue": 1e7, "created_at": "2020-01-01"}
	if ev.Type != scoring.TypeGroup || ev.AccountID != "acme-42" || !reflect.DeepEqual(ev.Account, want) {
		t.Errorf("type %q account_id %q account %#v; want group acme-42 %#v", ev.Type, ev.AccountID, ev.Account, want)
	}
	if ev.Lead != nil {
		t.Errorf("group traits reached the lead: %v", ev.Lead)
	}
	ev = mustMap(t, Mapper{}, `{"type":"group","userId":"u1","groupId":12345,"traits":{"domain":"Acme.IO","website":"other.com","employee_count":9}}`)
	if ev.AccountID != "12345" || ev.Account["domain"] != "acme.io" || ev.Account["company_size"] != 9.0 {
		t.Errorf("account_id %q account %v", ev.AccountID, ev.Account)
	}
}

func TestGroupProblems(t *testing.T) {
	_, problems := mapOne(t, Mapper{}, `{"type":"group","userId":"u1","traits":{"name":"Acme"}}`)
	wantProblem(t, problems, "groupId", "is required")
	_, problems = mapOne(t, Mapper{}, `{"type":"group","userId":"u1","groupId":"Acme Inc"}`)
	wantProblem(t, problems, "groupId", "must match")
	_, problems = mapOne(t, Mapper{}, `{"type":"group","userId":"u1","groupId":"`+strings.Repeat("g", 129)+`"}`)
	wantProblem(t, problems, "groupId", "must match")
	_, problems = mapOne(t, Mapper{}, `{"type":"group","userId":"u1","groupId":"acme","traits":{"employees":"lots"}}`)
	wantProblem(t, problems, "traits.employees", "must be a number")
	// The account is flat and capped whatever the traits hold.
	var b strings.Builder
	b.WriteString(`{"name":"Acme"`)
	for i := range 80 {
		b.WriteString(`,"t` + string(rune('a'+i/26)) + string(rune('a'+i%26)) + `":"v"`)
	}
	b.WriteString(`,"nested":{"a":{"b":1}}}`)
	ev := mustMap(t, Mapper{}, `{"type":"group","userId":"u1","groupId":"acme","traits":`+b.String()+`}`)
	if len(ev.Account) != leadscore.MaxKeys || ev.Account["name"] != "Acme" {
		t.Errorf("%d account attributes, name %v", len(ev.Account), ev.Account["name"])
	}
	for k, v := range ev.Account {
		if _, ok := scalar(v, leadscore.MaxAttributeLen); !ok {
			t.Errorf("account[%q] = %#v is not a scalar", k, v)
		}
	}
}

func TestAlias(t *testing.T) {
	ev := mustMap(t, Mapper{}, `{"type":"alias","previousId":"anon-123","userId":"u1"}`)
	if ev.Type != scoring.TypeAlias || ev.UserID != "u1" || ev.Properties["previous_id"] != "anon-123" {
		t.Errorf("alias mapped to %+v", ev)
	}
	_, problems := mapOne(t, Mapper{}, `{"type":"alias","userId":"u1"}`)
	wantProblem(t, problems, "previousId", "is required")
	_, problems = mapOne(t, Mapper{}, `{"type":"alias","previousId":"p","anonymousId":"a"}`)
	wantProblem(t, problems, "userId", "is required on alias")
}

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"annualRevenue": "annual_revenue", "Lead Source": "lead_source", "plan": "plan", "first-name": "first_name",
		"createdAt": "created_at", "utm.source": "utm_source", "HTML": "html", "x2Y": "x2_y",
		"123": "", "": "", "_x": "", "ünï": "",
	} {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}
