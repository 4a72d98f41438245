package segment

import (
	"crypto/hmac"
	"crypto/sha1" // Segment signs webhooks with HMAC-SHA1: its format, and HMAC-SHA1 is not broken.
	"encoding/hex"
	"strings"
)

// HeaderSignature is the header a Segment webhook destination signs its
// posts with: the hex HMAC-SHA1 of the body with the shared secret.
const HeaderSignature = "X-Signature"

// VerifySignature reports whether signature (the X-Signature header) is the
// hex HMAC-SHA1 of body with secret. The comparison is constant-time; an
// empty secret verifies nothing.
func VerifySignature(secret string, body []byte, signature string) bool {
	if secret == "" {
		return false
	}
	got, err := hex.DecodeString(strings.TrimSpace(signature))
	if err != nil || len(got) != sha1.Size {
		return false
	}
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// Sign is the X-Signature of body with secret, as Segment computes it (for
// tests and for forwarding tools).
func Sign(secret string, body []byte) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}
