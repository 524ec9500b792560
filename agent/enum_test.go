package agent_test

import (
	"testing"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/internal/enum/enumtest"
)

func TestPhaseNames(t *testing.T) {
	t.Parallel()
	enumtest.CheckOpen(t, agent.Phases, agent.ParsePhase, "rebut")
}

func TestStanceNames(t *testing.T) {
	t.Parallel()
	enumtest.Check(t, agent.Stances, agent.ParseStance, "Neutral")
}

func TestKindNames(t *testing.T) {
	t.Parallel()
	enumtest.CheckOpen(t, agent.Kinds, agent.ParseKind, "overloaded")
}

func TestCapabilityNames(t *testing.T) {
	t.Parallel()
	enumtest.Check(t, agent.AllCapabilities, agent.ParseCapability, "summarize")
}
