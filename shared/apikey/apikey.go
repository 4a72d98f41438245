// Package apikey matches secret keys (the API key, write keys, site keys) in
// constant time. It is the one place the project compares a key a client
// sent with a configured one.
package apikey

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
)

// Keys is a set of configured keys. The zero value holds no key and matches
// nothing, so a route guarded by an unconfigured set fails closed.
type Keys struct {
	digests [][sha256.Size]byte
}

// New returns the set of keys; empty strings are left out (an empty key
// must never match an absent header).
func New(keys ...string) Keys {
	var k Keys
	for _, key := range keys {
		if key != "" {
			k.digests = append(k.digests, sha256.Sum256([]byte(key)))
		}
	}
	return k
}

// Len is the number of keys in the set.
func (k Keys) Len() int { return len(k.digests) }

// Match reports whether key is one of the set.
func (k Keys) Match(key string) bool {
	_, ok := k.Lookup(key)
	return ok
}

// Lookup returns the position (in New's order, empty keys not counted) of
// the key that matches, so a caller can find the site a site key belongs to.
//
// Both sides are compared as SHA-256 digests, so the time taken does not
// depend on the keys' lengths, and every configured key is compared, with no
// early exit, so it does not depend on which key matched either.
func (k Keys) Lookup(key string) (index int, ok bool) {
	if key == "" {
		return -1, false
	}
	got := sha256.Sum256([]byte(key))
	index = -1
	for i := range k.digests {
		eq := subtle.ConstantTimeCompare(got[:], k.digests[i][:])
		index = subtle.ConstantTimeSelect(eq, i, index)
	}
	return index, index >= 0
}

// FromAuthorization returns the key an Authorization header carries: HTTP
// Basic with the key as the user name (what the Segment and RudderStack SDKs
// send; the password is ignored, theirs is empty), or "Bearer <key>". The key
// is not checked here; Match it.
func FromAuthorization(header string) (key string, ok bool) {
	scheme, rest, found := strings.Cut(strings.TrimSpace(header), " ")
	if !found {
		return "", false
	}
	rest = strings.TrimSpace(rest)
	switch strings.ToLower(scheme) {
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return "", false
		}
		user, _, _ := strings.Cut(string(raw), ":")
		return user, user != ""
	case "bearer":
		return rest, rest != ""
	}
	return "", false
}
