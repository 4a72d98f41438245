package dynamodb

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/leadscore/leadscore/infra/emulators"
	"github.com/leadscore/leadscore/shared/leadscore"
)

// stack is the emulators every test of this package shares; each test that
// needs a clean table calls fresh.
var stack *emulators.Stack

func TestMain(m *testing.M) { emulators.RunTests(m, &stack) }

// newStore returns a store over the shared table. Tests use distinct lead
// ids, so they need no reset between them.
func newStore(t testing.TB) *Store {
	t.Helper()
	emulators.Need(t)
	cfg, err := stack.AWSConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return New(dynamodb.NewFromConfig(cfg), stack.TableName)
}

// viewOf is l's API view, computed as the API computes it: with the rules
// version l was last evaluated with.
func viewOf(t testing.TB, rules leadscore.RulesStore, l *leadscore.Lead) leadscore.LeadView {
	t.Helper()
	v, err := leadscore.NewRulesCache(rules).View(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
