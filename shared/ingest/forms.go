package ingest

import (
	"context"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/leadscore/leadscore/shared/config"
	"github.com/leadscore/leadscore/shared/httpapi"
	"github.com/leadscore/leadscore/shared/leadscore"
	"github.com/leadscore/leadscore/shared/scoring"
)

// Form fields with a meaning of their own (docs/api.md "Form posts map
// fields by name"); every other field becomes a property.
const (
	fieldEmail       = "email"
	fieldAnonymousID = "anonymous_id"
	fieldRedirect    = "_redirect"
	fieldHoneypot    = "_hp"
)

// formLeadFields are the form fields that fill the event's lead object.
// annual_revenue is an addition to docs/api.md's list: it is a lead
// attribute of the Event, and a form asking for it means it as one.
var formLeadFields = map[string]bool{"first_name": true, "last_name": true, "company": true, "job_title": true,
	"company_size": true, "industry": true, "country": true, "phone": true, "annual_revenue": true}

// formRequest is a decoded form post before validation.
type formRequest struct {
	raw      map[string]any // shaped like a JSON event, for the shared normalizer
	redirect string
	spam     bool
}

// formFields turns form values into the raw event shape. Empty fields are
// left out: a browser sends every input, filled or not.
func formFields(v *formValues, formID string, form config.Form) formRequest {
	lead := map[string]any{}
	props := map[string]any{}
	raw := map[string]any{"type": form.Type}
	var fr formRequest
	for _, name := range v.names {
		val := v.values[name]
		switch {
		case name == fieldHoneypot:
			fr.spam = strings.TrimSpace(val) != ""
		case name == fieldRedirect:
			fr.redirect = strings.TrimSpace(val)
		case strings.TrimSpace(val) == "":
		case name == fieldEmail || name == fieldAnonymousID:
			raw[name] = val
		case formLeadFields[name]:
			lead[name] = val
		default:
			props[name] = val
		}
	}
	// The path names the form, and the configuration its funnel stage,
	// whatever the page sent.
	props["form_id"] = formID
	if form.FunnelStage != "" {
		props["funnel_stage"] = form.FunnelStage
	}
	if len(lead) > 0 {
		raw["lead"] = lead
	}
	raw["properties"] = props
	fr.raw = raw
	return fr
}

// requestOrigin is the browser's Origin, or the origin of the Referer for
// the few browsers that leave Origin off a form post.
func requestOrigin(req *httpapi.Request) string {
	if o := httpapi.Header(req, "origin"); o != "" {
		return o
	}
	if ref := httpapi.Header(req, "referer"); ref != "" {
		if u, err := url.Parse(ref); err == nil && u.Scheme != "" && u.Host != "" {
			return u.Scheme + "://" + u.Host
		}
	}
	return ""
}

func wantsHTML(req *httpapi.Request) bool {
	return strings.Contains(strings.ToLower(httpapi.Header(req, "accept")), "text/html")
}

func (h *Handler) postForm(ctx context.Context, c *httpapi.Call) httpapi.Response {
	req := c.Req
	htmlWanted := wantsHTML(req)
	fail := func(e *httpapi.Error) httpapi.Response {
		if htmlWanted {
			return httpapi.HTML(e.Status, errorPage(e))
		}
		return httpapi.ErrorResponse(e)
	}
	formID := c.Params["form_id"]
	form, ok := h.forms[formID]
	if !ok {
		return fail(httpapi.Errorf(http.StatusNotFound, httpapi.CodeNotFound, "no such form", httpapi.Detail{Field: "form_id", Message: "is not a configured form"}))
	}
	origin := requestOrigin(req)
	// A post without any origin is not from a browser page; the allowed
	// origins guard against other sites' pages, which a browser always
	// labels. "null" (sandboxed frames, file:// pages) is never allowed.
	if origin != "" && !form.AllowsOrigin(origin) {
		return fail(httpapi.Errorf(http.StatusForbidden, httpapi.CodeOriginNotAllowed, "this form does not accept posts from this origin",
			httpapi.Detail{Field: "origin", Message: "is not an allowed origin of form " + formID}))
	}
	cors := map[string]string{}
	if origin != "" {
		cors["access-control-allow-origin"] = origin
		cors["vary"] = "Origin"
	}
	fr, e := h.prepareForm(ctx, req, formID, form, c.Log)
	if e != nil {
		if e.Status == http.StatusBadRequest {
			h.metrics.Count(MetricEventsRejected, 1)
		}
		return httpapi.WithHeaders(fail(e), cors)
	}
	var accepted *AcceptedBody
	if fr.spam {
		// Answered exactly like a real submission, so a bot learns nothing.
		h.metrics.Count(MetricFormSpamDropped, 1)
		a := fakeAccepted()
		if len(fr.b.msgs) == 1 {
			a = Accepted{EventID: fr.b.msgs[0].Event.EventID, LeadID: fr.b.msgs[0].LeadID}
		}
		accepted = &AcceptedBody{Accepted: []Accepted{a}}
	} else {
		accepted, e = h.enqueue(ctx, fr.b, c)
		if e != nil {
			return httpapi.WithHeaders(fail(e), cors)
		}
	}
	if !htmlWanted {
		return httpapi.WithHeaders(httpapi.JSON(http.StatusAccepted, accepted), cors)
	}
	if target, ok := safeRedirect(form, fr.redirect); ok {
		return redirect(target)
	}
	if form.ThankYouURL != "" {
		return redirect(form.ThankYouURL)
	}
	return httpapi.HTML(http.StatusOK, confirmationPage)
}

