package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"
)

// client calls the stack's HTTP API with the key, as any integration would:
// the console's tests seed and check through the API only.
type client struct {
	base, key string
}

// do sends body (JSON-encoded unless it is a string or []byte) and decodes
// a 2xx answer into out. Any other status is an error with the answer's
// text.
func (c client) do(ctx context.Context, method, path, contentType string, body, out any) error {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return err
		}
		rd, contentType = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("x-api-key", c.key)
	if contentType != "" {
		req.Header.Set("content-type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// event is one POST /v1/events event.
type event map[string]any

// post sends events in batches of 100 (the API's bound).
func (c client) post(ctx context.Context, evs []event) error {
	for len(evs) > 0 {
		n := min(len(evs), 100)
		if err := c.do(ctx, "POST", "/v1/events", "", map[string]any{"events": evs[:n]}, nil); err != nil {
			return err
		}
		evs = evs[n:]
	}
	return nil
}

// leadView is the part of GET /v1/leads/{id} the checks read.
type leadView struct {
	LeadID string         `json:"lead_id"`
	Email  string         `json:"email"`
	Stage  string         `json:"stage"`
	Attrs  map[string]any `json:"attributes"`
	Score  struct {
		Fit        float64 `json:"fit"`
		Engagement float64 `json:"engagement"`
		Grade      string  `json:"grade"`
	} `json:"score"`
	RulesVersion int    `json:"rules_version"`
	AccountID    string `json:"account_id"`
}

func (c client) lead(ctx context.Context, email string) (leadView, error) {
	var l leadView
	err := c.do(ctx, "GET", "/v1/leads?email="+url.QueryEscape(email), "", nil, &l)
	return l, err
}

// waitLead polls a lead until ok says it is as expected (the score queue is
// asynchronous), for at most two minutes.
func (c client) waitLead(ctx context.Context, email string, ok func(leadView) bool) (leadView, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		l, err := c.lead(ctx, email)
		if err == nil && ok(l) {
			return l, nil
		}
		if time.Now().After(deadline) {
			return l, fmt.Errorf("lead %s not as expected after 2 minutes (last: %+v, %v)", email, l, err)
		}
		select {
		case <-ctx.Done():
			return l, ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// The scenario's people. Fit under the default rules: a VP (20) at a
// 400-person (15) software (10) company in GB (5) is 50, over the MQL bar of
// 40.
const (
	mqlEmail  = "mara.quinn@quinnsoft.example"
	mqlName   = "Mara Quinn"
	nearEmail = "nico.near@nearco.example"
	xssEmail  = "xss@evil.example"
	xssName   = "<img src=x onerror=alert(1)>"
)

func person(email, first, last, company, title string, size float64) map[string]any {
	return map[string]any{"first_name": first, "last_name": last, "company": company, "job_title": title,
		"company_size": size, "industry": "software", "country": "GB"}
}

func ev(email, typ string, at time.Time, lead map[string]any, props map[string]any) event {
	e := event{"type": typ, "email": email, "occurred_at": at.UTC().Format(time.RFC3339), "lead": lead}
	if props != nil {
		e["properties"] = props
	}
	return e
}

// scenario seeds the test's three people: an MQL with the most engagement
// (a demo request, downloads, forms), a lead with the MQL fit whose
// engagement (two pricing visits and a form, ~30) is under the bar of 50
// until pricing visits are worth more, and a lead whose first name is
// markup.
func scenario(now time.Time) []event {
	mara := person(mqlEmail, "Mara", "Quinn", "QuinnSoft", "VP Engineering", 400)
	nico := person(nearEmail, "Nico", "Near", "NearCo", "Director of IT", 450)
	xss := person(xssEmail, xssName, "Tester", "Evil Corp", "Engineer", 20)
	return []event{
		ev(mqlEmail, "content_download", now.Add(-50*time.Hour), mara, map[string]any{"funnel_stage": "bottom"}),
		ev(mqlEmail, "form_submit", now.Add(-49*time.Hour), mara, nil),
		ev(mqlEmail, "page_view", now.Add(-26*time.Hour), mara, map[string]any{"url": "/pricing", "duration_s": 90}),
		ev(mqlEmail, "demo_request", now.Add(-2*time.Hour), mara, nil),
		ev(nearEmail, "page_view", now.Add(-75*time.Hour), nico, map[string]any{"url": "/pricing", "duration_s": 20}),
		ev(nearEmail, "page_view", now.Add(-1*time.Hour), nico, map[string]any{"url": "/pricing", "duration_s": 20}),
		ev(nearEmail, "form_submit", now.Add(-1*time.Hour), nico, nil),
		ev(xssEmail, "page_view", now.Add(-3*time.Hour), xss, map[string]any{"url": "/blog/launch"}),
	}
}

var (
	firstNames = []string{"Ada", "Grace", "Alan", "Katherine", "Linus", "Barbara", "Edsger", "Frances", "Dennis", "Radia", "Ken", "Margaret", "Tim", "Sophie", "Donald", "Hedy"}
	lastNames  = []string{"Lovelace", "Hopper", "Turing", "Johnson", "Torvalds", "Liskov", "Dijkstra", "Allen", "Ritchie", "Perlman", "Thompson", "Hamilton", "Berners-Lee", "Wilson", "Knuth", "Lamarr"}
	titles     = []string{"VP Engineering", "Head of Data", "CTO", "Marketing Manager", "Software Engineer", "Student", "Director of Operations", "Product Manager", "Founder"}
	sizes      = []float64{8, 60, 150, 400, 1200, 7000}
	industries = []string{"software", "fintech", "retail", "education", "manufacturing", "media"}
)

// crowd is n more people with random titles, companies and a few weeks of
// activity, half of them with a sales outcome, so the queue and the signals
// report look like real ones and the figures read a realistic table.
// Deterministic for a seed.
func crowd(n int, seed uint64, now time.Time) (evs []event, emails []string) {
	rng := rand.New(rand.NewPCG(seed, 14))
	for i := range n {
		first, last := firstNames[rng.IntN(len(firstNames))], lastNames[rng.IntN(len(lastNames))]
		company := fmt.Sprintf("%s %s", last, []string{"Labs", "Systems", "Group", "Analytics", "Cloud"}[rng.IntN(5)])
		email := fmt.Sprintf("%s.%s.%d@%s.example", first, last, i, []string{"acme", "globex", "initech", "umbrella", "hooli", "vandelay"}[rng.IntN(6)])
		lead := map[string]any{"first_name": first, "last_name": last, "company": company,
			"job_title": titles[rng.IntN(len(titles))], "company_size": sizes[rng.IntN(len(sizes))],
			"industry": industries[rng.IntN(len(industries))], "country": []string{"US", "GB", "DE", "BR", "IN"}[rng.IntN(5)]}
		keen := 0 // how strongly this person's activity says "buying"
		for range 1 + rng.IntN(6) {
			at := now.Add(-time.Duration(24+rng.IntN(20*24)) * time.Hour)
			switch r := rng.IntN(10); {
			case r < 5:
				url := []string{"/pricing", "/blog/x", "/docs", "/careers"}[rng.IntN(4)]
				if url == "/pricing" {
					keen++
				}
				evs = append(evs, ev(email, "page_view", at, lead, map[string]any{"url": url, "duration_s": rng.IntN(120)}))
			case r < 7:
				evs = append(evs, ev(email, "content_download", at, lead, map[string]any{"funnel_stage": []string{"top", "middle", "bottom"}[rng.IntN(3)]}))
			case r < 9:
				evs = append(evs, ev(email, "form_submit", at, lead, nil))
			default:
				keen += 2
				evs = append(evs, ev(email, "demo_request", at, lead, nil))
			}
		}
		// Half of them reached sales; the keen ones win more often, so the
		// signals report has something to find.
		if rng.IntN(2) == 0 {
			at := now.Add(-time.Duration(rng.IntN(12)) * time.Hour)
			evs = append(evs, ev(email, "sales_accepted", at.Add(-time.Hour), lead, nil))
			outcome := "deal_lost"
			if rng.Float64() < 0.2+0.2*float64(keen) {
				outcome = "deal_won"
			}
			evs = append(evs, ev(email, outcome, at, lead, nil))
		}
		emails = append(emails, email)
	}
	return evs, emails
}
