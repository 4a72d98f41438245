package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/leadscore/leadscore/infra/template"
)

// invoker is what the API needs of a function.
type invoker interface {
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
}

// route is a template route ready to match request paths.
type route struct {
	template.Route
	segments []string
}

// router matches requests to routes the way API Gateway HTTP APIs do: the
// most specific path wins (literal segments before {param}, {param} before
// {proxy+}), and a method-less match is a 404, not a 405.
type router struct {
	routes []route
}

func newRouter(rs []template.Route) *router {
	r := &router{}
	for _, rt := range rs {
		r.routes = append(r.routes, route{Route: rt, segments: splitPath(rt.Path)})
	}
	sort.SliceStable(r.routes, func(i, j int) bool {
		return specificity(r.routes[i].segments) > specificity(r.routes[j].segments)
	})
	return r
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// specificity ranks a path: more segments, then more literal ones.
func specificity(segs []string) int {
	score := len(segs) * 100
	for _, s := range segs {
		switch {
		case strings.HasSuffix(s, "+}"):
			score -= 50
		case strings.HasPrefix(s, "{"):
		default:
			score += 1
		}
	}
	return score
}

// match returns the route for method and path, and its path parameters.
// API Gateway matches the path as sent: a trailing slash or an empty
// segment ("/v1/events/", "//v1/events") makes a path no route has, a 404.
func (r *router) match(method, path string) (*route, map[string]string) {
	if !strings.HasPrefix(path, "/") || (path != "/" && (strings.HasSuffix(path, "/") || strings.Contains(path, "//"))) {
		return nil, nil
	}
	segs := splitPath(path)
	for i := range r.routes {
		rt := &r.routes[i]
		if rt.Method != method && rt.Method != "ANY" {
			continue
		}
		if params, ok := matchSegments(rt.segments, segs); ok {
			return rt, params
		}
	}
	return nil, nil
}

func matchSegments(pattern, segs []string) (map[string]string, bool) {
	params := map[string]string{}
	for i, p := range pattern {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "+}") {
			if i >= len(segs) {
				return nil, false
			}
			params[p[1:len(p)-2]] = strings.Join(segs[i:], "/")
			return params, true
		}
		if i >= len(segs) {
			return nil, false
		}
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			if segs[i] == "" {
				return nil, false
			}
			params[p[1:len(p)-1]] = segs[i]
			continue
		}
		if p != segs[i] {
			return nil, false
		}
	}
	if len(pattern) != len(segs) {
		return nil, false
	}
	return params, true
}

// maxBody is API Gateway HTTP API's payload limit.
const maxBody = 10 << 20

// defaultReadTimeout bounds reading a request body once its headers are in
// (the server's ReadHeaderTimeout bounds those). API Gateway gives a whole
// request 30 seconds and hangs up on a client that stalls; on this machine
// a client sends even a 10 MB body in well under a second, so 10 seconds
// lets every honest request through and frees a stalled connection (a body
// promised by Content-Length and never sent) long before API Gateway would.
const defaultReadTimeout = 10 * time.Second

// apiHandler serves the template's routes by invoking their functions with
// API Gateway HTTP API payload format 2.0 events.
type apiHandler struct {
	router    *router
	functions map[string]invoker // by logical id
	log       *slog.Logger
	now       func() time.Time
	newID     func() string
	// readTimeout bounds reading a body; zero means defaultReadTimeout.
	readTimeout time.Duration
}

// ServeHTTP answers one request and writes its access log line. The line
// names the matched route key ("POST /v1/forms/{form_id}", "-" for none),
// never the raw path or query: both can carry personal data (an email typed
// into {form_id}, ?email=), which stays out of logs (docs/architecture.md).
func (h *apiHandler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	start := time.Now()
	rt, params := h.router.match(req.Method, req.URL.EscapedPath())
	routeKey, status, requestID := "-", http.StatusNotFound, ""
	if rt == nil {
		writeJSON(w, status, `{"message":"Not Found"}`)
	} else {
		routeKey = rt.Key()
		status, requestID = h.serve(w, req, rt, params)
	}
	h.log.Info("request", "method", req.Method, "route", routeKey, "status", status,
		"request_id", requestID, "ms", time.Since(start).Milliseconds())
}

// serve reads the body and invokes the route's function; it returns the
// status written and the request id given to the function ("" when the
// function was not invoked).
func (h *apiHandler) serve(w http.ResponseWriter, req *http.Request, rt *route, params map[string]string) (status int, requestID string) {
	body, status := h.readBody(w, req)
	if status != 0 {
		return status, ""
	}
	ev := h.event(req, rt, params, body)
	payload, _ := json.Marshal(ev)
	fn := h.functions[rt.Function]
	out, err := fn.Invoke(req.Context(), payload)
	if err != nil {
		h.log.Error("function failed", "function", rt.Function, "route", rt.Key(), "error", err.Error())
		writeJSON(w, http.StatusInternalServerError, `{"message":"Internal Server Error"}`)
		return http.StatusInternalServerError, ev.RequestContext.RequestID
	}
	return writeResponse(w, out), ev.RequestContext.RequestID
}

