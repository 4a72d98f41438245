package api

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/leadscore/leadscore/shared/httpapi"
)

func TestPutRulesReportsEveryProblem(t *testing.T) {
	tests := []struct {
		name        string
		body        string
		contentType string
		wantStatus  int
		wantCode    string
		wantFields  []string
	}{
		{name: "two bad rules", contentType: "application/yaml",
			body:       "fit:\n  - id: Bad Id\n    field: job_title\n    match: {regex: \"(\"}\n    points: 5\n  - id: ok\n    field: company_size\n    match: {gte: lots}\n    points: x\n",
			wantStatus: 400, wantCode: httpapi.CodeInvalidRules, wantFields: []string{"fit[0].id", "fit[0].match.regex", "fit[1].match.gte", "fit[1].points"}},
		{name: "not YAML at all", contentType: "application/json", body: "{\"fit\": [", wantStatus: 400, wantCode: httpapi.CodeInvalidRules,
			wantFields: []string{"(document)"}},
		{name: "empty", contentType: "application/json", body: "", wantStatus: 400, wantCode: httpapi.CodeInvalidRules},
		{name: "wrong content type", contentType: "text/plain", body: "fit: []\n", wantStatus: 415, wantCode: httpapi.CodeUnsupportedMedia},
		// JSON rules are read as strictly as every JSON body (strictjson);
		// the YAML parser already refused a duplicate key, not a NUL.
		{name: "JSON with a NUL", contentType: "application/json",
			body:       `{"fit":[{"id":"t","description":"a\u0000b","field":"job_title","match":{"exists":true},"points":5}],"mql":{"fit_min":10,"engagement_min":10}}`,
			wantStatus: 400, wantCode: httpapi.CodeInvalidRules, wantFields: []string{"fit[0].description"}},
		{name: "JSON with a duplicate key", contentType: "application/json",
			body:       `{"fit":[{"id":"t","field":"job_title","match":{"exists":true},"points":5,"points":50}]}`,
			wantStatus: 400, wantCode: httpapi.CodeInvalidRules, wantFields: []string{"fit[0].points"}},
		{name: "over 256 KiB", contentType: "application/yaml", body: "# " + strings.Repeat("x", MaxRulesBodyBytes), wantStatus: 413, wantCode: httpapi.CodePayloadTooLarge},
	}
	e := newEnv(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := withHeader(withBody(load(t, "put-rules.json"), tc.body, false), "content-type", tc.contentType)
			resp := e.do(t, req)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d body %s; want %d", resp.StatusCode, resp.Body, tc.wantStatus)
			}
			b := decodeError(t, resp)
			if b.Error != tc.wantCode {
				t.Errorf("code %q, want %q", b.Error, tc.wantCode)
			}
			for _, f := range tc.wantFields {
				if !slices.Contains(fields(b.Details), f) {
					t.Errorf("details %v lack %q (body %s)", fields(b.Details), f, resp.Body)
				}
			}
		})
	}
	if e.opts.Rules != nil {
		// Nothing was published: the current rules are still the defaults.
		resp := e.do(t, load(t, "get-rules.json"))
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, `"version":0`) {
			t.Errorf("after rejected PUTs, GET /v1/rules = %d %s; want version 0", resp.StatusCode, resp.Body)
		}
	}
}
