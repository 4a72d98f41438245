package config

import (
	"strings"
	"testing"
)

// FuzzParseForms: the FORMS variable never panics the cold start; what it
// accepts has a type for every form, and origin checks on it never panic.
func FuzzParseForms(f *testing.F) {
	f.Add(`{"contact":{"type":"form_submit","allowed_origins":["http://localhost:*","http://127.0.0.1:*"]}}`)
	f.Add(`{"ebook":{"type":"content_download","funnel_stage":"top","allowed_origins":["https://www.example.com"],"thank_you_url":"https://www.example.com/thanks"}}`)
	f.Add(`{}`)
	f.Add(`{"x":{"allowed_origins":null}}`)
	f.Add(`{"x":{"tpye":"form_submit"}}`)
	f.Add(`[1,2]`)
	f.Add(`{"a":{"allowed_origins":[":*","*","http://[::1]:*"]}} trailing`)
	f.Fuzz(func(t *testing.T, raw string) {
		forms, err := ParseForms(raw)
		if err != nil {
			if !strings.Contains(err.Error(), EnvForms) {
				t.Fatalf("error %q does not name %s", err, EnvForms)
			}
			return
		}
		for id, form := range forms {
			if form.Type == "" {
				t.Fatalf("form %q accepted without a type", id)
			}
			for _, o := range append(form.AllowedOrigins, "http://localhost:3000", "null", "", "http://[::1]:1") {
				form.AllowsOrigin(o)
			}
		}
	})
}
