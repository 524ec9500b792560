package agent_test

import (
	"testing"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/internal/enum/enumtest"
)

func TestNames(t *testing.T) {
	t.Parallel()
	enumtest.CheckOpen(t, agent.Phases, agent.ParsePhase, "rebut")
	enumtest.Check(t, agent.Stances, agent.ParseStance, "Neutral")
	enumtest.CheckOpen(t, agent.Kinds, agent.ParseKind, "overloaded")
	enumtest.Check(t, agent.AllCapabilities, agent.ParseCapability, "summarize")
}
