package template_test

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/leadscore/leadscore/infra/template"
)

// contractRoutes are the routes of docs/api.md "HTTP API" (rescore
// progress, the signals report and the local demo page included), each with
// the function that serves it: ingestion (public and event posts) apart
// from everything that reads, publishes or erases.
var contractRoutes = map[string]string{
	"POST /v1/events":                 "IngestFunction",
	"POST /v1/forms/{form_id}":        "IngestFunction",
	"OPTIONS /v1/forms/{form_id}":     "IngestFunction",
	"GET /":                           "IngestFunction",
	"GET /v1/leads/{lead_id}":         "ApiFunction",
	"GET /v1/leads":                   "ApiFunction",
	"DELETE /v1/leads/{lead_id}":      "ApiFunction",
	"GET /v1/rules":                   "ApiFunction",
	"PUT /v1/rules":                   "ApiFunction",
	"GET /v1/rules/{version}/rescore": "ApiFunction",
	"GET /v1/reports/signals":         "ApiFunction",
	"POST /v1/reports/signals":        "ApiFunction",
	// docs/api.md "Accounts, preview, console"
	"GET /v1/leads/{lead_id}/events":     "ApiFunction",
	"GET /v1/rules/versions":             "ApiFunction",
	"POST /v1/rules/preview":             "ApiFunction",
	"GET /v1/rules/preview/{preview_id}": "ApiFunction",
	"GET /console":                       "ApiFunction",
	"GET /console/{asset+}":              "ApiFunction",
	"GET /v1/accounts/{account_id}":      "ApiFunction",
	"GET /v1/accounts":                   "ApiFunction",
	// docs/api.md "Sources".
	"POST /v1/batch":           "IngestFunction",
	"POST /v1/track":           "IngestFunction",
	"POST /v1/identify":        "IngestFunction",
	"POST /v1/page":            "IngestFunction",
	"POST /v1/screen":          "IngestFunction",
	"POST /v1/group":           "IngestFunction",
	"POST /v1/alias":           "IngestFunction",
	"POST /v1/sources/segment": "IngestFunction",
	"GET /v1/t.js":             "IngestFunction",
	"POST /v1/collect":         "IngestFunction",
	"OPTIONS /v1/collect":      "IngestFunction",
}

// localOnly are variables the code may read that Lambda or the local stack
// set, never the template.
var localOnly = map[string]bool{
	"AWS_LAMBDA_FUNCTION_NAME": true, "AWS_REGION": true, "AWS_DEFAULT_REGION": true,
	"AWS_LAMBDA_RUNTIME_API": true, "_HANDLER": true, "LEADSCORE_LOCAL": true,
	"AWS_ENDPOINT_URL_DYNAMODB": true, "AWS_ENDPOINT_URL_SQS": true, "AWS_LAMBDA_LOG_FORMAT": true,
	"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true, "AWS_LAMBDA_FUNCTION_VERSION": true, "_X_AMZN_TRACE_ID": true,
	"LEADSCORE_ROOT": true,
}

// repo is what the check needs to know of the code besides the template.
type repo struct {
	root string
	// makeTargets maps a build-<LogicalId> target to the functions/ folder it builds.
	makeTargets map[string]string
	// envReads maps a functions/ folder to the variables its code reads.
	envReads map[string][]string
	// contractEnv are the variables of docs/api.md "Configuration", from shared/config.
	contractEnv []string
}

