// Package webhook signs handoff webhooks and verifies them (docs/api.md
// "Handoff webhooks"). The signature covers the timestamp as well as the
// body, so a receiver that checks the timestamp's age rejects replays of a
// captured request.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header names of docs/api.md.
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderTimestamp      = "X-Timestamp"
	HeaderSignature      = "X-Signature"
	// DefaultMaxAge is the replay window receivers are told to use.
	DefaultMaxAge = 5 * time.Minute
	prefix        = "sha256="
)

// Sign returns the X-Signature value for body sent at timestamp (unix
// seconds): "sha256=" + hex(HMAC-SHA256(secret, "<timestamp>.<body>")).
func Sign(secret []byte, timestamp int64, body []byte) string {
	return prefix + hex.EncodeToString(mac(secret, strconv.FormatInt(timestamp, 10), body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Errors Verify wraps, so receivers can answer a replay differently from a
// forgery.
var (
	ErrMalformed = errors.New("malformed signature headers")
	ErrStale     = errors.New("timestamp outside the allowed window")
	ErrMismatch  = errors.New("signature does not match")
)

// maxSkew is how far in the future a timestamp may be: senders' clocks drift.
const maxSkew = time.Minute

// Verify checks the X-Timestamp and X-Signature header values of a received
// webhook against body. It rejects timestamps older than maxAge (replays) or
// more than a minute ahead of now, and compares in constant time.
func Verify(secret, timestampHeader, signatureHeader string, body []byte, now time.Time, maxAge time.Duration) error {
	ts := strings.TrimSpace(timestampHeader)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || ts == "" || ts[0] == '+' || (len(ts) > 1 && ts[0] == '0') {
		return fmt.Errorf("%w: %s %q is not unix seconds", ErrMalformed, HeaderTimestamp, truncate(timestampHeader))
	}
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(signatureHeader), prefix)
	if !ok {
		return fmt.Errorf("%w: %s does not start with %q", ErrMalformed, HeaderSignature, prefix)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: %s is not %d hex bytes", ErrMalformed, HeaderSignature, sha256.Size)
	}
	// Compare in seconds so a timestamp far outside time.Time's range
	// cannot overflow a Duration.
	age := now.Unix() - sec
	if age > int64(maxAge/time.Second) || -age > int64(maxSkew/time.Second) {
		return fmt.Errorf("%w: %s %d is %ds from now (window %s)", ErrStale, HeaderTimestamp, sec, age, maxAge)
	}
	if !hmac.Equal(got, mac([]byte(secret), ts, body)) {
		return ErrMismatch
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}
