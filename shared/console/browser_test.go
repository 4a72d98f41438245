package console

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"gopkg.in/yaml.v3"

	"github.com/leadscore/leadscore/infra/browser"
	"github.com/leadscore/leadscore/shared/scoring"
)

// serveAssets serves the console the way the API does (Asset, Headers,
// NotModified) on 127.0.0.1, with nothing else: the pure scripts need no API.
func serveAssets(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, found := strings.CutPrefix(r.URL.Path, "/console/")
		if !found && r.URL.Path != "/console" {
			http.NotFound(w, r)
			return
		}
		if !found {
			name = ""
		}
		f, ok := Asset(name)
		if !ok {
			http.NotFound(w, r)
			return
		}
		for k, v := range Headers(f) {
			w.Header().Set(k, v)
		}
		if NotModified(f, r.Header.Get("If-None-Match")) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write(f.Body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// jsCall imports module (a console asset) in the page and returns
// JSON.stringify(body), where body is an expression over m (the module) and
// input (in, as JSON).
func jsCall(t *testing.T, ctx context.Context, module, body string, in any) []byte {
	t.Helper()
	arg, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	expr := fmt.Sprintf(`import('/console/%s').then(m => { const input = %s; return JSON.stringify(%s); })`, module, arg, body)
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", module, err)
	}
	return []byte(out)
}

// TestConsoleScriptsInChromium loads the console under its real CSP (the
// key form appearing proves the modules ran) and tests the pure pieces the
// views rely on: the YAML emitter, the line diff and histogram binning.
func TestConsoleScriptsInChromium(t *testing.T) {
	ctx := browser.ForTest(t)
	srv := serveAssets(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/console"), chromedp.WaitVisible(chromedp.ID("api-key"))); err != nil {
		t.Fatalf("the console did not show its key form: %v", err)
	}
	t.Run("yaml", func(t *testing.T) { testYAML(t, ctx) })
	t.Run("diff", func(t *testing.T) { testDiff(t, ctx) })
	t.Run("bins", func(t *testing.T) { testBins(t, ctx) })
	t.Run("preview accounts", func(t *testing.T) { testPreviewAccounts(t, ctx) })
}

// testPreviewAccounts: the rules view renders a preview's accounts part
// (its stage changes and the accounts that would qualify, each linked to
// its view) as text: a domain or a stage-change key that looks like markup
// shows as those characters and makes no element; a preview without an
// accounts part renders nothing.
func testPreviewAccounts(t *testing.T, ctx context.Context) {
	evil := `<img src=x onerror=alert(1)>`
	snap := func(stage string, eng float64) map[string]any {
		return map[string]any{"fit": 50, "engagement": eng, "grade": "C", "stage": stage, "engaged_contacts": 2}
	}
	accounts := map[string]any{
		"accounts":      7,
		"stage_changes": map[string]any{"account->mqa": 1, "<b>mqa</b>->account": 2},
		"would_qualify": []any{map[string]any{"account_id": "ac_1/../x", "domain": evil,
			"before": snap("account", 40), "after": snap("mqa", 120.5)}},
		"would_unqualify": []any{}, "would_qualify_count": 1, "would_unqualify_count": 2,
	}
	var out struct {
		Text     string `json:"text"`
		Elements int    `json:"elements"`
		Rows     int    `json:"rows"`
		Href     string `json:"href"`
		Link     string `json:"link"`
		None     any    `json:"none"`
	}
	body := `(() => { const el = m.accountsResult(input);
		const a = el.querySelector('#accounts-qualify tbody a');
		return {text: el.textContent, elements: el.querySelectorAll('img, b').length,
			rows: el.querySelectorAll('#accounts-qualify tbody tr').length,
			href: a.getAttribute('href'), link: a.textContent, none: m.accountsResult(undefined)}; })()`
	if err := json.Unmarshal(jsCall(t, ctx, "views/rules.js", body, accounts), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"would move 3 of 7 accounts", "account → mqa 1", "<b>mqa</b> → account 2", "120.5", "(2)"} {
		if !strings.Contains(out.Text, want) {
			t.Errorf("the accounts part lacks %q: %q", want, out.Text)
		}
	}
	if out.Elements != 0 || out.Link != evil || out.Rows != 1 || out.Href != "#/account/ac_1%2F..%2Fx" || out.None != nil {
		t.Errorf("rendered %+v; want the domain as the link's text, no element from the data, one row, an encoded link, nothing without accounts", out)
	}
}

// testYAML: for documents and awkward strings, what toYAML writes is read
// back by a real YAML parser (yaml.v3, as ParseRules uses) as the same value.
func testYAML(t *testing.T, ctx context.Context) {
	var defaults any
	if err := yaml.Unmarshal(scoring.DefaultRulesYAML(), &defaults); err != nil {
		t.Fatal(err)
	}
	tricky := []any{"yes", "no", "on", "off", "y", "N", "true", "null", "~", "", " lead", "trail ", "1.0", "012", "0x1F", ".5",
		"-1", "+3", "2026-01-01", "12:30", "a: b", "a:b", "#x", "x #y", "- x", "-", "?", ":", "[a]", "{b}", "a,b", "@at", "`t", "!tag",
		"&a", "*a", "|", ">", "%x", "'q'", `"dq"`, "multi\nline", "tab\there", "ünïcode ✓", "https://x.example/p?q=1", "US", ".inf", "<<",
		"\u2028sep", "back\\slash", 0, -2.5, 1e21, true, false, nil, []any{}, map[string]any{}, []any{"a", 1, nil, "yes"},
		map[string]any{"yes": "no", "1": []any{map[string]any{"a": []any{[]any{1, 2}, map[string]any{}}}}, "": "empty key"}}
	inputs := append([]any{defaults, map[string]any{"tricky": tricky}}, tricky...)
	var out []string
	if err := json.Unmarshal(jsCall(t, ctx, "yaml.js", `input.map(v => m.toYAML(v))`, inputs), &out); err != nil {
		t.Fatal(err)
	}
	for i, doc := range out {
		var back any
		if err := yaml.Unmarshal([]byte(doc), &back); err != nil {
			t.Errorf("input %d: toYAML wrote YAML that does not parse: %v\n%s", i, err, doc)
			continue
		}
		if want, got := viaJSON(t, inputs[i]), viaJSON(t, back); !reflect.DeepEqual(want, got) {
			t.Errorf("input %d: toYAML then YAML parse = %#v, want %#v\n%s", i, got, want, doc)
		}
	}
	r, err := scoring.ParseRules([]byte(out[0]))
	if err != nil {
		t.Fatalf("the default rules written by toYAML do not parse as rules: %v", err)
	}
	if r.Version != 0 {
		t.Errorf("version %d", r.Version)
	}
}

// viaJSON normalizes a decoded value (ints vs floats, map types) by a JSON
// round trip.
func viaJSON(t *testing.T, v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%#v: %v", v, err)
	}
	var out any
	json.Unmarshal(b, &out)
	return out
}

