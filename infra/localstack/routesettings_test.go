package main

import (
	"testing"

	"github.com/leadscore/leadscore/infra/template"
)

// TestTemplateThrottlesThePublicFormRouteHarder reads template.yaml itself:
// the public form route has its own, tighter limit, and the other routes keep
// the default, both as the local stack will enforce them.
func TestTemplateThrottlesThePublicFormRouteHarder(t *testing.T) {
	tm, err := template.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	def, perRoute, ok := throttleSettings(tm)
	if !ok {
		t.Fatal("template.yaml sets no API throttling")
	}
	form, found := perRoute["POST /v1/forms/{form_id}"]
	if !found {
		t.Fatalf("no route setting for the public form route; have %v", perRoute)
	}
	if form.rate >= def.rate || form.burst >= def.burst {
		t.Errorf("form route %+v is not tighter than the default %+v", form, def)
	}
	if _, found := perRoute["POST /v1/events"]; found {
		t.Errorf("POST /v1/events has its own setting; want the default %+v", def)
	}
}
