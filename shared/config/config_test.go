package config

import (
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadNamesEveryMissingVariable(t *testing.T) {
	_, err := Load(env(map[string]string{EnvTableName: "t"}), EnvTableName, EnvScoreQueueURL, EnvAPIKey)
	if err == nil {
		t.Fatal("Load succeeded with SCORE_QUEUE_URL and API_KEY unset")
	}
	for _, want := range []string{"API_KEY is not set", "SCORE_QUEUE_URL is not set"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), EnvTableName) {
		t.Errorf("error %q names TABLE_NAME, which is set", err)
	}
}

func TestLoadReadsValues(t *testing.T) {
	c, err := Load(env(map[string]string{
		EnvTableName: "leads", EnvAPIKey: "k", EnvLocal: "1",
		EnvForms: `{"contact":{"allowed_origins":["http://localhost:*"]}}`,
	}), EnvTableName)
	if err != nil {
		t.Fatal(err)
	}
	if c.TableName != "leads" || c.APIKey != "k" || !c.Local {
		t.Errorf("got %+v", c)
	}
	if got := c.Forms["contact"].Type; got != "form_submit" {
		t.Errorf("form type defaults to %q, want form_submit", got)
	}
}

func TestLoadRejectsMalformedForms(t *testing.T) {
	_, err := Load(env(map[string]string{EnvForms: `{"contact":{"allowed_origin":[]}}`}))
	if err == nil || !strings.Contains(err.Error(), "FORMS") {
		t.Fatalf("error %v does not name FORMS", err)
	}
}

func TestAllowsOrigin(t *testing.T) {
	f := Form{AllowedOrigins: []string{"https://www.example.com", "http://localhost:*"}}
	tests := []struct {
		origin string
		want   bool
	}{
		{"https://www.example.com", true},
		{"HTTPS://WWW.EXAMPLE.COM", true},
		{"https://www.example.com:8443", false},
		{"http://www.example.com", false},
		{"https://evil.example.com", false},
		{"http://localhost:3000", true},
		{"http://localhost", true},
		{"http://localhost.evil.com:3000", false},
		{"https://localhost:3000", false},
		{"null", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := f.AllowsOrigin(tt.origin); got != tt.want {
			t.Errorf("AllowsOrigin(%q) = %v, want %v", tt.origin, got, tt.want)
		}
	}
}
