package emulators

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// RunTests is the whole TestMain of a package whose tests talk to the
// emulators: it starts them once for the test binary, stores them in
// *stack, runs the tests, stops the emulators and exits with the tests'
// code.
func RunTests(m *testing.M, stack **Stack) {
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