// check returns every way t disagrees with the code and the contract.
func check(t *template.Template, r repo) []string {
	var problems []string
	add := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	fns, err := t.Functions()
	if err != nil {
		return []string{err.Error()}
	}
	if len(fns) == 0 {
		add("template has no functions")
	}
	fnByID := map[string]template.Function{}
	setAnywhere := map[string]bool{}
	for _, fn := range fns {
		fnByID[fn.LogicalID] = fn
		for k := range fn.Env {
			setAnywhere[k] = true
		}
		if fn.Runtime != "provided.al2023" {
			add("%s: Runtime %q, want provided.al2023", fn.LogicalID, fn.Runtime)
		}
		if !slices.Equal(fn.Architectures, []string{"arm64"}) {
			add("%s: Architectures %v, want [arm64]", fn.LogicalID, fn.Architectures)
		}
		if fn.Handler != "bootstrap" {
			add("%s: Handler %q, want bootstrap", fn.LogicalID, fn.Handler)
		}
		if fn.BuildMethod != "makefile" {
			add("%s: Metadata.BuildMethod %q, want makefile", fn.LogicalID, fn.BuildMethod)
		}
		if fn.CodeURI != "." {
			add("%s: CodeUri %q, want . (the Makefile and go.mod are at the root)", fn.LogicalID, fn.CodeURI)
		}
		folder, ok := r.makeTargets[fn.LogicalID]
		if !ok {
			add("%s: the Makefile has no build-%s target", fn.LogicalID, fn.LogicalID)
			continue
		}
		if _, err := os.Stat(filepath.Join(r.root, "functions", folder, "main.go")); err != nil {
			add("%s: function folder functions/%s has no main.go", fn.LogicalID, folder)
		}
		for _, name := range r.envReads[folder] {
			if localOnly[name] {
				continue
			}
			if _, ok := fn.Env[name]; !ok {
				add("%s: the code of functions/%s reads %s, which the template does not set", fn.LogicalID, folder, name)
			}
		}
		for _, pol := range fn.Policies {
			b, _ := json.Marshal(pol)
			s := string(b)
			if strings.Contains(s, `"*"`) || strings.Contains(s, `:*"`) {
				add("%s: a policy grants a wildcard: %s", fn.LogicalID, s)
			}
			// Only the passes over every lead scan: the bulk rescore's pages
			// (score) and the signals report (api). Ingest and the sweep
			// must not.
			if strings.Contains(s, "dynamodb:Scan") && !scanners[fn.LogicalID] {
				add("%s: a policy allows dynamodb:Scan; only the rescore and the report scan", fn.LogicalID)
			}
		}
	}
	for _, name := range r.contractEnv {
		if !setAnywhere[name] {
			add("docs/api.md variable %s is set for no function", name)
		}
	}

	// Routes.
	routes, err := t.Routes()
	if err != nil {
		add("%v", err)
	}
	have := map[string]string{}
	for _, rt := range routes {
		have[rt.Key()] = rt.Function
	}
	for key, fn := range contractRoutes {
		switch got, ok := have[key]; {
		case !ok:
			add("route %s is missing", key)
		case got != fn:
			add("route %s is served by %s, want %s", key, got, fn)
		}
	}
	for key, fn := range have {
		if _, ok := contractRoutes[key]; !ok {
			add("route %s (%s) is not a route of docs/api.md; add it to contractRoutes on purpose", key, fn)
		}
	}

	// Queues: every consumed queue redrives to a DLQ after >= 5 receives and
	// hides a message for >= 6x the consumer's timeout.
	queues, err := t.Queues()
	if err != nil {
		add("%v", err)
	}
	qByID := map[string]template.Queue{}
	dlqs := map[string]bool{}
	for _, q := range queues {
		qByID[q.LogicalID] = q
		if q.DeadLetterQueue != "" {
			dlqs[q.DeadLetterQueue] = true
		}
	}
	sources, err := t.SQSSources()
	if err != nil {
		add("%v", err)
	}
	consumed := map[string]bool{}
	for _, s := range sources {
		consumed[s.Queue] = true
		q, ok := qByID[s.Queue]
		if !ok {
			add("%s event %s reads queue %s, which is not a queue of the template", s.Function, s.Event, s.Queue)
			continue
		}
		if !s.ReportBatchItemFailures {
			add("%s event %s: FunctionResponseTypes lacks ReportBatchItemFailures", s.Function, s.Event)
		}
		if q.DeadLetterQueue == "" {
			add("queue %s has no dead-letter queue", q.LogicalID)
		} else if _, ok := qByID[q.DeadLetterQueue]; !ok {
			add("queue %s redrives to %s, which is not a queue of the template", q.LogicalID, q.DeadLetterQueue)
		}
		if q.MaxReceiveCount < 5 {
			add("queue %s: maxReceiveCount %d, want at least 5", q.LogicalID, q.MaxReceiveCount)
		}
		if fn, ok := fnByID[s.Function]; ok && q.VisibilityTimeout < 6*fn.Timeout {
			add("queue %s: VisibilityTimeout %s is less than 6x %s's timeout %s", q.LogicalID, q.VisibilityTimeout, s.Function, fn.Timeout)
		}
	}
	for _, q := range queues {
		if !dlqs[q.LogicalID] && q.DeadLetterQueue == "" && !consumed[q.LogicalID] && !isScheduleDLQ(t, q.LogicalID) {
			add("queue %s is neither consumed, nor a dead-letter queue, nor redriven", q.LogicalID)
		}
	}
	for _, id := range []string{"ScoreQueue", "HandoffQueue"} {
		if !consumed[id] {
			add("queue %s has no SQS event source", id)
		}
	}

	// Schedule.
	schedules, err := t.Schedules()
	if err != nil {
		add("%v", err)
	}
	if len(schedules) == 0 {
		add("no schedule invokes the sweep")
	}
	for _, s := range schedules {
		if s.Type != "ScheduleV2" {
			add("%s event %s: Type %s, want ScheduleV2", s.Function, s.Event, s.Type)
		}
		if !s.HasRetryPolicy {
			add("%s event %s: no RetryPolicy", s.Function, s.Event)
		}
		if !s.HasDeadLetterConfig {
			add("%s event %s: no DeadLetterConfig", s.Function, s.Event)
		} else {
			dlqs[s.DeadLetterQueue] = true
		}
		if s.Every == 0 {
			add("%s event %s: %q is not a rate() the local stack can follow", s.Function, s.Event, s.Expression)
		}
		if !strings.Contains(s.Input, "<aws.scheduler.scheduled-time>") {
			add("%s event %s: Input does not carry the scheduled time in `time`", s.Function, s.Event)
		}
	}

	// An alarm on each DLQ's depth.
	alarmed := map[string]bool{}
	for _, id := range t.ResourcesOfType(template.TypeAlarm) {
		b, _ := json.Marshal(t.Resources[id].Properties["Dimensions"])
		for dlq := range dlqs {
			if strings.Contains(string(b), `"`+dlq+`"`) {
				alarmed[dlq] = true
			}
		}
	}
	for dlq := range dlqs {
		if !alarmed[dlq] {
			add("dead-letter queue %s has no CloudWatch alarm", dlq)
		}
	}

	// Table.
	tb, err := t.Table()
	if err != nil {
		add("%v", err)
	} else {
		if tb.BillingMode != "PAY_PER_REQUEST" {
			add("table %s: BillingMode %q, want PAY_PER_REQUEST", tb.LogicalID, tb.BillingMode)
		}
		idx := map[string]bool{}
		for _, g := range tb.GlobalSecondaryIndex {
			idx[g.IndexName] = true
		}
		for _, want := range []string{"due-index", "stage-index"} {
			if !idx[want] {
				add("table %s has no index %s (docs/design.md)", tb.LogicalID, want)
			}
		}
		if tb.TTLAttribute != "expires_at" {
			add("table %s: TTL attribute %q, want expires_at", tb.LogicalID, tb.TTLAttribute)
		}
	}

	if _, ok := t.Outputs["ApiUrl"]; !ok {
		add("Outputs has no ApiUrl")
	}
	sort.Strings(problems)
	return problems
}