// preparedForm is a validated form post.
type preparedForm struct {
	b        *batch
	redirect string
	spam     bool
}

func (h *Handler) prepareForm(ctx context.Context, req *httpapi.Request, formID string, form config.Form, log *slog.Logger) (*preparedForm, *httpapi.Error) {
	b, e := httpapi.Body(req, MaxFormBodyBytes)
	if e != nil {
		return nil, e
	}
	mt, params := httpapi.MediaType(req)
	vals, e := decodeForm(mt, params, b)
	if e != nil {
		return nil, e
	}
	fr := formFields(vals, formID, form)
	rules := h.currentRules(ctx, false, log)
	if !rules.KnownEventType(form.Type) {
		rules = h.currentRules(ctx, true, log)
	}
	if !rules.KnownEventType(form.Type) {
		log.Error("form configured with an event type the rules do not know", "form_id", formID, "type", form.Type)
		return nil, httpapi.Errorf(http.StatusInternalServerError, httpapi.CodeFormMisconfigured, "this form is misconfigured; its owner has been told")
	}
	n := normalizer{now: h.now().UTC(), rules: rules, form: true}
	ev, _ := n.event("", fr.raw)
	if len(n.details) > 0 {
		if fr.spam {
			// A bot's junk is not worth a 400 that tells it what to fix.
			return &preparedForm{b: dedupe(nil, nil, rules), spam: true}, nil
		}
		return nil, httpapi.Errorf(http.StatusBadRequest, httpapi.CodeInvalidRequest,
			fmt.Sprintf("the form has %d problem(s); nothing was accepted", len(n.details)), n.details...)
	}
	return &preparedForm{b: dedupe([]scoring.Event{ev}, []string{""}, rules), redirect: fr.redirect, spam: fr.spam}, nil
}

// safeRedirect returns the _redirect target when it is an absolute http(s)
// URL on one of the form's allowed origins (no open redirect).
func safeRedirect(form config.Form, target string) (string, bool) {
	if target == "" || len(target) > leadscore.MaxPropertyLen {
		return "", false
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Opaque != "" {
		return "", false
	}
	if !form.AllowsOrigin(u.Scheme + "://" + u.Host) {
		return "", false
	}
	return u.String(), true
}

func redirect(target string) httpapi.Response {
	return httpapi.Response{
		StatusCode: http.StatusSeeOther,
		Headers:    map[string]string{"location": target, "cache-control": "no-store", "content-type": "text/html; charset=utf-8"},
		Body:       `<!doctype html><title>Thank you</title><a href="` + html.EscapeString(target) + `">Continue</a>`,
	}
}

// preflightForm answers a browser's CORS preflight for a script posting a
// form with fetch: allowed origins get the headers, others nothing.
func (h *Handler) preflightForm(_ context.Context, c *httpapi.Call) httpapi.Response {
	req, params := c.Req, c.Params
	form, ok := h.forms[params["form_id"]]
	if !ok {
		return httpapi.ErrorResponse(httpapi.Errorf(http.StatusNotFound, httpapi.CodeNotFound, "no such form", httpapi.Detail{Field: "form_id", Message: "is not a configured form"}))
	}
	origin := httpapi.Header(req, "origin")
	if origin == "" || !form.AllowsOrigin(origin) {
		return httpapi.ErrorResponse(httpapi.Errorf(http.StatusForbidden, httpapi.CodeOriginNotAllowed, "this form does not accept posts from this origin",
			httpapi.Detail{Field: "origin", Message: "is not an allowed origin of form " + params["form_id"]}))
	}
	return httpapi.Response{StatusCode: http.StatusNoContent, Headers: map[string]string{
		"access-control-allow-origin":  origin,
		"access-control-allow-methods": "POST, OPTIONS",
		"access-control-allow-headers": "content-type, accept",
		"access-control-max-age":       "600",
		"vary":                         "Origin",
	}}
}

const confirmationPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Thank you</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem}</style></head>
<body><h1>Thank you</h1><p>We received your submission.</p></body></html>
`

func errorPage(e *httpapi.Error) string {
	var b strings.Builder
	b.WriteString(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>We could not accept this</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem}</style></head><body>
<h1>We could not accept this</h1><p>`)
	b.WriteString(html.EscapeString(e.Message))
	b.WriteString("</p>")
	if len(e.Details) > 0 {
		b.WriteString("<ul>")
		for _, d := range e.Details {
			fmt.Fprintf(&b, "<li><b>%s</b>: %s</li>", html.EscapeString(d.Field), html.EscapeString(d.Message))
		}
		b.WriteString("</ul>")
	}
	b.WriteString("<p>Please go back and try again.</p></body></html>\n")
	return b.String()
}

// fakeAccepted is what a dropped spam post is told: ids shaped like real ones.
func fakeAccepted() Accepted {
	id := NewEventID()
	return Accepted{EventID: id, LeadID: leadscore.VisitorID(id)}
}
