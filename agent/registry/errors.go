package registry

import "fmt"

// UnknownError reports an agent name or spec that names no agent of docs/agents.md#built-in-agents,
// or whose derived name is invalid (400 unknown_agent).
type UnknownError struct {
	Spec   string
	Reason string
}

// Error names the spec and the reason.
func (e *UnknownError) Error() string {
	return fmt.Sprintf("registry: unknown agent %q: %s", e.Spec, e.Reason)
}

// UnavailableError reports a known agent that cannot run because it has no
// credential and no OpenRouter route (400 agent_unavailable). Var names the
// environment variable to set. Resolve returns it when a debate is
// created, never mid-debate.
type UnavailableError struct {
	Agent string
	Var   string
	// Alt, when set, is another variable that would also enable the agent
	// (OPENROUTER_API_KEY for agents OpenRouter can serve).
	Alt string
}

// Error names the agent and the variable to set.
func (e *UnavailableError) Error() string {
	if e.Alt != "" {
		return fmt.Sprintf("registry: agent %q is not configured: set %s (or %s)", e.Agent, e.Var, e.Alt)
	}
	return fmt.Sprintf("registry: agent %q is not configured: set %s", e.Agent, e.Var)
}