// readBody reads the body within the read timeout and API Gateway's payload
// limit. On failure it writes the answer and returns its status: 408 and a
// closed connection for a body that does not arrive in time.
func (h *apiHandler) readBody(w http.ResponseWriter, req *http.Request) ([]byte, int) {
	timeout := h.readTimeout
	if timeout <= 0 {
		timeout = defaultReadTimeout
	}
	// Not every ResponseWriter supports deadlines (a test recorder has no
	// connection); there is nothing to bound then.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(timeout))
	body, err := io.ReadAll(io.LimitReader(req.Body, maxBody+1))
	// Lift the deadline once the body is in, so net/http's wait for the
	// client closing (which cancels the request context) cannot time out
	// while the function runs.
	_ = rc.SetReadDeadline(time.Time{})
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		w.Header().Set("Connection", "close")
		writeJSON(w, http.StatusRequestTimeout, `{"message":"Request Timeout"}`)
		return nil, http.StatusRequestTimeout
	case err != nil:
		writeJSON(w, http.StatusBadRequest, `{"message":"Bad Request"}`)
		return nil, http.StatusBadRequest
	case len(body) > maxBody:
		writeJSON(w, http.StatusRequestEntityTooLarge, `{"message":"Request Entity Too Large"}`)
		return nil, http.StatusRequestEntityTooLarge
	}
	return body, 0
}

// event builds the API Gateway v2 event for req, in the shape AWS sends:
// lower-case headers with repeated values comma-joined, cookies apart,
// binary and form bodies base64-encoded.
func (h *apiHandler) event(req *http.Request, rt *route, params map[string]string, body []byte) events.APIGatewayV2HTTPRequest {
	now := h.now()
	headers := map[string]string{}
	for k, vs := range req.Header {
		if strings.EqualFold(k, "Cookie") {
			continue
		}
		headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	headers["host"] = req.Host
	if req.ContentLength > 0 {
		headers["content-length"] = strconv.FormatInt(req.ContentLength, 10)
	}
	var cookies []string
	for _, c := range req.Header.Values("Cookie") {
		for _, part := range strings.Split(c, ";") {
			if part = strings.TrimSpace(part); part != "" {
				cookies = append(cookies, part)
			}
		}
	}
	var query map[string]string
	if q := req.URL.Query(); len(q) > 0 {
		query = map[string]string{}
		for k, vs := range q {
			query[k] = strings.Join(vs, ",")
		}
	}
	if len(params) == 0 {
		params = nil
	}
	sourceIP := req.RemoteAddr
	if host, _, err := net.SplitHostPort(req.RemoteAddr); err == nil {
		sourceIP = host
	}
	id := h.newID()
	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              rt.Key(),
		RawPath:               req.URL.EscapedPath(),
		RawQueryString:        req.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     rt.Key(),
			AccountID:    "123456789012",
			Stage:        "$default",
			RequestID:    id,
			APIID:        "local",
			DomainName:   req.Host,
			DomainPrefix: strings.Split(req.Host, ".")[0],
			Time:         now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    req.Method,
				Path:      req.URL.Path,
				Protocol:  req.Proto,
				SourceIP:  sourceIP,
				UserAgent: req.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		if isText(req.Header.Get("Content-Type")) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

// isText reports whether API Gateway passes a body of this content type as
// text. HTTP APIs base64-encode everything else, form posts included.
func isText(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	if strings.HasPrefix(mt, "text/") {
		return true
	}
	for _, s := range []string{"json", "xml", "javascript", "yaml"} {
		if strings.Contains(mt, s) {
			return true
		}
	}
	return false
}

// writeResponse writes a function's payload format 2.0 response. A payload
// without statusCode is, as API Gateway reads it, a 200 JSON body.
func writeResponse(w http.ResponseWriter, out []byte) int {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(out, &probe); err != nil || probe["statusCode"] == nil {
		writeJSON(w, http.StatusOK, string(out))
		return http.StatusOK
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode < 100 || resp.StatusCode > 599 {
		writeJSON(w, http.StatusInternalServerError, `{"message":"Internal Server Error"}`)
		return http.StatusInternalServerError
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	for _, c := range resp.Cookies {
		w.Header().Add("Set-Cookie", c)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		decoded, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, `{"message":"Internal Server Error"}`)
			return http.StatusInternalServerError
		}
		body = decoded
	}
	if w.Header().Get("Content-Type") == "" && len(body) > 0 {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
	return resp.StatusCode
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// invokeHandler serves Lambda's Invoke API path, so `make invoke` (and
// `aws lambda invoke --endpoint-url`) run one function with one event.
type invokeHandler struct {
	functions map[string]invoker // by logical id and by short name
}

func (h *invokeHandler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("name")
	fn, ok := h.functions[name]
	if !ok {
		names := make([]string, 0, len(h.functions))
		for n := range h.functions {
			names = append(names, n)
		}
		sort.Strings(names)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		b, _ := json.Marshal(map[string]string{"Type": "User", "Message": fmt.Sprintf("Function not found: %s (have %s)", name, strings.Join(names, ", "))})
		_, _ = w.Write(b)
		return
	}
	payload, err := io.ReadAll(io.LimitReader(req.Body, 6<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	out, err := fn.Invoke(req.Context(), payload)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	if err != nil {
		// Lambda answers 200 and flags the error in a header.
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		b, _ := json.Marshal(map[string]string{"errorMessage": err.Error(), "errorType": errorType(err)})
		if fe := asFunctionError(err); fe != nil && len(fe.Payload) > 0 {
			b = fe.Payload
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b)
		return
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}
