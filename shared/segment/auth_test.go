package segment

import "testing"

func TestVerifySignature(t *testing.T) {
	body := []byte(`{"type":"track","event":"Demo Requested","userId":"u1"}`)
	// Computed independently: printf '%s' "$body" | openssl dgst -sha1 -hmac whsec_test
	const want = "8ea3379d28201b70a38745282db9dbdfe9ecb5b8"
	sig := Sign("whsec_test", body)
	if sig != want {
		t.Fatalf("Sign = %q, want %q", sig, want)
	}
	if !VerifySignature("whsec_test", body, sig) || !VerifySignature("whsec_test", body, " "+sig+"\n") {
		t.Error("a good signature is refused")
	}
	for _, bad := range []struct{ secret, body, sig string }{
		{"whsec_test", string(body) + " ", sig},
		{"whsec_other", string(body), sig},
		{"", string(body), sig},
		{"whsec_test", string(body), sig[:38]},
		{"whsec_test", string(body), "sha1=" + sig},
		{"whsec_test", string(body), "zz" + sig[2:]},
		{"whsec_test", string(body), ""},
	} {
		if VerifySignature(bad.secret, []byte(bad.body), bad.sig) {
			t.Errorf("VerifySignature(%q, %q, %q) = true", bad.secret, bad.body, bad.sig)
		}
	}
}
