package scoring

import (
	_ "embed"
	"sync"
)

//go:embed default_rules.yaml
var defaultRulesYAML []byte

var defaultRules = sync.OnceValue(func() *Rules {
	r, err := ParseRules(defaultRulesYAML)
	if err != nil {
		// The file is part of the build and tested; a broken one must not ship.
		panic("scoring: default_rules.yaml is invalid: " + err.Error())
	}
	return r
})

// DefaultRules returns the rules shipped with the product, used until a
// marketer publishes a document. They carry version 0, the version "before
// any publish"; the store's first published version is 1.
func DefaultRules() *Rules { return defaultRules() }

// DefaultRulesYAML returns the shipped document as written (with comments),
// a starting point for a marketer's first edit.
func DefaultRulesYAML() []byte { return append([]byte(nil), defaultRulesYAML...) }

// builtinLists are the named lists `in_list` can use without declaring them;
// a document's `lists:` may override any of them or add more.
var builtinLists = map[string][]string{
	// Consumer mailbox providers: a lead writing from one of these gives no
	// company signal.
	"free_email_domains": {
		"gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de",
		"yahoo.es", "yahoo.it", "yahoo.co.jp", "ymail.com", "rocketmail.com",
		"hotmail.com", "hotmail.co.uk", "hotmail.fr", "hotmail.de", "hotmail.it", "hotmail.es",
		"outlook.com", "outlook.fr", "outlook.de", "live.com", "live.co.uk", "live.fr", "msn.com",
		"aol.com", "aim.com", "icloud.com", "me.com", "mac.com",
		"protonmail.com", "proton.me", "pm.me", "tutanota.com", "tuta.io",
		"gmx.com", "gmx.de", "gmx.net", "gmx.at", "gmx.ch", "web.de", "t-online.de", "freenet.de",
		"mail.com", "email.com", "zoho.com", "zohomail.com", "yandex.com", "yandex.ru", "mail.ru",
		"inbox.ru", "list.ru", "bk.ru", "rambler.ru",
		"orange.fr", "wanadoo.fr", "free.fr", "laposte.net", "sfr.fr",
		"libero.it", "virgilio.it", "tiscali.it", "alice.it",
		"qq.com", "163.com", "126.com", "sina.com", "naver.com", "daum.net", "hanmail.net",
		"rediffmail.com", "fastmail.com", "hushmail.com", "comcast.net", "verizon.net",
		"att.net", "sbcglobal.net", "cox.net", "btinternet.com", "sky.com", "virginmedia.com",
		"shaw.ca", "rogers.com", "bigpond.com", "optusnet.com.au", "seznam.cz", "wp.pl", "o2.pl",
		"interia.pl", "onet.pl", "bol.com.br", "uol.com.br", "terra.com.br",
	},
}
