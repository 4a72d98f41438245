package webhook

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSignKnownVector(t *testing.T) {
	// Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
	got := Sign([]byte("secret"), 1700000000, []byte(`{"a":1}`))
	want := "sha256=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
	if got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	body := []byte(`{"transition_id":"tr_1","type":"lead.mql"}`)
	ts := strconv.FormatInt(now.Unix(), 10)
	sig := Sign([]byte("s3cret"), now.Unix(), body)
	old := strconv.FormatInt(now.Add(-6*time.Minute).Unix(), 10)
	future := strconv.FormatInt(now.Add(2*time.Minute).Unix(), 10)
	cases := []struct {
		name    string
		secret  string
		ts, sig string
		body    []byte
		want    error
	}{
		{"valid", "s3cret", ts, sig, body, nil},
		{"valid a bit old", "s3cret", strconv.FormatInt(now.Add(-4*time.Minute).Unix(), 10),
			Sign([]byte("s3cret"), now.Add(-4*time.Minute).Unix(), body), body, nil},
		{"wrong secret", "other", ts, sig, body, ErrMismatch},
		{"body changed", "s3cret", ts, sig, []byte(`{"transition_id":"tr_2","type":"lead.mql"}`), ErrMismatch},
		{"timestamp changed", "s3cret", strconv.FormatInt(now.Unix()-1, 10), sig, body, ErrMismatch},
		{"replay older than max age", "s3cret", old, Sign([]byte("s3cret"), now.Add(-6*time.Minute).Unix(), body), body, ErrStale},
		{"from the future", "s3cret", future, Sign([]byte("s3cret"), now.Add(2*time.Minute).Unix(), body), body, ErrStale},
		{"no prefix", "s3cret", ts, sig[7:], body, ErrMalformed},
		{"short hex", "s3cret", ts, sig[:20], body, ErrMalformed},
		{"not hex", "s3cret", ts, "sha256=" + string(make([]byte, 64)), body, ErrMalformed},
		{"timestamp not a number", "s3cret", "12a", sig, body, ErrMalformed},
		{"timestamp empty", "s3cret", "", sig, body, ErrMalformed},
		{"timestamp with plus", "s3cret", "+" + ts, sig, body, ErrMalformed},
		{"timestamp huge", "s3cret", "9223372036854775807", sig, body, ErrStale},
		{"timestamp very negative", "s3cret", "-9223372036854775808", sig, body, ErrStale},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Verify(c.secret, c.ts, c.sig, c.body, now, DefaultMaxAge)
			if c.want == nil && err != nil {
				t.Fatalf("Verify: %v, want nil", err)
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("Verify: %v, want %v", err, c.want)
			}
		})
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("secret", int64(1700000000), []byte(`{"a":1}`), "", int64(0))
	f.Add("", int64(0), []byte{}, "sha256=00", int64(-1))
	f.Add("k", int64(-5), []byte("\x00\xff"), "sha256=zz", int64(99999999999))
	f.Fuzz(func(t *testing.T, secret string, ts int64, body []byte, tamper string, skew int64) {
		now := time.Unix(ts, 0)
		sig := Sign([]byte(secret), ts, body)
		tsh := strconv.FormatInt(ts, 10)
		// A message signed now always verifies.
		if err := Verify(secret, tsh, sig, body, now, DefaultMaxAge); err != nil {
			t.Fatalf("fresh signature rejected: %v", err)
		}
		// Arbitrary headers never panic, and never verify unless they are
		// the real signature.
		err := Verify(secret, tsh, tamper, body, now.Add(time.Duration(skew%600)*time.Second), DefaultMaxAge)
		// Surrounding whitespace and hex letter case are tolerated; any
		// other header that verifies is a forgery.
		if err == nil && !strings.EqualFold(strings.TrimSpace(tamper), sig) {
			t.Fatalf("forged signature %q verified (real %q)", tamper, sig)
		}
		_ = Verify(secret, tamper, tamper, body, now, DefaultMaxAge)
	})
}
