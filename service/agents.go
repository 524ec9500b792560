package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/registry"
	"github.com/aragora/aragora/lifecycle"
	"github.com/aragora/aragora/metrics"
)

// Agents resolves the agents of a debate through the provider registry
// (docs/agents.md) for the lifecycle: it implements lifecycle.Agents. Every
// resolved agent is wrapped in the metrics middleware when metrics are on,
// so that every call (critiques, votes and judgements included) is timed;
// demo agents also wait the testing-only DemoDelay and DemoGate. It is
// safe for concurrent use.
type Agents struct {
	reg     *registry.Registry
	metrics *metrics.Metrics // nil: metrics disabled
	delay   time.Duration
	gate    string
}

var _ lifecycle.Agents = (*Agents)(nil)

// NewAgents returns the agents of cfg.Agents (the zero value: the demo
// agents only), with cfg.DemoDelay and cfg.DemoGate.
func NewAgents(cfg Config) (*Agents, error) {
	cfg = cfg.withDefaults()
	reg, err := registry.New(cfg.Agents)
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	return &Agents{reg: reg, delay: cfg.DemoDelay, gate: cfg.DemoGate}, nil
}

// Registry returns the provider registry.
func (a *Agents) Registry() *registry.Registry { return a.reg }

// Resolve implements lifecycle.Agents.
func (a *Agents) Resolve(spec string, seed int64) (lifecycle.Agent, error) {
	name, ag, info, err := a.reg.Resolve(spec, seed)
	if err != nil {
		return lifecycle.Agent{}, mapAgentErr(err)
	}
	if info.Provider == registry.ProviderDemo && (a.delay > 0 || a.gate != "") {
		ag = withDelay(ag, a.delay, a.gate)
	}
	if a.metrics != nil {
		ag = a.metrics.AgentMiddleware(name)(ag)
	}
	return lifecycle.Agent{Name: name, Provider: info.Provider, Model: info.Model, Agent: ag}, nil
}

// mapAgentErr turns the registry's errors into the lifecycle's sentinels
// (400 unknown_agent / agent_unavailable).
func mapAgentErr(err error) error {
	var ue *registry.UnknownError
	var ae *registry.UnavailableError
	switch {
	case errors.As(err, &ue):
		return fmt.Errorf("%w: %w", lifecycle.ErrUnknownAgent, err)
	case errors.As(err, &ae):
		return fmt.Errorf("%w: %w", lifecycle.ErrAgentUnavailable, err)
	}
	return err
}

// withDelay wraps a so that each call first waits d and, after the
// debate's first round, until the file gate exists (gate "": no wait),
// keeping every capability of a (agent.Wrap).
func withDelay(a agent.Agent, d time.Duration, gate string) agent.Agent {
	return agent.Wrap(a, func(ctx context.Context, c agent.Call) (agent.Response, error) {
		if err := agent.Sleep(ctx, d); err != nil {
			return agent.Response{}, err
		}
		for gate != "" && c.Request.Round > 1 {
			if _, err := os.Stat(gate); err == nil {
				break
			}
			if err := agent.Sleep(ctx, 20*time.Millisecond); err != nil {
				return agent.Response{}, err
			}
		}
		return c.Next(ctx)
	})
}
