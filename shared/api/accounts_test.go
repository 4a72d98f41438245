package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/leadscore/leadscore/shared/httpapi"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// sample is one of the repository's events/api-*.json requests, with its
// query replaced when query is not nil.
func sample(t *testing.T, name string, query map[string]string, params map[string]string) httpapi.Request {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	var req httpapi.Request
	if err := json.Unmarshal(b, &req); err != nil {
		t.Fatal(err)
	}
	req.Headers["x-api-key"] = testKey
	if query != nil {
		req.QueryStringParameters, req.RawQueryString = query, ""
		for k, v := range query {
			if req.RawQueryString != "" {
				req.RawQueryString += "&"
			}
			req.RawQueryString += k + "=" + v
		}
	}
	if params != nil {
		req.PathParameters = params
	}
	return req
}

// seedAccount writes an account as the score function does.
func seedAccount(t *testing.T, e *env, id string, stage scoring.AccountStage, engagement float64) {
	t.Helper()
	store := e.opts.Accounts.(leadscore.AccountStore)
	rec := &leadscore.AccountRecord{}
	rec.ID, rec.State = id, scoring.NewAccountState(id)
	rec.View = leadscore.AccountView{AccountID: id, Stage: stage, Score: scoring.Score{Engagement: engagement}, Attributes: map[string]any{"name": "Acme"},
		Leads: []leadscore.AccountLead{{LeadID: "ld_0123456789abcdef01234567", Email: "ada@acme.io", Stage: scoring.StageLead, Engagement: engagement}}, LeadCount: 1}
	if err := store.WriteAccount(t.Context(), rec, testNow); err != nil {
		t.Fatal(err)
	}
	m := leadscore.Member{AccountMember: scoring.AccountMember{LeadID: "ld_0123456789abcdef01234567", AccountID: id,
		Engagement: engagement, Stage: scoring.StageLead, At: testNow}, Email: "ada@acme.io"}
	if err := e.opts.Members.PutMembers(t.Context(), id, []leadscore.Member{m}); err != nil {
		t.Fatal(err)
	}
}

