package apikey

import (
	"encoding/base64"
	"testing"
)

func TestZeroValueMatchesNothing(t *testing.T) {
	var k Keys
	for _, key := range []string{"", "x", "wk_live_0123456789abcdef"} {
		if k.Match(key) {
			t.Errorf("zero Keys matched %q", key)
		}
	}
}

func TestEmptyKeysAreLeftOut(t *testing.T) {
	k := New("", "a-key", "")
	if k.Len() != 1 {
		t.Fatalf("Len = %d, want 1", k.Len())
	}
	if k.Match("") {
		t.Error("an empty key matched: an absent header would authenticate")
	}
}

func TestLookup(t *testing.T) {
	k := New("first-key-0001", "", "second-key-002", "third-key-0003")
	tests := []struct {
		key   string
		index int
		ok    bool
	}{
		{"first-key-0001", 0, true},
		{"second-key-002", 1, true},
		{"third-key-0003", 2, true},
		{"third-key-000", -1, false},
		{"third-key-00033", -1, false},
		{"THIRD-KEY-0003", -1, false},
		{"", -1, false},
	}
	for _, tt := range tests {
		i, ok := k.Lookup(tt.key)
		if i != tt.index || ok != tt.ok {
			t.Errorf("Lookup(%q) = %d, %v; want %d, %v", tt.key, i, ok, tt.index, tt.ok)
		}
		if k.Match(tt.key) != tt.ok {
			t.Errorf("Match(%q) = %v, want %v", tt.key, !tt.ok, tt.ok)
		}
	}
}

// A key configured twice (a rotation typo) still matches, at the later
// position: Lookup has no early exit.
func TestLookupDuplicateKey(t *testing.T) {
	k := New("same-key-000001", "other-key-00001", "same-key-000001")
	if i, ok := k.Lookup("same-key-000001"); !ok || i != 2 {
		t.Errorf("Lookup = %d, %v; want 2, true", i, ok)
	}
}

func TestFromAuthorization(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		header, key string
		ok          bool
	}{
		{"Basic " + b64("wk_test_0123456789ab:"), "wk_test_0123456789ab", true},
		{"basic " + b64("wk_test_0123456789ab:ignored"), "wk_test_0123456789ab", true},
		{"Basic " + b64("wk_test_0123456789ab"), "wk_test_0123456789ab", true},
		{"Bearer wk_test_0123456789ab", "wk_test_0123456789ab", true},
		{"Basic " + b64(":password"), "", false},
		{"Basic not-base64!", "", false},
		{"wk_test_0123456789ab", "", false},
		{"Digest x", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		key, ok := FromAuthorization(tt.header)
		if key != tt.key || ok != tt.ok {
			t.Errorf("FromAuthorization(%q) = %q, %v; want %q, %v", tt.header, key, ok, tt.key, tt.ok)
		}
	}
}
