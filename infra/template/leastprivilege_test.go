package template_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/leadscore/leadscore/infra/template"
)

// access is what one function may do: actions per service, and the
// resources (logical ids, "LeadsTable/index/<name>" for an index).
type access struct {
	dynamo, dynamoRes, sqs, sqsRes []string
	// rulesOnly: every table statement must carry a dynamodb:LeadingKeys
	// condition allowing the rules partition (shared/dynamodb's key) and
	// nothing else, so no item of a lead can be read.
	rulesOnly bool
}

// needs is the least privilege of each function, from what its code calls
// (infra/chaos records every call the real handlers make and checks that
// the template grants them; this test checks that it grants nothing more).
// A new function, action or resource must be added here on purpose.
var needs = map[string]access{
	// Ingestion: the event types of the newest rules version (one Query of
	// the rules partition; GetItem of a version there) and the score
	// queues. Nothing of a lead, ever: a bug in the public form parser
	// must not be one step from every lead's personal data.
	"IngestFunction": {
		dynamo: []string{"GetItem", "Query"}, dynamoRes: []string{"LeadsTable"}, rulesOnly: true,
		sqs: []string{"SendMessage"}, sqsRes: []string{"ScoreQueue", "UrgentScoreQueue"},
	},
	// The API: reads leads and rules, lists a stage (stage-index),
	// publishes rules, erasure tombstones, the rescore's, a rules
	// preview's and the signals report build's job items and a preview's
	// summary (PutItem), erases (Query + BatchWriteItem), reads the leads
	// with an outcome for the signals report (outcome-index). It never
	// scans, never updates a lead in place, never deletes one item at a
	// time, and never sees the due index; its queues are the score queue,
	// for the first page message of a rescore or a preview and the report
	// build's message, and the account queue, for an erased lead's account.
	// Accounts are read like leads (GetItem, stage-index, BatchGetItem).
	"ApiFunction": {
		dynamo:    []string{"GetItem", "BatchGetItem", "Query", "PutItem", "BatchWriteItem"},
		dynamoRes: []string{"LeadsTable", "LeadsTable/index/stage-index", "LeadsTable/index/outcome-index"},
		sqs:       []string{"SendMessage"}, sqsRes: []string{"AccountQueue", "ScoreQueue"},
	},
	// Scoring: the lead's read-modify-write, event records, outbox marks,
	// erasure of records written after an erasure, the bulk rescore's scan
	// and transactions, the signals report's background build (its job
	// items, and the outcome-index); accounts (their items and member
	// pages); sends transitions and rescore pages to itself, and account
	// messages to the account queue.
	"ScoreFunction": {
		dynamo:    []string{"GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem", "BatchWriteItem", "ConditionCheckItem", "Scan"},
		dynamoRes: []string{"LeadsTable", "LeadsTable/index/outcome-index"},
		sqs:       []string{"SendMessage"}, sqsRes: []string{"AccountQueue", "HandoffQueue", "ScoreQueue", "UrgentScoreQueue"},
	},
	"SweepFunction": {
		dynamo: []string{"Query"}, dynamoRes: []string{"LeadsTable/index/due-index"},
		sqs: []string{"SendMessage"}, sqsRes: []string{"AccountQueue", "ScoreQueue"},
	},
	// No table at all: the webhook body travels in the message.
	"HandoffFunction": {sqs: []string{"ChangeMessageVisibility"}, sqsRes: []string{"HandoffQueue"}},
}

// sources are the queues each consumer's event sources read. The urgent
// score queue carries hand-raises past the batching window, to the same
// function.
var sources = map[string][]string{"ScoreFunction": {"AccountQueue", "ScoreQueue", "UrgentScoreQueue"}, "HandoffFunction": {"HandoffQueue"}}

