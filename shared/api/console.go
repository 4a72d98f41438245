package api

import (
	"context"
	"net/http"

	"github.com/leadscore/leadscore/shared/console"
	"github.com/leadscore/leadscore/shared/httpapi"
)

// Route keys of the console (docs/api.md "Accounts, preview, console").
const (
	ConsoleRouteKey      = "GET /console"
	ConsoleAssetRouteKey = "GET /console/{asset+}"
)

// getConsole serves the marketer console: the page at /console, its
// scripts and stylesheet at /console/<asset>. Both are public: they hold no
// data, and the page asks for the API key before it calls any route. Each
// answer carries the console's CSP and an ETag; a matching If-None-Match
// gets a bodiless 304.
func (h *Handler) getConsole(_ context.Context, c *httpapi.Call) httpapi.Response {
	f, ok := console.Asset(c.Params["asset"])
	if !ok {
		return httpapi.ErrorResponse(httpapi.Errorf(http.StatusNotFound, httpapi.CodeNotFound, "no such console file"))
	}
	headers := console.Headers(f)
	if console.NotModified(f, httpapi.Header(c.Req, "if-none-match")) {
		return httpapi.Response{StatusCode: http.StatusNotModified, Headers: headers}
	}
	return httpapi.Response{StatusCode: http.StatusOK, Headers: headers, Body: string(f.Body)}
}