func isScheduleDLQ(t *template.Template, id string) bool {
	ss, _ := t.Schedules()
	for _, s := range ss {
		if s.DeadLetterQueue == id {
			return true
		}
	}
	return false
}

func loadRepo(t *testing.T) repo {
	t.Helper()
	root, err := template.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	targets, err := template.RepoBuildTargets(root)
	if err != nil {
		t.Fatal(err)
	}
	r := repo{root: root, makeTargets: targets, envReads: map[string][]string{}}
	constants := configConstants(t, filepath.Join(root, "shared", "config", "config.go"))
	for name, value := range constants {
		if name != "EnvFunctionName" && name != "EnvLocal" {
			r.contractEnv = append(r.contractEnv, value)
		}
	}
	sort.Strings(r.contractEnv)
	for _, folder := range r.makeTargets {
		if _, err := os.Stat(filepath.Join(root, "functions", folder)); err != nil {
			continue
		}
		r.envReads[folder] = envReads(t, root, folder, constants)
	}
	return r
}

// configConstants reads the Env* string constants of shared/config.
func configConstants(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range vs.Names {
			if !strings.HasPrefix(name.Name, "Env") || i >= len(vs.Values) {
				continue
			}
			if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				v, _ := strconv.Unquote(lit.Value)
				out[name.Name] = v
			}
		}
		return true
	})
	if len(out) == 0 {
		t.Fatalf("%s declares no Env* constants", path)
	}
	return out
}

