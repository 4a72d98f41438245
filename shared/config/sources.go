package config

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/leadscore/leadscore/shared/apikey"
)

// The variables of the sources (docs/api.md "Sources"): who may send events
// without the admin key.
const (
	// EnvWriteKeys is a comma-separated list of ingestion-only keys; several
	// at once let a key be rotated with no downtime.
	EnvWriteKeys = "WRITE_KEYS"
	// EnvSites is the browser tracker's sites, as JSON (see Site).
	EnvSites = "SITES"
	// EnvSegmentWebhookSecret is the shared secret of Segment webhook
	// destinations (X-Signature, HMAC-SHA1 of the body).
	EnvSegmentWebhookSecret = "SEGMENT_WEBHOOK_SECRET"
)

// MinKeyLen is the shortest write or site key accepted: short keys are
// guessable, and a key is only as strong as its length.
const MinKeyLen = 16

// maxKeyLen bounds a key; HTTP Basic carries it as a user name.
const maxKeyLen = 256

// Sources is the sources' configuration.
type Sources struct {
	// WriteKeys are accepted on the ingestion routes only.
	WriteKeys []string
	// Sites are the browser tracker's sites, by name.
	Sites map[string]Site
	// SegmentWebhookSecret signs Segment webhook posts; empty means only a
	// write key can authenticate them.
	SegmentWebhookSecret string
}

// Site is one web site running the browser tracker, from the SITES variable:
//
//	{"www": {"key": "pk_live_3f9a8c...", "allowed_origins": ["https://www.example.com"],
//	         "consent_required": true}}
//
// The key is public (it sits in the page); it can only send browser events,
// and only from the allowed origins. ConsentRequired turns consent mode on:
// POST /v1/collect then drops every request that does not say the visitor
// consented, whatever the snippet on the page says.
type Site struct {
	Key             string   `json:"key"`
	AllowedOrigins  []string `json:"allowed_origins"`
	ConsentRequired bool     `json:"consent_required,omitempty"`
}

// AllowsOrigin reports whether origin is one of the site's (same rules as
// Form.AllowsOrigin: exact, case-insensitive, or any port for an entry
// ending in ":*").
func (s Site) AllowsOrigin(origin string) bool {
	return originAllowed(s.AllowedOrigins, origin)
}

// LoadSources reads WRITE_KEYS, SITES and SEGMENT_WEBHOOK_SECRET. All are
// optional. It fails naming the variable and the problem (never a key's
// value), and refuses a write or site key equal to API_KEY or to each other:
// a public site key that is also the admin key would publish the admin key.
func LoadSources(getenv func(string) string) (Sources, error) {
	var s Sources
	var problems []string
	if raw := getenv(EnvWriteKeys); raw != "" {
		keys, err := ParseWriteKeys(raw)
		if err != nil {
			problems = append(problems, err.Error())
		}
		s.WriteKeys = keys
	}
	if raw := getenv(EnvSites); raw != "" {
		sites, err := ParseSites(raw)
		if err != nil {
			problems = append(problems, err.Error())
		}
		s.Sites = sites
	}
	s.SegmentWebhookSecret = getenv(EnvSegmentWebhookSecret)
	problems = append(problems, reusedKeys(getenv(EnvAPIKey), s)...)
	if len(problems) > 0 {
		sort.Strings(problems)
		return Sources{}, fmt.Errorf("configuration: %s", strings.Join(problems, "; "))
	}
	return s, nil
}

