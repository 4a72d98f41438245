package segment

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// padded is a track message of exactly n bytes.
func padded(t testing.TB, n int) string {
	t.Helper()
	head := `{"type":"track","event":"x","userId":"u","properties":{"pad":"`
	tail := `"}}`
	if n < len(head)+len(tail) {
		t.Fatalf("padded(%d) is too small", n)
	}
	return head + strings.Repeat("p", n-len(head)-len(tail)) + tail
}

func bodyErr(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not a *segment.Error", err)
	}
	return e
}

func TestDecodeBatchKeepsGoodMessages(t *testing.T) {
	body := `{"writeKey":"wk_test_0123456789ab","batch":[
		{"type":"identify","userId":"u1","traits":{"email":"a@b.co"}},
		` + padded(t, MaxMessageBytes+1) + `,
		"not a message",
		{"type":"teleport","userId":"u1"},
		{"userId":"u1"},
		{"type":"track","event":"x","userId":"u1","context":{"traits":"x"}},
		{"type":"page","anonymousId":"a1","properties":{"path":"/pricing"}}]}`
	p, err := DecodeBatch([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 2 || p.Items[0].Path != "batch[0]" || p.Items[1].Path != "batch[6]" {
		t.Fatalf("items %+v; want batch[0] and batch[6]", p.Items)
	}
	want := []Problem{
		{"batch[1]", "is larger than 32768 bytes"},
		{"batch[2]", "must be a message object, got a string"},
		{"batch[3].type", `unknown message type "teleport"`},
		{"batch[4].type", "is required"},
		{"batch[5].context.traits", "must be an object, got a string"},
	}
	if len(p.Problems) != len(want) {
		t.Fatalf("problems %+v; want %d", p.Problems, len(want))
	}
	for i, w := range want {
		if p.Problems[i].Field != w.Field || !strings.Contains(p.Problems[i].Message, w.Message) {
			t.Errorf("problem %d = %+v; want %+v", i, p.Problems[i], w)
		}
	}
}

func TestDecodeBatchLimits(t *testing.T) {
	// A message of exactly 32 KB is accepted; the batch limit counts the
	// whole body.
	ok := `{"batch":[` + padded(t, MaxMessageBytes) + `]}`
	if p, err := DecodeBatch([]byte(ok)); err != nil || len(p.Items) != 1 {
		t.Fatalf("a 32 KB message: %v %+v", err, p)
	}
	var b strings.Builder
	b.WriteString(`{"batch":[`)
	for b.Len() < MaxBatchBytes {
		b.WriteString(padded(t, 1000) + ",")
	}
	b.WriteString(padded(t, 100) + `]}`)
	_, err := DecodeBatch([]byte(b.String()))
	if e := bodyErr(t, err); !e.TooLarge || !strings.Contains(e.Message, "512000") {
		t.Errorf("a %d-byte batch gave %+v", b.Len(), e)
	}
	many := `{"batch":[` + strings.Repeat(`{},`, MaxBatchMessages) + `{}]}`
	_, err = DecodeBatch([]byte(many))
	if e := bodyErr(t, err); e.Field != "batch" || !strings.Contains(e.Message, "at most 1000") {
		t.Errorf("%d messages gave %+v", MaxBatchMessages+1, e)
	}
}

func TestDecodeBatchBodyErrors(t *testing.T) {
	tests := []struct{ body, field, want string }{
		{``, "(body)", "not valid JSON"},
		{`{"batch":[`, "(body)", "not valid JSON"},
		{`[{"type":"track"}]`, "(body)", "must be an object"},
		{`{"events":[]}`, "batch", "is required"},
		{`{"batch":{"type":"track"}}`, "batch", "must be an array"},
		{`{"batch":[],"sentAt":5}`, "sentAt", "must be a string"},
	}
	for _, tt := range tests {
		_, err := DecodeBatch([]byte(tt.body))
		e := bodyErr(t, err)
		if e.Field != tt.field || !strings.Contains(e.Message, tt.want) || e.TooLarge {
			t.Errorf("DecodeBatch(%q) = %+v; want %s: %s", tt.body, e, tt.field, tt.want)
		}
	}
}

func TestBatchContextFillsIn(t *testing.T) {
	p, err := DecodeBatch([]byte(`{"context":{"traits":{"email":"a@b.co"},"userAgent":"ua"},"batch":[
		{"type":"track","event":"x","userId":"u"},
		{"type":"track","event":"x","userId":"u","context":{"traits":{"email":"c@d.co"}}}]}`))
	if err != nil || len(p.Items) != 2 {
		t.Fatal(err, p)
	}
	if got := p.Items[0].Message.Context.Traits["email"]; got != "a@b.co" {
		t.Errorf("message without context: email %v", got)
	}
	if got := p.Items[1].Message.Context.Traits["email"]; got != "c@d.co" || p.Items[1].Message.Context.UserAgent != "ua" {
		t.Errorf("message with context: email %v, user agent %q", got, p.Items[1].Message.Context.UserAgent)
	}
}

func TestDecodeMessage(t *testing.T) {
	p, err := DecodeMessage([]byte(`{"type":"page","event":"Demo Requested","userId":"u","writeKey":"k"}`), TypeTrack)
	if err != nil || len(p.Items) != 1 {
		t.Fatal(err, p)
	}
	if p.Items[0].Message.Type != TypeTrack || p.Items[0].Path != "" {
		t.Errorf("the route's type does not win: %+v", p)
	}
	_, err = DecodeMessage([]byte(padded(t, MaxMessageBytes+1)), TypeTrack)
	if e := bodyErr(t, err); !e.TooLarge || !strings.Contains(e.Message, "32768") {
		t.Errorf("a 33 KB message gave %+v", e)
	}
	for _, body := range []string{``, `[]`, `"x"`, `{"a":`} {
		if _, err := DecodeMessage([]byte(body), TypeTrack); bodyErr(t, err).Field != "(body)" {
			t.Errorf("DecodeMessage(%q) does not name the body", body)
		}
	}
	p, err = DecodeMessage([]byte(`{"event":{"x":1},"userId":"u"}`), TypeTrack)
	if err != nil || len(p.Problems) != 1 || p.Problems[0].Field != "event" {
		t.Errorf("a malformed field: %v %+v", err, p)
	}
}

func TestDecodeWebhook(t *testing.T) {
	p, err := DecodeWebhook([]byte(` {"type":"identify","userId":"u","traits":{}}`))
	if err != nil || len(p.Items) != 1 || p.Items[0].Path != "" {
		t.Fatalf("one message: %v %+v", err, p)
	}
	p, err = DecodeWebhook([]byte(`[{"type":"identify","userId":"u"},{"type":"nope"},{"type":"alias","userId":"u","previousId":"p"}]`))
	if err != nil || len(p.Items) != 2 || p.Items[1].Path != "[2]" || len(p.Problems) != 1 || p.Problems[0].Field != "[1].type" {
		t.Fatalf("an array: %v %+v", err, p)
	}
	if _, err := DecodeWebhook([]byte(`[{"type":"track"`)); bodyErr(t, err).Field != "(body)" {
		t.Error("a broken array does not name the body")
	}
}

func gz(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecompress(t *testing.T) {
	plain := []byte(`{"batch":[]}`)
	for _, enc := range []string{"", "identity"} {
		if got, err := Decompress(plain, enc, MaxBatchBytes); err != nil || !bytes.Equal(got, plain) {
			t.Errorf("encoding %q: %q, %v", enc, got, err)
		}
	}
	if got, err := Decompress(gz(t, plain), "GZIP", MaxBatchBytes); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("gzip: %q, %v", got, err)
	}
	// 10 MB of zeros compress to about 10 KB: the limit applies to the output.
	bomb := gz(t, make([]byte, 10<<20))
	if _, err := Decompress(bomb, "gzip", MaxBatchBytes); !bodyErr(t, err).TooLarge {
		t.Errorf("a gzip bomb gave %v", err)
	}
	if _, err := Decompress(plain, "gzip", MaxBatchBytes); bodyErr(t, err).Field != "(body)" {
		t.Error("plain text marked gzip is not refused")
	}
	if _, err := Decompress(plain, "br", MaxBatchBytes); bodyErr(t, err).Field != "Content-Encoding" {
		t.Error("brotli is not refused naming Content-Encoding")
	}
	truncated := gz(t, plain)
	truncated = truncated[:len(truncated)-6]
	if _, err := Decompress(truncated, "gzip", MaxBatchBytes); err == nil {
		t.Error("a truncated gzip stream is accepted")
	}
}

func ExampleDecodeBatch() {
	p, _ := DecodeBatch([]byte(`{"batch":[{"type":"track","event":"Demo Requested","userId":"u1"},{"type":"track","userId":"u1"}]}`))
	m := Mapper{EventType: func(name string) (string, bool) { return "demo_request", name == "Demo Requested" }}
	for _, it := range p.Items {
		ev, problems := m.Map(&it, received)
		fmt.Println(it.Path, ev.Type, problems)
	}
	fmt.Println(p.Problems)
	// Output:
	// batch[0] demo_request []
	// batch[1] track [{batch[1].event is required: the name of the action, such as "Demo Requested"}]
	// []
}
