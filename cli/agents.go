package cli

import "strings"

// defaultDemoAgents are the agents of `aragora debate` when neither --agents
// nor ARAGORA_DEFAULT_AGENTS is given (docs/debate.md#demo-agents).
const defaultDemoAgents = "demo-analyst,demo-critic,demo-judge"

// isDemoSpec reports whether spec names a demo agent (demo-<name>[:<style>]).
func isDemoSpec(spec string) bool { return strings.HasPrefix(strings.TrimSpace(spec), "demo-") }

// splitAgentSpecs splits a comma-separated agent list, dropping blanks.
func splitAgentSpecs(list string) []string {
	var out []string
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
