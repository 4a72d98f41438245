package leadscore

import (
	"fmt"
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// CanonicalEmail is the one normalization of an email address before its
// lead id is derived (docs/scoring.md section 1, docs/api.md "Event"): the
// same person typed on two keyboards, or by two systems, must be one lead.
//
//   - surrounding space is trimmed and everything is lower-cased, as before;
//   - the local part is put in Unicode NFC, so "josé" typed as one code point
//     (é) or as e plus a combining accent (macOS file names, some CRMs) is
//     one address;
//   - the domain goes through IDNA (UTS #46 lookup processing) to its ASCII
//     form, so "bücher.example" and "xn--bcher-kva.example" are one domain.
//     ASCII is the form every mail system accepts, and the one stored and
//     shown (the email in the API and in webhooks is this canonical form).
//
// A domain IDNA refuses (a label mixing scripts against the bidi rule, a
// disallowed code point) is an error naming why; the returned string is then
// the trimmed, lower-cased, NFC input, which NormalizeEmail uses. Checking
// the shape of an address (one @, label lengths) is the caller's.
func CanonicalEmail(email string) (string, error) {
	e := norm.NFC.String(strings.ToLower(strings.TrimSpace(email)))
	at := strings.LastIndexByte(e, '@')
	if at < 0 {
		return e, nil
	}
	domain, err := idna.Lookup.ToASCII(e[at+1:])
	if err != nil {
		return e, fmt.Errorf("email domain is not a valid internationalized domain name: %w", err)
	}
	return e[:at+1] + strings.ToLower(domain), nil
}
