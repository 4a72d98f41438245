package dynamodb

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/leadscore/leadscore/infra/emulators"
)

// stack is the emulators every test of this package shares; each test that
// needs a clean table calls fresh.
var stack *emulators.Stack

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	st, err := emulators.Start(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the emulators:", err)
		os.Exit(1)
	}
	stack = st
	code := m.Run()
	st.Stop()
	os.Exit(code)
}

// newStore returns a store over the shared table. Tests use distinct lead
// ids, so they need no reset between them.
func newStore(t testing.TB) *Store {
	t.Helper()
	cfg, err := stack.AWSConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return New(dynamodb.NewFromConfig(cfg), stack.TableName)
}
