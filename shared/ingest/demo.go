package ingest

import (
	"context"
	"html/template"
	"net/http"
	"strings"

	"github.com/leadscore/leadscore/shared/httpapi"
)

// demoPage serves a small page to try the product from a browser: a
// pretend marketing site running the browser tracker with a local site key
// (the first site whose origins include this page's), and the demo form
// "contact". It carries no API key; it is served only in local mode.
func (h *Handler) demoPage(_ context.Context, c *httpapi.Call) httpapi.Response {
	if !h.local {
		return notFound()
	}
	origin := "http://" + httpapi.Header(c.Req, "host")
	var siteKey string
	for _, s := range h.sites {
		if s.AllowsOrigin(origin) {
			siteKey = s.Key
			break
		}
	}
	var b strings.Builder
	if err := demoTemplate.Execute(&b, struct{ SiteKey string }{siteKey}); err != nil {
		return httpapi.ErrorResponse(httpapi.Internal())
	}
	r := httpapi.HTML(http.StatusOK, b.String())
	// The page loads the tracker from this same API and runs a small
	// inline script; it posts only to this API.
	r.Headers["content-security-policy"] = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; form-action 'self'"
	return r
}

var demoTemplate = template.Must(template.New("demo").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme Analytics (leadscore demo)</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.45}
nav a{margin-right:1rem} label{display:block;margin:.4rem 0} input,select{width:100%;padding:.3rem}
.hp{position:absolute;left:-10000px} pre{background:#f4f4f4;padding:.7rem;overflow:auto;font-size:.85rem}
button{padding:.4rem .9rem;margin-top:.6rem} .note{color:#555;font-size:.9rem}
</style>
{{if .SiteKey}}<script async src="/v1/t.js" data-site="{{.SiteKey}}"></script>{{end}}
</head>
<body>
<h1>Acme Analytics</h1>
<p class="note">A pretend marketing site wired to your local leadscore stack with the browser tracker
(<code>/v1/t.js</code>, site key <code>{{.SiteKey}}</code>): every "page" below is a page view sent when you
move on or leave, with the seconds you spent on it; the form posts to <code>/v1/forms/contact</code> and the
tracker adds your anonymous id to it, so the lead it creates inherits your visits.</p>
{{if not .SiteKey}}<p class="note"><strong>No site in SITES allows this page's origin: the tracker is off.</strong></p>{{end}}
<nav>
  <a href="/pricing" data-page>Pricing</a>
  <a href="/careers" data-page>Careers</a>
  <a href="/ebooks/buyers-guide.pdf" data-download="buyers-guide" data-stage="bottom">Download the buyer's guide (ebook)</a>
  <a href="#contact">Request a demo</a>
</nav>
<p id="where" class="note"></p>

<h2 id="contact">Contact us</h2>
<p class="note">Sending this form is a <code>contact_request</code>, a hand-raise. Try a VP Marketing at a
500-4999 person software company in the United States: with the default rules that is a fit of 50 and an instant
MQL, and the <code>make run</code> terminal prints the signed <code>lead.mql</code> webhook sales would receive.</p>
<form method="post" action="/v1/forms/contact">
  <label>Work email <input type="email" name="email" required autocomplete="email"></label>
  <label>First name <input name="first_name" autocomplete="given-name"></label>
  <label>Last name <input name="last_name" autocomplete="family-name"></label>
  <label>Company <input name="company" autocomplete="organization"></label>
  <label>Job title <input name="job_title" placeholder="e.g. VP Marketing"></label>
  <label>Company size <select name="company_size">
    <option value="">choose</option><option value="10">1-49</option><option value="200">50-499</option>
    <option value="1000">500-4999</option><option value="10000">5000+</option></select></label>
  <label>Industry <select name="industry">
    <option value="">choose</option><option value="software">Software</option><option value="financial services">Financial services</option>
    <option value="retail">Retail</option><option value="manufacturing">Manufacturing</option><option value="education">Education</option>
    <option value="other">Other</option></select></label>
  <label>Country <select name="country">
    <option value="">choose</option><option value="US">United States</option><option value="GB">United Kingdom</option>
    <option value="DE">Germany</option><option value="FR">France</option><option value="CA">Canada</option><option value="IN">India</option>
    <option value="BR">Brazil</option></select></label>
  <input type="hidden" name="_redirect" id="redirect">
  <label class="hp" aria-hidden="true">Leave empty <input name="_hp" tabindex="-1" autocomplete="off"></label>
  <button type="submit">Send</button>
</form>

<h2>Your lead</h2>
<p class="note">Scoring runs asynchronously; after sending the form, look yourself up with the API key
(<code>make run</code> prints it):</p>
<pre id="lookup">curl -H "x-api-key: $API_KEY" "http://127.0.0.1:3000/v1/leads?email=you@example.com"</pre>

<script>
// The demo is one page: "visiting" Pricing changes the path the way a
// single-page app does, which the tracker counts as a new page view.
document.getElementById("redirect").value = location.origin + "/?submitted=1";
const where = document.getElementById("where");
document.querySelectorAll("[data-page]").forEach(a => a.addEventListener("click", e => {
  e.preventDefault();
  history.pushState({}, "", a.getAttribute("href"));
  where.textContent = "You are on " + location.pathname + " (a page view is sent when you move on).";
}));
document.querySelectorAll("[data-download]").forEach(a => a.addEventListener("click", e => {
  e.preventDefault();
  if (window.leadscore && leadscore.track) {
    leadscore.track("content_download", {url: a.getAttribute("href"), asset_id: a.dataset.download, funnel_stage: a.dataset.stage});
  }
  where.textContent = "Downloaded " + a.getAttribute("href") + " (a content_download was sent).";
}));
document.querySelector("form").addEventListener("submit", e => {
  const email = e.target.email.value;
  sessionStorage.setItem("ls_email", email);
});
const email = sessionStorage.getItem("ls_email");
if (email) {
  document.getElementById("lookup").textContent =
    'curl -H "x-api-key: $API_KEY" "' + location.origin + "/v1/leads?email=" + encodeURIComponent(email) + '"';
}
if (new URLSearchParams(location.search).has("submitted")) {
  where.textContent = "Thanks! Form received; look yourself up below.";
}
</script>
</body></html>
`))