func TestAccountRoutes(t *testing.T) {
	e := newEnv(t)
	acme := scoring.AccountIDForDomain("acme.io")
	seedAccount(t, e, acme, scoring.AccountStageMQA, 30)
	seedAccount(t, e, "sf-1", scoring.AccountStageMQA, 10)
	seedAccount(t, e, "sf-2", scoring.AccountStageMQA, 20)
	seedAccount(t, e, "sf-3", scoring.AccountStageAccount, 99)

	bad := []struct {
		name  string
		req   httpapi.Request
		field string
	}{
		{"malformed account id", sample(t, "api-get-account.json", nil, map[string]string{"account_id": "a/b"}), "account_id"},
		{"account id too long", sample(t, "api-get-account.json", nil, map[string]string{"account_id": string(make([]byte, 129))}), "account_id"},
		{"malformed domain", sample(t, "api-get-account-by-domain.json", map[string]string{"domain": "not a domain"}, nil), "domain"},
		{"unknown stage", sample(t, "api-list-accounts.json", map[string]string{"stage": "mql"}, nil), "stage"},
		{"limit out of range", sample(t, "api-list-accounts.json", map[string]string{"stage": "mqa", "limit": "0"}, nil), "limit"},
		{"neither domain nor stage", sample(t, "api-list-accounts.json", map[string]string{"limit": "2"}, nil), "stage"},
		{"both domain and stage", sample(t, "api-list-accounts.json", map[string]string{"stage": "mqa", "domain": "acme.io"}, nil), "domain"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			resp := e.do(t, c.req)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d %s, want 400", resp.StatusCode, resp.Body)
			}
			if got := fields(decodeError(t, resp).Details); len(got) == 0 || got[0] != c.field {
				t.Errorf("details name %v, want %s", got, c.field)
			}
		})
	}

	t.Run("by id, 404 for none", func(t *testing.T) {
		if resp := e.do(t, sample(t, "api-get-account.json", nil, map[string]string{"account_id": "nobody"})); resp.StatusCode != http.StatusNotFound {
			t.Errorf("status %d, want 404", resp.StatusCode)
		}
		resp := e.do(t, sample(t, "api-get-account.json", nil, map[string]string{"account_id": "sf-1"}))
		var v leadscore.AccountView
		if err := json.Unmarshal([]byte(resp.Body), &v); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d %s: %v", resp.StatusCode, resp.Body, err)
		}
		if v.AccountID != "sf-1" || v.Stage != scoring.AccountStageMQA || len(v.Leads) != 1 || v.Leads[0].Email != "ada@acme.io" ||
			v.Score.Engagement != 10 || v.LeadCount != 1 || v.StageHistory == nil {
			t.Errorf("account %+v", v)
		}
	})
	t.Run("by domain", func(t *testing.T) {
		resp := e.do(t, sample(t, "api-get-account-by-domain.json", map[string]string{"domain": "ACME.io"}, nil))
		var v leadscore.AccountView
		if err := json.Unmarshal([]byte(resp.Body), &v); err != nil || resp.StatusCode != http.StatusOK || v.AccountID != acme {
			t.Fatalf("status %d %s, want account %s", resp.StatusCode, resp.Body, acme)
		}
	})
	t.Run("by stage, highest engagement first, a page at a time", func(t *testing.T) {
		var got []string
		cursor := ""
		for range 3 {
			q := map[string]string{"stage": "mqa", "limit": "2"}
			if cursor != "" {
				q["cursor"] = cursor
			}
			resp := e.do(t, sample(t, "api-list-accounts.json", q, nil))
			var page AccountsPage
			if err := json.Unmarshal([]byte(resp.Body), &page); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d %s: %v", resp.StatusCode, resp.Body, err)
			}
			for _, a := range page.Accounts {
				got = append(got, a.AccountID)
			}
			if page.Cursor == nil {
				break
			}
			cursor = *page.Cursor
		}
		want := []string{acme, "sf-2", "sf-1"}
		if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Errorf("mqa accounts %v, want %v", got, want)
		}
	})
}

// reversedAccountPages answers an account listing with each page of the
// store's in reverse, as the stage index may order accounts within an
// engagement band.
type reversedAccountPages struct{ leadscore.AccountReader }

func (r reversedAccountPages) AccountsByStage(ctx context.Context, stage scoring.AccountStage, limit int, cursor string) ([]*leadscore.Account, string, error) {
	accounts, next, err := r.AccountReader.AccountsByStage(ctx, stage, limit, cursor)
	slices.Reverse(accounts)
	return accounts, next, err
}

// TestAccountPageIsInExactEngagementOrder: whatever order the store gives
// within a page, the API answers it highest engagement first.
func TestAccountPageIsInExactEngagementOrder(t *testing.T) {
	e := newEnv(t)
	for i, engagement := range []float64{60, 70, 65} {
		seedAccount(t, e, fmt.Sprintf("co-%d", i), scoring.AccountStageMQA, engagement)
	}
	e.opts.Accounts = reversedAccountPages{e.opts.Accounts}
	h, err := New(e.opts)
	if err != nil {
		t.Fatal(err)
	}
	e.h = h
	resp := e.do(t, sample(t, "api-list-accounts.json", map[string]string{"stage": "mqa", "limit": "10"}, nil))
	var p AccountsPage
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(resp.Body), &p) != nil || len(p.Accounts) != 3 {
		t.Fatalf("listing: %d %s, want 3 mqa accounts", resp.StatusCode, resp.Body)
	}
	var got []float64
	for _, a := range p.Accounts {
		got = append(got, a.Score.Engagement)
	}
	if want := []float64{70, 65, 60}; !slices.Equal(got, want) {
		t.Errorf("page engagement order %v, want %v", got, want)
	}
}