// checkLeastPrivilege lists every way the template's function policies
// grant more than needs: wildcards, actions or resources a function does
// not use, a queue it does not use, a function nobody reviewed, a table
// read of ingestion outside the rules partition; and the limits that keep
// cost and data bounded (API throttling, TTL, event retention).
func checkLeastPrivilege(tm *template.Template) []string {
	var problems []string
	add := func(f string, a ...any) { problems = append(problems, fmt.Sprintf(f, a...)) }
	fns, err := tm.Functions()
	if err != nil {
		return []string{err.Error()}
	}
	for _, fn := range fns {
		need, ok := needs[fn.LogicalID]
		if !ok {
			add("%s: no least-privilege entry in this test; add one naming what it uses", fn.LogicalID)
			continue
		}
		for _, pol := range fn.Policies {
			m, ok := pol.(map[string]any)
			if !ok {
				add("%s: policy %v is a managed policy or template; only inline statements can be checked", fn.LogicalID, pol)
				continue
			}
			for _, s := range template.List(m["Statement"]) {
				st, _ := s.(map[string]any)
				if st["Effect"] != "Allow" {
					continue
				}
				if _, ok := st["NotAction"]; ok {
					add("%s: a statement uses NotAction, which grants everything else", fn.LogicalID)
				}
				if _, ok := st["NotResource"]; ok {
					add("%s: a statement uses NotResource", fn.LogicalID)
				}
				var services []string
				for _, a := range template.List(st["Action"]) {
					action, _ := a.(string)
					service, op, _ := strings.Cut(action, ":")
					services = append(services, service)
					switch {
					case strings.Contains(action, "*"):
						add("%s: grants the wildcard action %q", fn.LogicalID, action)
					case service == "dynamodb" && !slices.Contains(need.dynamo, op):
						add("%s: grants %s, which it does not use", fn.LogicalID, action)
					case service == "sqs" && !slices.Contains(need.sqs, op):
						add("%s: grants %s, which it does not use", fn.LogicalID, action)
					case service != "dynamodb" && service != "sqs":
						add("%s: grants %s, a service it does not use", fn.LogicalID, action)
					}
				}
				if need.rulesOnly && slices.Contains(services, "dynamodb") {
					if err := rulesPartitionOnly(st["Condition"]); err != nil {
						add("%s: reads the table outside the rules partition: %v", fn.LogicalID, err)
					}
				}
				for _, r := range template.List(st["Resource"]) {
					id := template.ResourceID(r)
					if strings.Contains(id, "*") {
						add("%s: grants on the wildcard resource %q", fn.LogicalID, id)
						continue
					}
					for _, service := range services {
						switch {
						case service == "dynamodb" && !slices.Contains(need.dynamoRes, id):
							add("%s: grants dynamodb actions on %s, which it does not use", fn.LogicalID, id)
						case service == "sqs" && !slices.Contains(need.sqsRes, id):
							add("%s: can reach queue %s, which it does not use", fn.LogicalID, id)
						}
					}
				}
			}
		}
		for name, ev := range fn.Events {
			if ev.Type != "SQS" {
				continue
			}
			id, _, _ := template.GetAttTarget(ev.Properties["Queue"])
			if !slices.Contains(sources[fn.LogicalID], id) {
				add("%s: event source %s reads queue %s; it should read one of %q", fn.LogicalID, name, id, sources[fn.LogicalID])
			}
		}
	}

	// Limits.
	api, ok := tm.Resources["HttpApi"]
	if !ok {
		add("no HttpApi resource")
	} else {
		rs, _ := api.Properties["DefaultRouteSettings"].(map[string]any)
		for _, k := range []string{"ThrottlingRateLimit", "ThrottlingBurstLimit"} {
			if n, ok := rs[k].(float64); !ok || n <= 0 {
				add("HttpApi DefaultRouteSettings.%s is %v; the API must be throttled", k, rs[k])
			}
		}
	}
	if tb, err := tm.Table(); err != nil || tb.TTLAttribute != "expires_at" {
		add("the table's TTL attribute is %q (%v); event records and tombstones expire through expires_at", tb.TTLAttribute, err)
	}
	if score, err := tm.Function("ScoreFunction"); err == nil {
		if _, ok := score.Env["EVENT_RETENTION_DAYS"]; !ok {
			add("ScoreFunction has no EVENT_RETENTION_DAYS: raw events would never expire")
		}
	}
	sort.Strings(problems)
	return problems
}

// rulesPartitionOnly checks a statement's Condition: exactly
// ForAllValues:StringEquals on dynamodb:LeadingKeys with the rules
// partition key alone. ForAnyValue, StringLike or a second key would let a
// lead's partition through.
func rulesPartitionOnly(cond any) error {
	c, _ := cond.(map[string]any)
	if len(c) != 1 {
		return fmt.Errorf("want one condition operator, ForAllValues:StringEquals, got %v", cond)
	}
	op, _ := c["ForAllValues:StringEquals"].(map[string]any)
	if op == nil {
		return fmt.Errorf("want ForAllValues:StringEquals, got %v", cond)
	}
	keys := template.List(op["dynamodb:LeadingKeys"])
	if len(op) != 1 || len(keys) != 1 || keys[0] != rulesPartition {
		return fmt.Errorf("want dynamodb:LeadingKeys [%s] only, got %v", rulesPartition, op)
	}
	return nil
}

// rulesPartition is the rules items' partition key, read from shared/dynamodb
// (the storage package owns key formats), so the policy cannot drift from it.
var rulesPartition = func() string {
	root, err := template.RepoRoot()
	if err != nil {
		panic(err)
	}
	files, _ := filepath.Glob(filepath.Join(root, "shared", "dynamodb", "*.go"))
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, 0)
		if err != nil {
			panic(err)
		}
		for _, d := range file.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if strings.EqualFold(n.Name, "rulesPK") && i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							v, _ := strconv.Unquote(lit.Value)
							return v
						}
					}
				}
			}
		}
	}
	panic("shared/dynamodb declares no rulesPK string constant: where is the rules partition key now?")
}()

