package emulators

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
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

// RunTestsOverMocks is RunTests for a package whose tests run over
// shared/mock when *stack is nil: besides -short, a fuzzing run and a
// benchmark-only run (-run=^$) start nothing either, so neither waits for
// Java and Node it does not use.
func RunTestsOverMocks(m *testing.M, stack **Stack) {
	flag.Parse()
	if fuzzingOrBenchmarkOnly(os.Args[1:]) {
		os.Exit(m.Run())
	}
	RunTests(m, stack)
}

// fuzzingOrBenchmarkOnly reports whether the test binary's flags ask for a
// fuzzing run or for no tests at all (benchmarks only).
func fuzzingOrBenchmarkOnly(args []string) bool {
	for _, a := range args {
		if strings.HasPrefix(a, "-test.fuzz=") || strings.HasPrefix(a, "-test.run=^$") || a == "-test.run=XXX" {
			return true
		}
	}
	return false
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