// envReads lists the variables the function at functions/<folder> reads:
// every config.Env* constant its code or the module packages it imports
// name (the required variables it hands to config.Load), and every literal
// os.Getenv / os.LookupEnv.
func envReads(t *testing.T, root, folder string, constants map[string]string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", `{{if and (not .Standard) (eq .Module.Path "`+template.Module+`")}}{{.Dir}}{{range .GoFiles}} {{.}}{{end}}{{end}}`, "./functions/"+folder)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list ./functions/%s: %v\n%s", folder, err, out)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 || fields[0] == filepath.Join(root, "shared", "config") {
			continue
		}
		for _, name := range fields[1:] {
			f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(fields[0], name), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.SelectorExpr:
					if id, ok := x.X.(*ast.Ident); ok && id.Name == "config" {
						if v, ok := constants[x.Sel.Name]; ok {
							seen[v] = true
						}
					}
				case *ast.CallExpr:
					if sel, ok := x.Fun.(*ast.SelectorExpr); ok && len(x.Args) == 1 {
						if id, ok := sel.X.(*ast.Ident); ok && id.Name == "os" && (sel.Sel.Name == "Getenv" || sel.Sel.Name == "LookupEnv") {
							if lit, ok := x.Args[0].(*ast.BasicLit); ok {
								v, _ := strconv.Unquote(lit.Value)
								seen[v] = true
							}
						}
					}
				}
				return true
			})
		}
	}
	var names []string
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// scanners are the functions whose work is a pass over every lead.
var scanners = map[string]bool{"ScoreFunction": true, "ApiFunction": true}

func TestTemplateMatchesCode(t *testing.T) {
	tmpl, err := template.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	r := loadRepo(t)
	if len(r.makeTargets) < 5 {
		t.Fatalf("Makefile build-<LogicalId> targets = %v, want one per function", r.makeTargets)
	}
	for _, p := range check(tmpl, r) {
		t.Error(p)
	}
}

// TestFunctionsBuild builds every function the template names the way the
// Makefile does for Lambda (linux/arm64, lambda.norpc).
func TestFunctionsBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every function")
	}
	r := loadRepo(t)
	var pkgs []string
	for _, folder := range r.makeTargets {
		pkgs = append(pkgs, "./functions/"+folder)
	}
	sort.Strings(pkgs)
	// Given several main packages, go build checks they build and discards
	// the binaries.
	cmd := exec.Command("go", append([]string{"build", "-tags", "lambda.norpc"}, pkgs...)...)
	cmd.Dir = r.root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %v: %v\n%s", pkgs, err, out)
	}
}