// ParseWriteKeys splits WRITE_KEYS; spaces around a key are ignored.
func ParseWriteKeys(raw string) ([]string, error) {
	parts := strings.Split(raw, ",")
	keys := make([]string, 0, len(parts))
	for i, p := range parts {
		key := strings.TrimSpace(p)
		if key == "" {
			return nil, fmt.Errorf("%s: key %d of %d is empty (a stray comma?)", EnvWriteKeys, i+1, len(parts))
		}
		if why := badKey(key); why != "" {
			return nil, fmt.Errorf("%s: key %d of %d %s", EnvWriteKeys, i+1, len(parts), why)
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// ParseSites decodes SITES and checks every site.
func ParseSites(raw string) (map[string]Site, error) {
	var sites map[string]Site
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sites); err != nil {
		return nil, fmt.Errorf("%s is not valid site settings JSON: %v", EnvSites, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s holds more than one JSON value", EnvSites)
	}
	names := make([]string, 0, len(sites))
	for name := range sites {
		names = append(names, name)
	}
	sort.Strings(names)
	owner := map[string]string{}
	for _, name := range names {
		site := sites[name]
		if name == "" {
			return nil, fmt.Errorf("%s: a site has an empty name", EnvSites)
		}
		if why := badKey(site.Key); why != "" {
			return nil, fmt.Errorf("%s: site %q: key %s", EnvSites, name, why)
		}
		if other, dup := owner[site.Key]; dup {
			return nil, fmt.Errorf("%s: sites %q and %q have the same key", EnvSites, other, name)
		}
		owner[site.Key] = name
		if len(site.AllowedOrigins) == 0 {
			return nil, fmt.Errorf("%s: site %q: allowed_origins is empty; list the site's origins such as \"https://www.example.com\"", EnvSites, name)
		}
		for i, o := range site.AllowedOrigins {
			if why := badOrigin(o); why != "" {
				return nil, fmt.Errorf("%s: site %q: allowed_origins[%d] %s", EnvSites, name, i, why)
			}
		}
	}
	return sites, nil
}

// badKey says what is wrong with a write or site key, or "" when nothing is.
// A key travels as an HTTP Basic user name and in JSON bodies, so it is
// printable ASCII without spaces, commas or colons.
func badKey(key string) string {
	switch {
	case len(key) < MinKeyLen:
		return fmt.Sprintf("is shorter than %d characters", MinKeyLen)
	case len(key) > maxKeyLen:
		return fmt.Sprintf("is longer than %d characters", maxKeyLen)
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c <= ' ' || c >= 0x7f || c == ',' || c == ':' || c == '"' {
			return "holds a space, comma, colon, quote or non-ASCII character"
		}
	}
	return ""
}

// badOrigin says what is wrong with an allowed origin: it must be what a
// browser sends in Origin (scheme://host[:port]), or end in ":*" for any port.
func badOrigin(origin string) string {
	u, err := url.Parse(strings.TrimSuffix(origin, ":*"))
	switch {
	case err != nil:
		return "is not a URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "must start with http:// or https://"
	case u.Host == "" || u.User != nil:
		return "must be scheme://host[:port]"
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "":
		return "must be an origin, without a path, query or fragment"
	}
	return ""
}

// reusedKeys finds a key used for two purposes.
func reusedKeys(apiKey string, s Sources) []string {
	var problems []string
	for i, k := range s.WriteKeys {
		if apiKey != "" && k == apiKey {
			problems = append(problems, fmt.Sprintf("%s: key %d is the API_KEY; a write key must not be able to read leads", EnvWriteKeys, i+1))
		}
	}
	for name, site := range s.Sites {
		if apiKey != "" && site.Key == apiKey {
			problems = append(problems, fmt.Sprintf("%s: site %q's key is the API_KEY, which a web page would publish", EnvSites, name))
		}
		for _, k := range s.WriteKeys {
			if site.Key == k {
				problems = append(problems, fmt.Sprintf("%s: site %q's key is also in %s, which a web page would publish", EnvSites, name, EnvWriteKeys))
			}
		}
	}
	return problems
}

// SiteKeys finds the site a public site key belongs to, in constant time.
// The zero value finds none.
type SiteKeys struct {
	keys  apikey.Keys
	names []string
}

// NewSiteKeys indexes sites by key.
func NewSiteKeys(sites map[string]Site) SiteKeys {
	names := make([]string, 0, len(sites))
	for name, site := range sites {
		// apikey.New leaves empty keys out; so must the names, or the
		// positions would no longer line up.
		if site.Key != "" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	keys := make([]string, len(names))
	for i, name := range names {
		keys[i] = sites[name].Key
	}
	return SiteKeys{keys: apikey.New(keys...), names: names}
}

// Find returns the name of the site whose key is key.
func (k SiteKeys) Find(key string) (name string, ok bool) {
	i, ok := k.keys.Lookup(key)
	if !ok {
		return "", false
	}
	return k.names[i], true
}
