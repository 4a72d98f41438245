package tracker

import "strings"

// BotPatterns are the User-Agent fragments (matched case-insensitively) of
// clients whose page views are not a person's interest: POST /v1/collect
// answers them as usual and scores nothing. The list is leadscore's own,
// kept short enough to read; each group says why it is here. A browser
// always sends a User-Agent, so an empty one is treated as a bot too.
var BotPatterns = []string{
	// Headless browsers and automation: what scrapers, test suites and
	// prerender services drive. Chrome headless says HeadlessChrome (also
	// Puppeteer's and Playwright's default); the others name themselves.
	"headlesschrome", "phantomjs", "slimerjs", "cypress", "prerender",

	// Search engines and social previews. Nearly all name themselves
	// "...bot" (Googlebot, bingbot, AdsBot-Google, Applebot, DuckDuckBot,
	// YandexBot, Twitterbot, LinkedInBot,
	// Slackbot, Discordbot, GPTBot, ClaudeBot, PetalBot, SemrushBot,
	// AhrefsBot); Baiduspider and friends are spiders; the rest are listed
	// by name.
	"bot", "crawler", "spider", "slurp", "facebookexternalhit", "mediapartners-google",
	"google-inspectiontool", "googleother", "feedfetcher", "embedly", "quora link preview",

	// Performance and uptime tools that load pages on a schedule.
	"lighthouse", "pagespeed", "gtmetrix", "pingdom", "uptimerobot", "statuscake", "site24x7",

	// Plain HTTP clients: not a browser at all, so whoever sends this
	// wrote the Origin header by hand.
	"curl/", "wget/", "python-requests", "python-urllib", "go-http-client", "java/", "okhttp",
	"axios/", "node-fetch", "undici", "libwww-perl", "scrapy", "httpclient",
}

// notBots are phone makers whose model names contain a pattern ("CUBOT
// X30" has "bot"): real people browse with them.
var notBots = []string{"cubot"}

// IsBot reports whether a User-Agent is a bot, crawler, headless browser or
// plain HTTP client by BotPatterns.
func IsBot(userAgent string) bool {
	ua := strings.ToLower(strings.TrimSpace(userAgent))
	if ua == "" {
		return true
	}
	for _, n := range notBots {
		ua = strings.ReplaceAll(ua, n, "")
	}
	for _, p := range BotPatterns {
		if strings.Contains(ua, p) {
			return true
		}
	}
	return false
}
