package config

import (
	"strings"
	"testing"
)

const (
	testWriteKey  = "wk_test_0123456789ab"
	testWriteKey2 = "wk_test_rotated_0001"
	testSiteKey   = "pk_test_0123456789ab"
)

func TestLoadSourcesReadsValues(t *testing.T) {
	s, err := LoadSources(env(map[string]string{
		EnvAPIKey:               "admin-key-000000000001",
		EnvWriteKeys:            " " + testWriteKey + " ," + testWriteKey2,
		EnvSites:                `{"www":{"key":"` + testSiteKey + `","allowed_origins":["https://www.example.com","http://localhost:*"],"consent_required":true}}`,
		EnvSegmentWebhookSecret: "whsec",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.WriteKeys) != 2 || s.WriteKeys[0] != testWriteKey || s.WriteKeys[1] != testWriteKey2 {
		t.Errorf("WriteKeys = %q", s.WriteKeys)
	}
	www, ok := s.Sites["www"]
	if !ok || !www.ConsentRequired || www.Key != testSiteKey {
		t.Errorf("Sites = %+v", s.Sites)
	}
	if !www.AllowsOrigin("http://localhost:5173") || www.AllowsOrigin("https://evil.example.com") {
		t.Error("site origin check is wrong")
	}
	if s.SegmentWebhookSecret != "whsec" {
		t.Errorf("secret = %q", s.SegmentWebhookSecret)
	}
	if name, ok := NewSiteKeys(s.Sites).Find(testSiteKey); !ok || name != "www" {
		t.Errorf("Find(site key) = %q, %v", name, ok)
	}
	if _, ok := NewSiteKeys(s.Sites).Find(testWriteKey); ok {
		t.Error("a write key was found as a site key")
	}
}

func TestLoadSourcesAllOptional(t *testing.T) {
	s, err := LoadSources(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.WriteKeys) != 0 || len(s.Sites) != 0 {
		t.Errorf("nothing set, yet %+v", s)
	}
	if _, ok := NewSiteKeys(s.Sites).Find(""); ok {
		t.Error("an empty site key was found")
	}
}

func TestLoadSourcesProblems(t *testing.T) {
	site := func(key, origins string) string {
		return `{"www":{"key":"` + key + `","allowed_origins":` + origins + `}}`
	}
	tests := []struct {
		name string
		vars map[string]string
		want []string
	}{
		{"short write key", map[string]string{EnvWriteKeys: "short"}, []string{"WRITE_KEYS: key 1 of 1 is shorter than 16"}},
		{"stray comma", map[string]string{EnvWriteKeys: testWriteKey + ","}, []string{"WRITE_KEYS: key 2 of 2 is empty"}},
		{"colon", map[string]string{EnvWriteKeys: "wk_test:0123456789ab"}, []string{"WRITE_KEYS: key 1 of 1 holds a space, comma, colon"}},
		{"write key is the api key", map[string]string{EnvAPIKey: testWriteKey, EnvWriteKeys: testWriteKey}, []string{"WRITE_KEYS: key 1 is the API_KEY"}},
		{"not json", map[string]string{EnvSites: `{"www":`}, []string{"SITES is not valid site settings JSON"}},
		{"unknown field", map[string]string{EnvSites: `{"www":{"key":"` + testSiteKey + `","allowed_origin":[]}}`}, []string{"SITES is not valid", "allowed_origin"}},
		{"two values", map[string]string{EnvSites: site(testSiteKey, `["https://a.example"]`) + "{}"}, []string{"SITES holds more than one JSON value"}},
		{"short site key", map[string]string{EnvSites: site("pk_1", `["https://a.example"]`)}, []string{`SITES: site "www": key is shorter than 16`}},
		{"no origins", map[string]string{EnvSites: site(testSiteKey, `[]`)}, []string{`SITES: site "www": allowed_origins is empty`}},
		{"origin with path", map[string]string{EnvSites: site(testSiteKey, `["https://a.example/shop"]`)}, []string{`allowed_origins[0] must be an origin, without a path`}},
		{"origin without scheme", map[string]string{EnvSites: site(testSiteKey, `["a.example"]`)}, []string{`allowed_origins[0] must start with http:// or https://`}},
		{"site key is the api key", map[string]string{EnvAPIKey: testSiteKey, EnvSites: site(testSiteKey, `["https://a.example"]`)}, []string{`SITES: site "www"'s key is the API_KEY`}},
		{"site key is a write key", map[string]string{EnvWriteKeys: testSiteKey, EnvSites: site(testSiteKey, `["https://a.example"]`)}, []string{`SITES: site "www"'s key is also in WRITE_KEYS`}},
		{"two sites one key", map[string]string{EnvSites: `{"a":{"key":"` + testSiteKey + `","allowed_origins":["https://a.example"]},"b":{"key":"` + testSiteKey + `","allowed_origins":["https://b.example"]}}`}, []string{`SITES: sites "a" and "b" have the same key`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadSources(env(tt.vars))
			if err == nil {
				t.Fatal("LoadSources succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			for _, secret := range []string{testWriteKey, testSiteKey, "wk_test:0123456789ab"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q quotes a key", err)
				}
			}
		})
	}
}

// FuzzParseSites: the SITES variable never panics the cold start; what it
// accepts has a usable key and at least one well-formed origin per site.
func FuzzParseSites(f *testing.F) {
	f.Add(`{"www":{"key":"pk_test_0123456789ab","allowed_origins":["https://www.example.com"],"consent_required":true}}`)
	f.Add(`{"local":{"key":"pk_local_demo_site_key","allowed_origins":["http://localhost:*","http://127.0.0.1:*"]}}`)
	f.Add(`{"":{"key":"pk_test_0123456789ab","allowed_origins":["https://x.example"]}}`)
	f.Add(`{"a":{"key":"pk_test_0123456789ab","allowed_origins":["https://[::1]:*"]}} {}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, raw string) {
		sites, err := ParseSites(raw)
		if err != nil {
			if !strings.Contains(err.Error(), EnvSites) {
				t.Fatalf("error %q does not name %s", err, EnvSites)
			}
			return
		}
		for name, s := range sites {
			if badKey(s.Key) != "" || len(s.AllowedOrigins) == 0 {
				t.Fatalf("site %q accepted with key problem %q or no origins", name, badKey(s.Key))
			}
			for _, o := range s.AllowedOrigins {
				if badOrigin(o) != "" {
					t.Fatalf("site %q accepted with origin %q: %s", name, o, badOrigin(o))
				}
				s.AllowsOrigin(o)
			}
			if got, ok := NewSiteKeys(sites).Find(s.Key); !ok || sites[got].Key != s.Key {
				t.Fatalf("site %q's key finds %q", name, got)
			}
		}
	})
}