type diffLine struct {
	Op   string `json:"op"`
	Text string `json:"text"`
}

// testDiff: on random line lists, diffLines keeps exactly a longest common
// subsequence (its length computed here independently) and its '-' and '+'
// sides rebuild each text.
func testDiff(t *testing.T, ctx context.Context) {
	rng := rand.New(rand.NewPCG(14, 1))
	var pairs [][2]string
	for range 60 {
		pairs = append(pairs, [2]string{randomText(rng), randomText(rng)})
	}
	pairs = append(pairs, [2]string{"", ""}, [2]string{"a\n", ""}, [2]string{"", "b\nc\n"}, [2]string{"same\n", "same\n"})
	var out [][]diffLine
	if err := json.Unmarshal(jsCall(t, ctx, "diff.js", `input.map(([a, b]) => m.diffLines(a, b))`, pairs), &out); err != nil {
		t.Fatal(err)
	}
	for i, d := range out {
		a, b := lines(pairs[i][0]), lines(pairs[i][1])
		var left, right []string
		kept := 0
		for _, l := range d {
			switch l.Op {
			case " ":
				left, right, kept = append(left, l.Text), append(right, l.Text), kept+1
			case "-":
				left = append(left, l.Text)
			case "+":
				right = append(right, l.Text)
			default:
				t.Fatalf("pair %d: op %q", i, l.Op)
			}
		}
		if !reflect.DeepEqual(left, a) || !reflect.DeepEqual(right, b) {
			t.Errorf("pair %d: the diff rebuilds %q / %q, want %q / %q", i, left, right, a, b)
		}
		if want := lcsLen(a, b); kept != want {
			t.Errorf("pair %d: %d unchanged lines, but the longest common subsequence has %d", i, kept, want)
		}
	}
	var h []diffLine
	text := "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n"
	json.Unmarshal(jsCall(t, ctx, "diff.js", `m.hunks(m.diffLines(input[0], input[1]), 1)`, []string{text, strings.Replace(text, "5\n", "five\n", 1)}), &h)
	var ops []string
	for _, l := range h {
		ops = append(ops, l.Op)
	}
	if got := strings.Join(ops, ""); got != "… -+ …" {
		t.Errorf("hunks with 1 line of context: ops %q, want %q", got, "… -+ …")
	}
}

