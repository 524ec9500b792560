package main

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/demo"
	"github.com/aragora/aragora/agent/registry"
)

// cliHouse is a provider registered process-wide, as a program embedding
// the CLI registers its own; its agents are demo agents standing in for a
// model, and it records the keys it was built with.
var cliHouse = struct {
	once sync.Once
	mu   sync.Mutex
	keys []string
}{}

func registerCLIHouse() {
	cliHouse.once.Do(func() {
		registry.Register(registry.Provider{Name: "cli-house", DefaultModel: "house-1", KeyVar: "CLI_HOUSE_KEY",
			New: func(sp registry.Spec) (agent.Agent, error) {
				cliHouse.mu.Lock()
				cliHouse.keys = append(cliHouse.keys, sp.Key)
				cliHouse.mu.Unlock()
				return demo.New(sp.Name, demo.StyleBalanced, 3), nil
			}})
	})
}

// TestDebateWithRegisteredProvider runs `aragora debate --agents` with a
// registered provider's agents, by name and by <provider>:<model> spec.
func TestDebateWithRegisteredProvider(t *testing.T) {
	t.Parallel()
	registerCLIHouse()
	res := runCLI(t, context.Background(), map[string]string{"CLI_HOUSE_KEY": "house-key"},
		demoDebate("--agents", "cli-house,cli-house:big/2,demo-critic", "--rounds", "1", "--format", "json")...)
	require.Equal(t, exitOK, res.code, res.stderr)
	out := parseJSONOutput(t, res.stdout)
	assert.Equal(t, []any{"cli-house", "cli-house-big-2", "demo-critic"}, out.Debate["agents"])
	cliHouse.mu.Lock()
	assert.Contains(t, cliHouse.keys, "house-key", "the provider's key comes from the environment")
	cliHouse.mu.Unlock()

	// Without its key the agent is refused up front, naming the variable.
	res = runCLI(t, context.Background(), nil, demoDebate("--agents", "cli-house,demo-critic")...)
	assert.Equal(t, exitUsage, res.code, res.stderr)
	assert.Contains(t, res.stderr, "set CLI_HOUSE_KEY")
}
