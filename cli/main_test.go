package cli

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test of the binary leaks a goroutine. It is the
// package's only TestMain: add any shared setup here.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// demoDelayEnv is the testing-only variable that slows the demo agents
// (service.DemoDelayFromEnv).
const demoDelayEnv = "ARAGORA_DEMO_DELAY_MS"