func randomText(rng *rand.Rand) string {
	var b strings.Builder
	for range rng.IntN(15) {
		fmt.Fprintf(&b, "line %c\n", 'a'+rune(rng.IntN(5)))
	}
	return b.String()
}

func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

func lcsLen(a, b []string) int {
	prev := make([]int, len(b)+1)
	for i := range a {
		cur := make([]int, len(b)+1)
		for j := range b {
			if a[i] == b[j] {
				cur[j+1] = prev[j] + 1
			} else {
				cur[j+1] = max(prev[j+1], cur[j])
			}
		}
		prev = cur
	}
	return prev[len(b)]
}

type bin struct {
	From   float64 `json:"from"`
	Before int     `json:"before"`
	After  int     `json:"after"`
}

// testBins: coarsen keeps the counts and the bin width consistent.
func testBins(t *testing.T, ctx context.Context) {
	rng := rand.New(rand.NewPCG(14, 2))
	type tc struct {
		Bins  []bin   `json:"bins"`
		Width float64 `json:"width"`
		Max   int     `json:"max"`
	}
	var cases []tc
	for range 30 {
		c := tc{Width: 10, Max: 1 + rng.IntN(40)}
		start := float64(rng.IntN(20)-10) * 10
		for i := range rng.IntN(120) {
			c.Bins = append(c.Bins, bin{From: start + float64(i)*10, Before: rng.IntN(50), After: rng.IntN(50)})
		}
		cases = append(cases, c)
	}
	var out []struct {
		Bins  []bin   `json:"bins"`
		Width float64 `json:"width"`
	}
	json.Unmarshal(jsCall(t, ctx, "bins.js", `input.map(c => m.coarsen(c.bins || [], c.width, c.max))`, cases), &out)
	if len(out) != len(cases) {
		t.Fatalf("%d results for %d cases", len(out), len(cases))
	}
	for i, c := range cases {
		o := out[i]
		if len(o.Bins) > c.Max && len(c.Bins) > c.Max {
			t.Errorf("case %d: %d bins, max %d", i, len(o.Bins), c.Max)
		}
		var b0, a0, b1, a1 int
		for _, b := range c.Bins {
			b0, a0 = b0+b.Before, a0+b.After
		}
		for j, b := range o.Bins {
			b1, a1 = b1+b.Before, a1+b.After
			if len(c.Bins) > 0 && b.From != c.Bins[0].From+float64(j)*o.Width {
				t.Errorf("case %d: bin %d starts at %v, want %v", i, j, b.From, c.Bins[0].From+float64(j)*o.Width)
			}
		}
		if b0 != b1 || a0 != a1 {
			t.Errorf("case %d: totals %d/%d became %d/%d", i, b0, a0, b1, a1)
		}
	}
	var nice []float64
	json.Unmarshal(jsCall(t, ctx, "bins.js", `input.map(v => m.niceMax(v))`, []float64{0, 1, 3, 7, 10, 11, 240, 0.03}), &nice)
	if want := []float64{1, 1, 5, 10, 10, 20, 500, 0.05}; !reflect.DeepEqual(nice, want) {
		t.Errorf("niceMax = %v, want %v", nice, want)
	}
}
