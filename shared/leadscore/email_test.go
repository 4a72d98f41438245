package leadscore

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
)

// spelling is one way to write part of an address; every spelling of a
// variant set must give the same lead (docs/api.md "Event").
type variants []string

// localParts: the same person's local part in NFC and NFD, with case.
var localParts = []variants{
	{"jos\u00e9", "jose\u0301", "JOS\u00c9", "Jose\u0301"},
	{"b\u00fccher", "bu\u0308cher"},
	{"\u00e5sa", "a\u030asa", "\u00c5SA"},
	{"ada", "Ada", "ADA"},
	{"se\u00f1or.garc\u00eda", "sen\u0303or.garci\u0301a"},
}

// domains: the same domain in Unicode (NFC, NFD, upper case) and in its
// ASCII (punycode) form.
var domains = []variants{
	{"b\u00fccher.example", "bu\u0308cher.example", "xn--bcher-kva.example", "XN--BCHER-KVA.EXAMPLE", "B\u00dcCHER.example"},
	{"m\u00fcnchen.de", "xn--mnchen-3ya.de", "M\u00fcnchen.DE"},
	{"example.com", "Example.COM"},
	{"\u4f8b\u3048.jp", "xn--r8jz45g.jp"},
}

func TestEmailVariantsAreOneLead(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(v variants) string { return v[rng.IntN(len(v))] }
	for i := 0; i < 2000; i++ {
		l, d := localParts[rng.IntN(len(localParts))], domains[rng.IntN(len(domains))]
		a := pick(l) + "@" + pick(d)
		b := "  " + pick(l) + "@" + pick(d) + "\t"
		na, nb := NormalizeEmail(a), NormalizeEmail(b)
		if LeadID(na) != LeadID(nb) {
			t.Fatalf("%q -> %q and %q -> %q: two leads for one person", a, na, b, nb)
		}
		if again := NormalizeEmail(na); again != na {
			t.Fatalf("NormalizeEmail is not idempotent: %q -> %q -> %q", a, na, again)
		}
		domain := na[strings.LastIndexByte(na, '@')+1:]
		for _, r := range domain {
			if r > unicode.MaxASCII || unicode.IsUpper(r) {
				t.Fatalf("%q -> domain %q, want lower-case ASCII (punycode)", a, domain)
			}
		}
	}
}

func TestCanonicalEmail(t *testing.T) {
	got, err := CanonicalEmail(" Jose\u0301@B\u00dcCHER.example ")
	if want := "jos\u00e9@xn--bcher-kva.example"; err != nil || got != want {
		t.Errorf("CanonicalEmail = %q, %v; want %q", got, err, want)
	}
	// A label mixing left-to-right and right-to-left letters breaks the
	// IDNA bidi rule: no registry can hold it.
	if _, err := CanonicalEmail("ada@a\u05d0.example"); err == nil {
		t.Error("an invalid internationalized domain was accepted")
	}
}

// FuzzCanonicalEmail: an accepted canonical email is a fixed point (the
// score function refuses an event whose email NormalizeEmail would change)
// with an ASCII domain.
func FuzzCanonicalEmail(f *testing.F) {
	for _, s := range []string{"Ada@Example.com", "jose\u0301@b\u00fccher.example", "a@xn--bcher-kva.example", "x@\u4f8b\u3048.jp", "a@b@c", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, email string) {
		got, err := CanonicalEmail(email)
		if err != nil {
			return
		}
		again, err := CanonicalEmail(got)
		if err != nil || again != got {
			t.Fatalf("%q -> %q -> %q, %v: not a fixed point", email, got, again, err)
		}
		if at := strings.LastIndexByte(got, '@'); at >= 0 {
			for _, r := range got[at+1:] {
				if r > unicode.MaxASCII {
					t.Fatalf("%q -> domain of %q is not ASCII", email, got)
				}
			}
		}
	})
}
