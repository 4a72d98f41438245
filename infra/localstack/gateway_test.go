package main

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadscore/leadscore/infra/template"
)

// syncBuffer is a log destination the server's goroutines and the test
// share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// gatewayAPI is the local API over the real ingest handler, as `make run`
// serves it, with its access log kept and the body read timeout given.
func gatewayAPI(t *testing.T, readTimeout time.Duration) (*httptest.Server, *countingQueue, *syncBuffer) {
	t.Helper()
	tm, err := template.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	routes, err := tm.Routes()
	if err != nil {
		t.Fatal(err)
	}
	fns, q := inProcessFunctions(t)
	logs := &syncBuffer{}
	local := &apiHandler{router: newRouter(routes), functions: fns, log: slog.New(slog.NewJSONHandler(logs, nil)),
		now: time.Now, newID: func() string { return "req-1" }, readTimeout: readTimeout}
	srv := httptest.NewServer(newThrottle(tm, newRouter(routes), local))
	t.Cleanup(srv.Close)
	return srv, q, logs
}

// TestLocalAPIAnswersABodyThatNeverArrives: a request promising 100 bytes
// and sending 7 is answered 408 once the read timeout passes, and its
// connection closed, instead of holding the connection as long as the
// client likes (API Gateway gives up too; docs/api.md "Local stack").
func TestLocalAPIAnswersABodyThatNeverArrives(t *testing.T) {
	srv, q, _ := gatewayAPI(t, 200*time.Millisecond)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = io.WriteString(conn, "POST /v1/events HTTP/1.1\r\nHost: local\r\nContent-Type: application/json\r\n"+
		"X-Api-Key: local-test-key-0123456789\r\nContent-Length: 100\r\n\r\n{\"type\"")
	if err != nil {
		t.Fatal(err)
	}
	// A safety net only: the server's own timeout is what answers.
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	if res.StatusCode != http.StatusRequestTimeout || !res.Close {
		t.Errorf("status %d, close %v; want 408 and the connection closed", res.StatusCode, res.Close)
	}
	if q.n.Load() != 0 {
		t.Errorf("%d events queued from a partial body", q.n.Load())
	}
}

// TestLocalAPIMatchesPathsExactly: API Gateway matches the path as sent; a
// trailing slash or an empty segment is another path, and a 404.
func TestLocalAPIMatchesPathsExactly(t *testing.T) {
	srv, q, _ := gatewayAPI(t, 0)
	for _, path := range []string{"/v1/events/", "//v1/events", "/v1//events", "/v1/events//"} {
		if got := postEvent(t, srv, path, "application/json", oneEvent); got != http.StatusNotFound {
			t.Errorf("POST %s = %d, want 404", path, got)
		}
	}
	if q.n.Load() != 0 {
		t.Fatalf("%d events queued through paths API Gateway refuses", q.n.Load())
	}
	if got := postEvent(t, srv, "/v1/events", "application/json", oneEvent); got != http.StatusAccepted {
		t.Errorf("POST /v1/events = %d, want 202", got)
	}
}

// TestAccessLogNamesRoutesNotPaths: the access log carries the matched
// route key, never the raw path or query, where personal data can be (an
// email typed into {form_id}, ?email=).
func TestAccessLogNamesRoutesNotPaths(t *testing.T) {
	srv, _, logs := gatewayAPI(t, 0)
	for _, target := range []string{"/v1/forms/ada%40example.com", "/v1/forms/ada@example.com", "/v1/leads?email=ada%40example.com",
		"/v1/ada@example.com", "/v1/events/ada@example.com/"} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+target, strings.NewReader("email=x"))
		if strings.HasPrefix(target, "/v1/leads") {
			req.Method = http.MethodGet
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	out := logs.String()
	if strings.Contains(out, "ada") || strings.Contains(out, "example.com") {
		t.Errorf("the access log carries a raw path or query:\n%s", out)
	}
	for _, want := range []string{`"route":"POST /v1/forms/{form_id}"`, `"route":"GET /v1/leads"`, `"route":"-"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the access log lacks %s:\n%s", want, out)
		}
	}
}
