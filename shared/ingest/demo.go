package ingest

import (
	"context"
	"html/template"
	"net/http"
	"strings"

	"github.com/leadscore/leadscore/shared/httpapi"
)

// demoPage serves a small page to try the product from a browser: the demo
// form "contact" and a few tracked links. It embeds the API key so its
// links can post events, which is why it is served only in local mode.
func (h *Handler) demoPage(context.Context, *httpapi.Call) httpapi.Response {
	if !h.local {
		return notFound()
	}
	var b strings.Builder
	if err := demoTemplate.Execute(&b, struct{ APIKey string }{h.apiKey}); err != nil {
		return httpapi.ErrorResponse(httpapi.Internal())
	}
	r := httpapi.HTML(http.StatusOK, b.String())
	// The page runs its own inline script and calls this same API.
	r.Headers["content-security-policy"] = "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; form-action 'self'"
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
</style></head>
<body>
<h1>Acme Analytics</h1>
<p class="note">A pretend marketing site wired to your local leadscore stack. Every click below is an event
posted to <code>/v1/events</code>; the form posts to <code>/v1/forms/contact</code>. This page is served only in
local mode because it carries the API key.</p>
<nav>
  <a href="#" data-track="page_view" data-url="/pricing">Pricing</a>
  <a href="#" data-track="page_view" data-url="/careers">Careers</a>
  <a href="#" data-track="content_download" data-url="/ebooks/buyers-guide.pdf" data-asset="buyers-guide" data-stage="bottom">Download the buyer's guide (ebook)</a>
  <a href="#" data-track="demo_request" data-url="/demo">Request a demo</a>
</nav>
<p id="tracked" class="note"></p>

<h2>Contact us</h2>
<form method="post" action="/v1/forms/contact" id="contact">
  <label>Work email <input type="email" name="email" required autocomplete="email"></label>
  <label>First name <input name="first_name" autocomplete="given-name"></label>
  <label>Last name <input name="last_name" autocomplete="family-name"></label>
  <label>Company <input name="company" autocomplete="organization"></label>
  <label>Job title <input name="job_title" placeholder="e.g. VP Marketing"></label>
  <label>Company size <select name="company_size">
    <option value="">choose</option><option value="10">1-49</option><option value="200">50-499</option>
    <option value="1000">500-4999</option><option value="10000">5000+</option></select></label>
  <input type="hidden" name="anonymous_id" id="anon">
  <input type="hidden" name="_redirect" id="redirect">
  <label class="hp" aria-hidden="true">Leave empty <input name="_hp" tabindex="-1" autocomplete="off"></label>
  <button type="submit">Send</button>
</form>

<h2>Your lead</h2>
<p class="note">After sending the form, look yourself up (scoring runs asynchronously, give it a second).</p>
<button id="lookup">Show my score</button>
<pre id="lead">(nothing yet)</pre>

<script>
const apiKey = {{.APIKey}};
function anonId() {
  const m = document.cookie.match(/(?:^|; )ls_anon=([^;]+)/);
  if (m) return m[1];
  const id = "anon-" + crypto.randomUUID();
  document.cookie = "ls_anon=" + id + "; path=/; max-age=31536000; samesite=lax";
  return id;
}
const anon = anonId();
document.getElementById("anon").value = anon;
document.getElementById("redirect").value = location.origin + "/?submitted=1";
const form = document.getElementById("contact");
form.addEventListener("submit", () => sessionStorage.setItem("ls_email", form.email.value));

async function track(a) {
  const ev = {type: a.dataset.track, anonymous_id: anon, properties: {url: a.dataset.url}};
  const email = sessionStorage.getItem("ls_email");
  if (email) ev.email = email;
  if (a.dataset.asset) ev.properties.asset_id = a.dataset.asset;
  if (a.dataset.stage) ev.properties.funnel_stage = a.dataset.stage;
  const r = await fetch("/v1/events", {method: "POST",
    headers: {"content-type": "application/json", "x-api-key": apiKey}, body: JSON.stringify(ev)});
  document.getElementById("tracked").textContent = ev.type + " " + ev.properties.url + ": HTTP " + r.status;
}
document.querySelectorAll("[data-track]").forEach(a => a.addEventListener("click", e => { e.preventDefault(); track(a); }));

document.getElementById("lookup").addEventListener("click", async () => {
  const email = sessionStorage.getItem("ls_email");
  const out = document.getElementById("lead");
  if (!email) { out.textContent = "Send the form first."; return; }
  const r = await fetch("/v1/leads?email=" + encodeURIComponent(email), {headers: {"x-api-key": apiKey}});
  const body = await r.json();
  out.textContent = r.ok
    ? "stage: " + body.stage + "\nscore: " + JSON.stringify(body.score) + "\nbreakdown:\n" +
      body.breakdown.map(c => "  " + c.rule + ": " + c.points).join("\n")
    : "HTTP " + r.status + ": " + body.message;
});
if (new URLSearchParams(location.search).has("submitted")) {
  document.getElementById("lead").textContent = "Thanks! Form received. Click \"Show my score\".";
}
</script>
</body></html>
`))
