// Package config reads the functions' configuration from the environment
// once, at cold start, and says exactly which variable is missing or wrong.
package config

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// The environment variables of docs/api.md "Configuration".
const (
	EnvTableName     = "TABLE_NAME"
	EnvScoreQueueURL = "SCORE_QUEUE_URL"
	// EnvUrgentScoreQueueURL is the queue for hand-raises; optional.
	EnvUrgentScoreQueueURL = "URGENT_SCORE_QUEUE_URL"
	// EnvAccountQueueURL is the queue of account evaluations; optional
	// (without it they ride the score queue).
	EnvAccountQueueURL   = "ACCOUNT_QUEUE_URL"
	EnvHandoffQueueURL   = "HANDOFF_QUEUE_URL"
	EnvAPIKey            = "API_KEY"
	EnvWebhookURLSales   = "WEBHOOK_URL_SALES"
	EnvWebhookURLNurture = "WEBHOOK_URL_NURTURE"
	EnvWebhookSecret     = "WEBHOOK_SECRET"
	EnvForms             = "FORMS"
	EnvLogLevel          = "LOG_LEVEL"
	// EnvFunctionName is set by Lambda itself.
	EnvFunctionName = "AWS_LAMBDA_FUNCTION_NAME"
	// EnvLocal is set to 1 by the local stack; it relaxes what only makes
	// sense in AWS (https-only webhooks, the demo page).
	EnvLocal = "LEADSCORE_LOCAL"
)

// Config is every setting a function may need; each function asks Load for
// the ones it requires.
type Config struct {
	TableName           string
	ScoreQueueURL       string
	UrgentScoreQueueURL string
	AccountQueueURL     string
	HandoffQueueURL     string
	APIKey              string
	WebhookURLSales     string
	WebhookURLNurture   string
	WebhookSecret       string
	LogLevel            string
	FunctionName        string
	Forms               map[string]Form
	Local               bool
}

// Form is one web form's settings, from the FORMS variable:
//
//	{"contact": {"type": "form_submit", "allowed_origins": ["https://www.example.com"]},
//	 "ebook":   {"type": "content_download", "funnel_stage": "top", "thank_you_url": "https://www.example.com/thanks"}}
type Form struct {
	Type           string   `json:"type"`
	FunnelStage    string   `json:"funnel_stage,omitempty"`
	AllowedOrigins []string `json:"allowed_origins"`
	ThankYouURL    string   `json:"thank_you_url,omitempty"`
}

// AllowsOrigin reports whether origin (scheme://host[:port], as browsers send
// it) is on the form's list. An entry ending in ":*" allows any port, so a
// local form can accept every localhost dev server.
func (f Form) AllowsOrigin(origin string) bool {
	return originAllowed(f.AllowedOrigins, origin)
}

// originAllowed is the one origin check of forms and sites.
func originAllowed(list []string, origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return false
	}
	for _, allowed := range list {
		if strings.EqualFold(allowed, origin) {
			return true
		}
		if base, ok := strings.CutSuffix(allowed, ":*"); ok {
			if strings.EqualFold(base, u.Scheme+"://"+u.Hostname()) {
				return true
			}
		}
	}
	return false
}

// Load reads the configuration through getenv (os.Getenv in a function, a
// map in tests). It fails naming every required variable that is empty, and
// any variable that is set but malformed.
func Load(getenv func(string) string, required ...string) (Config, error) {
	c := Config{
		TableName:           getenv(EnvTableName),
		ScoreQueueURL:       getenv(EnvScoreQueueURL),
		UrgentScoreQueueURL: getenv(EnvUrgentScoreQueueURL),
		AccountQueueURL:     getenv(EnvAccountQueueURL),
		HandoffQueueURL:     getenv(EnvHandoffQueueURL),
		APIKey:              getenv(EnvAPIKey),
		WebhookURLSales:     getenv(EnvWebhookURLSales),
		WebhookURLNurture:   getenv(EnvWebhookURLNurture),
		WebhookSecret:       getenv(EnvWebhookSecret),
		LogLevel:            getenv(EnvLogLevel),
		FunctionName:        getenv(EnvFunctionName),
		Local:               getenv(EnvLocal) == "1",
	}
	var problems []string
	for _, name := range required {
		if getenv(name) == "" {
			problems = append(problems, name+" is not set")
		}
	}
	if raw := getenv(EnvForms); raw != "" {
		forms, err := ParseForms(raw)
		if err != nil {
			problems = append(problems, err.Error())
		}
		c.Forms = forms
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return Config{}, fmt.Errorf("configuration: %s", strings.Join(problems, "; "))
	}
	return c, nil
}

// ParseForms decodes the FORMS variable.
func ParseForms(raw string) (map[string]Form, error) {
	var forms map[string]Form
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&forms); err != nil {
		return nil, fmt.Errorf("%s is not valid form settings JSON: %v", EnvForms, err)
	}
	for id, f := range forms {
		if f.Type == "" {
			f.Type = "form_submit"
			forms[id] = f
		}
	}
	return forms, nil
}
