package chaos

import (
	"path"
	"sort"
	"strings"
	"testing"

	"github.com/leadscore/leadscore/infra/template"
)

// grants flattens a function's Allow statements into "action resource"
// pairs, resources named by logical id ("LeadsTable",
// "LeadsTable/index/due-index", "ScoreQueue").
func grants(t *testing.T, fn template.Function) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, pol := range fn.Policies {
		m, ok := pol.(map[string]any)
		if !ok {
			continue
		}
		stmts, _ := m["Statement"].([]any)
		for _, s := range stmts {
			st, _ := s.(map[string]any)
			if st["Effect"] != "Allow" {
				continue
			}
			for _, a := range template.List(st["Action"]) {
				for _, r := range template.List(st["Resource"]) {
					out[a.(string)+" "+template.ResourceID(r)] = true
				}
			}
		}
	}
	return out
}

// checkCallsAgainstPolicies proves, from what the handlers actually called
// during the chaos run, that template.yaml grants each function every
// action on every resource it used: the least-privilege policies are not
// only small (infra/template's test) but sufficient.
func checkCallsAgainstPolicies(t *testing.T, calls map[string]int) {
	t.Helper()
	tmpl, err := template.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	queueIDs := map[string]string{}
	for id, url := range stack.QueueURLs {
		queueIDs[path.Base(url)] = id
	}
	tb, err := tmpl.Table()
	if err != nil {
		t.Fatal(err)
	}
	byFn := map[string]map[string]bool{}
	var used []string
	for key := range calls {
		fnID, op, _ := strings.Cut(key, " ")
		if byFn[fnID] == nil {
			fn, err := tmpl.Function(fnID)
			if err != nil {
				t.Fatalf("calls recorded for %s: %v", fnID, err)
			}
			byFn[fnID] = grants(t, fn)
		}
		action, res, _ := strings.Cut(op, "@")
		resource := tb.LogicalID
		switch {
		case strings.HasPrefix(action, "sqs:"):
			resource = queueIDs[res]
		case res != "":
			resource = tb.LogicalID + "/index/" + res
		}
		used = append(used, fnID+" "+action+" "+resource)
		if !byFn[fnID][action+" "+resource] {
			t.Errorf("%s called %s on %s (%d times), which its policy in template.yaml does not grant", fnID, action, resource, calls[key])
		}
	}
	sort.Strings(used)
	t.Logf("AWS calls made, all granted by template.yaml: %s", strings.Join(used, "; "))
}
