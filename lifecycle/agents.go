package lifecycle

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aragora/aragora/agent"
)

// Sentinels an Agents implementation wraps for names it cannot serve; the
// server answers them with 400 unknown_agent and agent_unavailable.
var (
	// ErrUnknownAgent reports an agent name or spec that names no agent.
	ErrUnknownAgent = errors.New("lifecycle: unknown agent")
	// ErrAgentUnavailable reports a known agent without credential or fallback.
	ErrAgentUnavailable = errors.New("lifecycle: agent unavailable")
)

// Agent is one resolved agent with the labels events and receipts use.
type Agent struct {
	Name     string // derived participant name (docs/agents.md#built-in-agents)
	Provider string
	Model    string
	Agent    agent.Agent
}

// Agents resolves the agent names and specs of a debate (docs/agents.md#built-in-agents). The
// composition (package service, or a program of its own) builds it from
// the provider registry, so this package imports no adapter. Resolve
// returns an error wrapping ErrUnknownAgent or ErrAgentUnavailable for
// names it cannot serve; seed seeds demo agents. Implementations must be
// safe for concurrent use.
type Agents interface {
	Resolve(spec string, seed int64) (Agent, error)
}

// AgentError is a failure to resolve one agent spec of a debate; Err
// wraps ErrUnknownAgent or ErrAgentUnavailable when the registry knows why.
type AgentError struct {
	Spec string
	Err  error
}

// Error is the resolver's own message.
func (e *AgentError) Error() string { return e.Err.Error() }

// Unwrap returns the resolver's error.
func (e *AgentError) Unwrap() error { return e.Err }

// ResolveAgents resolves the agents of sp, in order, and its judge when
// the judge is not one of them (nil otherwise), and fills sp.Names. An
// agent given twice is a *ValidationError; a spec the resolver refuses an
// *AgentError.
func ResolveAgents(a Agents, sp *Spec) (debaters []Agent, judge *Agent, err error) {
	if a == nil {
		return nil, nil, &AgentError{Err: fmt.Errorf("%w: no agent registry configured", ErrUnknownAgent)}
	}
	resolve := func(spec string) (Agent, error) {
		ra, err := a.Resolve(spec, sp.Seed)
		if err != nil {
			return ra, &AgentError{Spec: spec, Err: err}
		}
		return ra, nil
	}
	seen := map[string]bool{}
	names := make([]string, 0, len(sp.Agents))
	for _, spec := range sp.Agents {
		ra, err := resolve(spec)
		if err != nil {
			return nil, nil, err
		}
		k := strings.ToLower(ra.Name)
		if seen[k] {
			return nil, nil, invalid("agents", fmt.Sprintf("duplicate agent %q: give each agent once", ra.Name))
		}
		seen[k] = true
		debaters = append(debaters, ra)
		names = append(names, ra.Name)
	}
	sp.Names = names
	if sp.Judge == "" {
		return debaters, nil, nil
	}
	for _, ra := range debaters {
		if strings.EqualFold(ra.Name, sp.Judge) {
			return debaters, nil, nil
		}
	}
	j, err := resolve(sp.Judge)
	if err != nil {
		return nil, nil, err
	}
	return debaters, &j, nil
}
