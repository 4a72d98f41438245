package segment

import (
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/leadscore/leadscore/shared/leadscore"
)

// attrKind says how a trait's value becomes an attribute.
type attrKind int

const (
	text    attrKind = iota // a string (a number is written out)
	count                   // a non-negative number, or a numeric string
	domain                  // a host name, lower-cased
	website                 // a URL whose host is the domain
	company                 // a name, or {name, employee_count, industry}
	address                 // {country, ...}: the country
)

// attr is where a trait goes.
type attr struct {
	name string
	kind attrKind
}

// leadTraits are the identify traits with a lead attribute of their own
// (docs/api.md "Sources", mapping table); both the Spec's camelCase and
// snake_case spellings are read.
var leadTraits = map[string]attr{
	"firstName": {"first_name", text}, "first_name": {"first_name", text},
	"lastName": {"last_name", text}, "last_name": {"last_name", text},
	"title": {"job_title", text}, "jobTitle": {"job_title", text}, "job_title": {"job_title", text},
	"company":   {"company", company},
	"employees": {"company_size", count}, "company_size": {"company_size", count},
	"industry":      {"industry", text},
	"phone":         {"phone", text},
	"country":       {"country", text},
	"address":       {"country", address},
	"annualRevenue": {"annual_revenue", count}, "annual_revenue": {"annual_revenue", count},
}

// accountTraits are the group traits with an account attribute of their own.
var accountTraits = map[string]attr{
	"name":      {"name", text},
	"industry":  {"industry", text},
	"employees": {"company_size", count}, "employee_count": {"company_size", count}, "company_size": {"company_size", count},
	"domain":        {"domain", domain},
	"website":       {"domain", website},
	"annualRevenue": {"annual_revenue", count}, "annual_revenue": {"annual_revenue", count},
	"country": {"country", text},
	"address": {"country", address},
	"plan":    {"plan", text},
}

// reservedAttributes are never taken from traits: the email is the
// identity (leadscore derives email_domain from it).
var reservedAttributes = map[string]bool{"email": true, "email_domain": true}

// lead maps an identify call's traits (or, when it has none, its
// context.traits, where RudderStack also puts them) to lead attributes.
func (mp *mapping) lead() map[string]any {
	traits, path := mp.msg.Traits, "traits"
	if len(traits) == 0 && mp.msg.Context != nil {
		traits, path = mp.msg.Context.Traits, "context.traits"
	}
	return nilIfEmpty(mp.attributes(traits, path, leadTraits))
}

// account maps a group call's traits to the account's attributes: a flat
// object of at most leadscore.MaxKeys scalars.
func (mp *mapping) account() map[string]any {
	return nilIfEmpty(mp.attributes(mp.msg.Traits, "traits", accountTraits))
}

// attributes maps traits found at path. A trait in known must have the
// right shape (else a problem names it); any other scalar trait is kept
// under its snake_case name while there is room, in key order; nested
// values of other traits are left out (leadscore cannot score them).
func (mp *mapping) attributes(traits map[string]any, path string, known map[string]attr) map[string]any {
	out := map[string]any{}
	var custom []string
	for _, k := range slices.Sorted(maps.Keys(traits)) {
		v := traits[k]
		if v == nil || reservedAttributes[k] {
			continue
		}
		if a, ok := known[k]; ok {
			mp.set(out, a, v, path+"."+k)
			continue
		}
		custom = append(custom, k)
	}
	for _, k := range custom {
		if len(out) >= leadscore.MaxKeys {
			break
		}
		name := snakeCase(k)
		if _, taken := out[name]; taken || name == "" || reservedAttributes[name] {
			continue
		}
		if v, ok := scalar(traits[k], leadscore.MaxAttributeLen); ok {
			out[name] = v
		}
	}
	return out
}

// set stores one known trait, or reports why it cannot.
func (mp *mapping) set(out map[string]any, a attr, v any, field string) {
	switch a.kind {
	case text:
		if s, ok := mp.text(v, field); ok {
			out[a.name] = s
		}
	case count:
		if f, ok := number(v); ok {
			out[a.name] = f
		} else {
			mp.problem(field, "must be a number, not negative (got %s)", leadscore.JSONKind(v))
		}
	case domain:
		if s, ok := mp.text(v, field); ok {
			out[a.name] = strings.ToLower(s)
		}
	case website:
		// A website only names the domain when no domain trait did.
		if _, ok := out[a.name]; !ok {
			if host := hostOf(str(v)); host != "" {
				out[a.name] = host
			}
		}
	case company:
		mp.company(out, v, field)
	case address:
		obj, ok := v.(map[string]any)
		if !ok {
			mp.problem(field, "must be an object such as {\"country\": \"US\"}, got %s", leadscore.JSONKind(v))
			return
		}
		// A top-level country trait, set later in key order, wins.
		if c, ok := obj["country"]; ok && c != nil {
			if s, ok := mp.text(c, field+".country"); ok {
				out[a.name] = s
			}
		}
	}
}

// company reads traits.company: a name, or the Spec's object.
func (mp *mapping) company(out map[string]any, v any, field string) {
	switch c := v.(type) {
	case string:
		if s, ok := mp.text(c, field); ok {
			out["company"] = s
		}
	case map[string]any:
		if n, ok := c["name"]; ok && n != nil {
			if s, ok := mp.text(n, field+".name"); ok {
				out["company"] = s
			}
		}
		for _, k := range []string{"employees", "employee_count"} {
			if n, ok := c[k]; ok && n != nil {
				mp.set(out, attr{"company_size", count}, n, field+"."+k)
			}
		}
		if n, ok := c["industry"]; ok && n != nil {
			if s, ok := mp.text(n, field+".industry"); ok {
				out["industry"] = s
			}
		}
	default:
		mp.problem(field, "must be a string or an object such as {\"name\": \"Acme\", \"employee_count\": 250}, got %s", leadscore.JSONKind(v))
	}
}

// text reads a string attribute; a number is accepted and written out
// (phone numbers arrive as numbers). Empty strings are skipped silently.
func (mp *mapping) text(v any, field string) (string, bool) {
	var s string
	switch x := v.(type) {
	case string:
		s = strings.TrimSpace(x)
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	default:
		mp.problem(field, "must be a string, got %s", leadscore.JSONKind(v))
		return "", false
	}
	if utf8.RuneCountInString(s) > leadscore.MaxAttributeLen {
		mp.problem(field, "is longer than %d characters", leadscore.MaxAttributeLen)
		return "", false
	}
	return s, s != ""
}

// hostOf is the domain of a website ("https://www.acme.com/about" or
// "acme.com" give "acme.com"), lower-cased, or "".
func hostOf(raw string) string {
	if raw == "" {
		return ""
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" || len(u.Hostname()) > leadscore.MaxAttributeLen {
		return ""
	}
	// www. names the web server, not the company: the account's domain is
	// compared with email domains.
	return strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
}

func nilIfEmpty(m map[string]any) map[string]any {
	if len(m) == 0 {
		return nil
	}
	return m
}
