package sweep

import "github.com/leadscore/leadscore/infra/emulators"

// What the external tests (package sweep_test, which may import
// infra/wire) share with this package's tests.
var (
	// TestStack is the emulators TestMain started (nil under -short).
	TestStack = func() *emulators.Stack { return stack }
	Scheduled = scheduled
	ViewOf    = viewOf
)