// TestCheckCatchesMutations proves the check fails when a function folder,
// an environment variable, a DLQ or a route goes missing.
func TestCheckCatchesMutations(t *testing.T) {
	root, err := template.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	base := loadRepo(t)
	resources := func(g map[string]any) map[string]any { return g["Resources"].(map[string]any) }
	props := func(g map[string]any, id string) map[string]any {
		return resources(g)[id].(map[string]any)["Properties"].(map[string]any)
	}
	tests := []struct {
		name   string
		mutate func(g map[string]any, r *repo)
		want   string
	}{
		{"function folder missing", func(_ map[string]any, r *repo) {
			r.makeTargets["ScoreFunction"] = "no-such-function"
		}, "functions/no-such-function has no main.go"},
		{"function without make target", func(g map[string]any, _ *repo) {
			resources(g)["ReportFunction"] = resources(g)["SweepFunction"]
		}, "no build-ReportFunction target"},
		{"env var the code reads not set", func(g map[string]any, r *repo) {
			r.envReads["handoff"] = append(r.envReads["handoff"], "WEBHOOK_SECRET")
			env := props(g, "HandoffFunction")["Environment"].(map[string]any)["Variables"].(map[string]any)
			delete(env, "WEBHOOK_SECRET")
		}, "reads WEBHOOK_SECRET"},
		{"contract env var set nowhere", func(g map[string]any, _ *repo) {
			env := props(g, "IngestFunction")["Environment"].(map[string]any)["Variables"].(map[string]any)
			delete(env, "FORMS")
		}, "FORMS is set for no function"},
		{"global env var dropped", func(g map[string]any, _ *repo) {
			glob := g["Globals"].(map[string]any)["Function"].(map[string]any)
			delete(glob["Environment"].(map[string]any)["Variables"].(map[string]any), "TABLE_NAME")
		}, "TABLE_NAME is set for no function"},
		{"DLQ missing", func(g map[string]any, _ *repo) {
			delete(props(g, "ScoreQueue"), "RedrivePolicy")
		}, "queue ScoreQueue has no dead-letter queue"},
		{"maxReceiveCount too low", func(g map[string]any, _ *repo) {
			props(g, "HandoffQueue")["RedrivePolicy"].(map[string]any)["maxReceiveCount"] = 2
		}, "maxReceiveCount 2"},
		{"visibility below 6x timeout", func(g map[string]any, _ *repo) {
			props(g, "ScoreQueue")["VisibilityTimeout"] = 60
		}, "less than 6x ScoreFunction"},
		{"no partial batch failures", func(g map[string]any, _ *repo) {
			ev := props(g, "HandoffFunction")["Events"].(map[string]any)["HandoffQueueEvents"].(map[string]any)
			delete(ev["Properties"].(map[string]any), "FunctionResponseTypes")
		}, "lacks ReportBatchItemFailures"},
		{"route missing", func(g map[string]any, _ *repo) {
			delete(props(g, "ApiFunction")["Events"].(map[string]any), "DeleteLead")
		}, "route DELETE /v1/leads/{lead_id} is missing"},
		{"a lead read served by ingest", func(g map[string]any, _ *repo) {
			ev := props(g, "ApiFunction")["Events"].(map[string]any)
			props(g, "IngestFunction")["Events"].(map[string]any)["GetLead"] = ev["GetLead"]
			delete(ev, "GetLead")
		}, "route GET /v1/leads/{lead_id} is served by IngestFunction, want ApiFunction"},
		{"route outside the contract", func(g map[string]any, _ *repo) {
			props(g, "ApiFunction")["Events"].(map[string]any)["Debug"] = map[string]any{"Type": "HttpApi",
				"Properties": map[string]any{"ApiId": map[string]any{"Ref": "HttpApi"}, "Method": "GET", "Path": "/debug"}}
		}, "route GET /debug (ApiFunction) is not a route of docs/api.md"},
		{"api folder missing", func(_ map[string]any, r *repo) {
			r.makeTargets["ApiFunction"] = "no-such-api"
		}, "functions/no-such-api has no main.go"},
		{"api key not set for the api", func(g map[string]any, r *repo) {
			env := props(g, "ApiFunction")["Environment"].(map[string]any)["Variables"].(map[string]any)
			delete(env, "API_KEY")
		}, "ApiFunction: the code of functions/api reads API_KEY"},
		{"ingest scans", func(g map[string]any, _ *repo) {
			p := props(g, "IngestFunction")
			p["Policies"] = append(p["Policies"].([]any), map[string]any{"Statement": []any{map[string]any{"Effect": "Allow",
				"Action": "dynamodb:Scan", "Resource": map[string]any{"Fn::GetAtt": []any{"LeadsTable", "Arn"}}}}})
		}, "IngestFunction: a policy allows dynamodb:Scan"},
		{"DLQ alarm missing", func(g map[string]any, _ *repo) {
			delete(resources(g), "HandoffDLQAlarm")
		}, "HandoffDLQ has no CloudWatch alarm"},
		{"schedule without retry policy", func(g map[string]any, _ *repo) {
			ev := props(g, "SweepFunction")["Events"].(map[string]any)["Sweep"].(map[string]any)
			delete(ev["Properties"].(map[string]any), "RetryPolicy")
		}, "no RetryPolicy"},
		{"index missing", func(g map[string]any, _ *repo) {
			p := props(g, "LeadsTable")
			p["GlobalSecondaryIndexes"] = p["GlobalSecondaryIndexes"].([]any)[:1]
		}, "no index stage-index"},
		{"wildcard policy", func(g map[string]any, _ *repo) {
			p := props(g, "SweepFunction")
			p["Policies"] = []any{map[string]any{"Statement": []any{map[string]any{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}}}}
		}, "grants a wildcard"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := template.ParseGeneric(doc)
			if err != nil {
				t.Fatal(err)
			}
			r := base
			r.makeTargets = maps.Clone(base.makeTargets)
			r.envReads = map[string][]string{}
			for k, v := range base.envReads {
				r.envReads[k] = slices.Clone(v)
			}
			tt.mutate(g, &r)
			tmpl, err := template.FromGeneric(g)
			if err != nil {
				t.Fatal(err)
			}
			problems := check(tmpl, r)
			for _, p := range problems {
				if strings.Contains(p, tt.want) {
					return
				}
			}
			t.Errorf("check found %q, want a problem containing %q", problems, tt.want)
		})
	}
}
