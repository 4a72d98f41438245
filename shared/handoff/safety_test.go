package handoff

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/leadscore/leadscore/shared/config"
)

// TestResponseBodyIsReadWithACap: a receiver answering 200 with a 1 GiB
// body must not make the handler read it. The server counts what it
// managed to write before the handler closed the connection; without the
// cap it would be the whole GiB.
func TestResponseBodyIsReadWithACap(t *testing.T) {
	const huge = 1 << 30
	var written atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for written.Load() < huge {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	h := newHandler(t, config.Config{WebhookURLSales: srv.URL, WebhookSecret: secret, Local: true}, nil)
	body, _ := json.Marshal(sample("lead.mql"))
	resp, err := h.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: string(body)}}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("delivery to a 200 receiver failed: %v %+v", err, resp)
	}
	srv.CloseClientConnections()
	if w := written.Load(); w >= huge {
		t.Fatalf("the handler let the receiver write all %d bytes: the response body is not capped", w)
	}
}