func TestRulesPartitionIsTheStoresKey(t *testing.T) {
	if rulesPartition != "RULES" {
		t.Errorf("shared/dynamodb's rules partition is %q; template.yaml's ReadRulesOnly condition names RULES", rulesPartition)
	}
}

func TestTemplateGrantsLeastPrivilege(t *testing.T) {
	tm, err := template.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range checkLeastPrivilege(tm) {
		t.Error(p)
	}
}

// TestLeastPrivilegeCatchesMutations proves each check can fail: every
// mutated copy of template.yaml must be refused with the expected reason.
func TestLeastPrivilegeCatchesMutations(t *testing.T) {
	root, err := template.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	res := func(g map[string]any) map[string]any { return g["Resources"].(map[string]any) }
	props := func(g map[string]any, id string) map[string]any {
		return res(g)[id].(map[string]any)["Properties"].(map[string]any)
	}
	addStatement := func(g map[string]any, fn string, st map[string]any) {
		pols := props(g, fn)["Policies"].([]any)
		p := pols[0].(map[string]any)
		p["Statement"] = append(p["Statement"].([]any), st)
	}
	table := map[string]any{"Fn::GetAtt": []any{"LeadsTable", "Arn"}}
	queue := func(id string) any { return map[string]any{"Fn::GetAtt": []any{id, "Arn"}} }
	tests := []struct {
		name   string
		mutate func(g map[string]any)
		want   string
	}{
		{"wildcard action", func(g map[string]any) {
			addStatement(g, "ScoreFunction", map[string]any{"Effect": "Allow", "Action": "dynamodb:*", "Resource": table})
		}, `ScoreFunction: grants the wildcard action "dynamodb:*"`},
		{"wildcard resource", func(g map[string]any) {
			addStatement(g, "SweepFunction", map[string]any{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"})
		}, `SweepFunction: grants on the wildcard resource "*"`},
		{"ingest reads a lead (GetItem without the rules condition)", func(g map[string]any) {
			addStatement(g, "IngestFunction", map[string]any{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": table})
		}, "IngestFunction: reads the table outside the rules partition"},
		{"ingest condition dropped", func(g map[string]any) {
			st := props(g, "IngestFunction")["Policies"].([]any)[0].(map[string]any)["Statement"].([]any)
			for _, s := range st {
				delete(s.(map[string]any), "Condition")
			}
		}, "IngestFunction: reads the table outside the rules partition"},
		{"ingest condition widened to leads", func(g map[string]any) {
			addStatement(g, "IngestFunction", map[string]any{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": table,
				"Condition": map[string]any{"ForAllValues:StringEquals": map[string]any{"dynamodb:LeadingKeys": []any{"RULES", "LEAD#ld_0123"}}}})
		}, "IngestFunction: reads the table outside the rules partition"},
		{"ingest condition by pattern", func(g map[string]any) {
			addStatement(g, "IngestFunction", map[string]any{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": table,
				"Condition": map[string]any{"ForAllValues:StringLike": map[string]any{"dynamodb:LeadingKeys": []any{"*"}}}})
		}, "IngestFunction: reads the table outside the rules partition"},
		{"ingest scans the table", func(g map[string]any) {
			addStatement(g, "IngestFunction", map[string]any{"Effect": "Allow", "Action": "dynamodb:Scan", "Resource": table,
				"Condition": map[string]any{"ForAllValues:StringEquals": map[string]any{"dynamodb:LeadingKeys": []any{"RULES"}}}})
		}, "IngestFunction: grants dynamodb:Scan, which it does not use"},
		{"ingest lists a stage", func(g map[string]any) {
			addStatement(g, "IngestFunction", map[string]any{"Effect": "Allow", "Action": "dynamodb:Query",
				"Resource":  map[string]any{"Fn::Sub": "${LeadsTable.Arn}/index/stage-index"},
				"Condition": map[string]any{"ForAllValues:StringEquals": map[string]any{"dynamodb:LeadingKeys": []any{"RULES"}}}})
		}, "IngestFunction: grants dynamodb actions on LeadsTable/index/stage-index"},
		{"ingest publishes rules", func(g map[string]any) {
			addStatement(g, "IngestFunction", map[string]any{"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": table,
				"Condition": map[string]any{"ForAllValues:StringEquals": map[string]any{"dynamodb:LeadingKeys": []any{"RULES"}}}})
		}, "IngestFunction: grants dynamodb:PutItem, which it does not use"},
		{"api sends to the urgent queue it never uses", func(g map[string]any) {
			addStatement(g, "ApiFunction", map[string]any{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue("UrgentScoreQueue")})
		}, "ApiFunction: can reach queue UrgentScoreQueue"},
		{"api sends handoffs", func(g map[string]any) {
			addStatement(g, "ApiFunction", map[string]any{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue("HandoffQueue")})
		}, "ApiFunction: can reach queue HandoffQueue"},
		{"api updates leads", func(g map[string]any) {
			addStatement(g, "ApiFunction", map[string]any{"Effect": "Allow", "Action": []any{"dynamodb:UpdateItem"}, "Resource": table})
		}, "ApiFunction: grants dynamodb:UpdateItem, which it does not use"},
		{"ingest updates leads", func(g map[string]any) {
			addStatement(g, "IngestFunction", map[string]any{"Effect": "Allow", "Action": []any{"dynamodb:UpdateItem"}, "Resource": table})
		}, "IngestFunction: grants dynamodb:UpdateItem, which it does not use"},
		{"ingest deletes items one by one", func(g map[string]any) {
			addStatement(g, "IngestFunction", map[string]any{"Effect": "Allow", "Action": "dynamodb:DeleteItem", "Resource": table})
		}, "IngestFunction: grants dynamodb:DeleteItem"},
		{"ingest reads the due index", func(g map[string]any) {
			addStatement(g, "IngestFunction", map[string]any{"Effect": "Allow", "Action": "dynamodb:Query",
				"Resource": map[string]any{"Fn::Sub": "${LeadsTable.Arn}/index/due-index"}})
		}, "IngestFunction: grants dynamodb actions on LeadsTable/index/due-index"},
		{"api reads the due index", func(g map[string]any) {
			addStatement(g, "ApiFunction", map[string]any{"Effect": "Allow", "Action": "dynamodb:Query",
				"Resource": map[string]any{"Fn::Sub": "${LeadsTable.Arn}/index/due-index"}})
		}, "ApiFunction: grants dynamodb actions on LeadsTable/index/due-index"},
		{"sweep reaches the handoff queue", func(g map[string]any) {
			addStatement(g, "SweepFunction", map[string]any{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue("HandoffQueue")})
		}, "SweepFunction: can reach queue HandoffQueue"},
		{"handoff reads the table", func(g map[string]any) {
			addStatement(g, "HandoffFunction", map[string]any{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": table})
		}, "HandoffFunction: grants dynamodb:GetItem"},
		{"handoff purges its queue", func(g map[string]any) {
			addStatement(g, "HandoffFunction", map[string]any{"Effect": "Allow", "Action": "sqs:PurgeQueue", "Resource": queue("HandoffQueue")})
		}, "HandoffFunction: grants sqs:PurgeQueue"},
		{"another service", func(g map[string]any) {
			addStatement(g, "ScoreFunction", map[string]any{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/key"})
		}, "ScoreFunction: grants s3:GetObject, a service it does not use"},
		{"NotAction", func(g map[string]any) {
			addStatement(g, "ScoreFunction", map[string]any{"Effect": "Allow", "NotAction": "iam:*", "Resource": table})
		}, "ScoreFunction: a statement uses NotAction"},
		{"unreviewed function", func(g map[string]any) {
			res(g)["ReportFunction"] = res(g)["SweepFunction"]
		}, "ReportFunction: no least-privilege entry"},
		{"consumer of the wrong queue", func(g map[string]any) {
			props(g, "HandoffFunction")["Events"].(map[string]any)["HandoffQueueEvents"].(map[string]any)["Properties"].(map[string]any)["Queue"] = queue("ScoreQueue")
		}, "HandoffFunction: event source HandoffQueueEvents reads queue ScoreQueue"},
		{"API not throttled", func(g map[string]any) {
			delete(props(g, "HttpApi"), "DefaultRouteSettings")
		}, "HttpApi DefaultRouteSettings.ThrottlingRateLimit"},
		{"TTL on another attribute", func(g map[string]any) {
			props(g, "LeadsTable")["TimeToLiveSpecification"].(map[string]any)["AttributeName"] = "ttl"
		}, "the table's TTL attribute is \"ttl\""},
		{"retention not wired", func(g map[string]any) {
			delete(props(g, "ScoreFunction")["Environment"].(map[string]any)["Variables"].(map[string]any), "EVENT_RETENTION_DAYS")
		}, "ScoreFunction has no EVENT_RETENTION_DAYS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := template.ParseGeneric(doc)
			if err != nil {
				t.Fatal(err)
			}
			tt.mutate(g)
			tm, err := template.FromGeneric(g)
			if err != nil {
				t.Fatal(err)
			}
			problems := checkLeastPrivilege(tm)
			found := false
			for _, p := range problems {
				found = found || strings.Contains(p, tt.want)
			}
			if !found {
				t.Errorf("mutation not caught: want a problem containing %q, got %q", tt.want, problems)
			}
		})
	}
}
