package emulators

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"
)

// RunTests is the whole TestMain of a package whose tests talk to the
// emulators: it starts them once for the test binary, stores them in
// *stack, runs the tests, stops the emulators and exits with the tests'
// code.
//
// With -short (make unit) it starts nothing and leaves *stack nil: the
// package's emulator-backed tests skip themselves with Need, and its unit
// tests run without Java or Node.
func RunTests(m *testing.M, stack **Stack) {
	// TestMain runs before the testing package parses its flags; parse them
	// here so testing.Short can be read.
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	st, err := Start(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the emulators:", err)
		os.Exit(1)
	}
	*stack = st
	code := m.Run()
	st.Stop()
	os.Exit(code)
}

// Need skips t under -short: it is the first line of every test (or test
// helper) that talks to the emulators RunTests started. Those tests run in
// make test; make unit runs the rest in seconds.
func Need(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs DynamoDB Local and the SQS emulator (skipped with -short; make test runs it)")
	}
}
