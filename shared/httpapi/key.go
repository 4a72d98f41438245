package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
)

// Key is a configured API key, kept as its SHA-256 digest. The zero Key
// matches nothing: a function without a key refuses every guarded route.
type Key struct {
	hash [32]byte
	set  bool
}

// NewKey returns the Key for key; an empty key gives the zero Key.
func NewKey(key string) Key {
	if key == "" {
		return Key{}
	}
	return Key{hash: sha256.Sum256([]byte(key)), set: true}
}

// Matches compares got with the key in constant time. Both are hashed
// first, so the comparison's time depends on neither key's length.
func (k Key) Matches(got string) bool {
	if !k.set {
		return false
	}
	h := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(h[:], k.hash[:]) == 1
}
