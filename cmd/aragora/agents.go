package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/registry"
)

// defaultDemoAgents are the agents of `aragora debate` when neither --agents
// nor ARAGORA_DEFAULT_AGENTS is given (docs/debate.md#demo-agents).
const defaultDemoAgents = "demo-analyst,demo-critic,demo-judge"

// demoDelayEnv names a hidden, testing-only variable: when set to an integer
// number of milliseconds, every demo agent call waits that long (respecting
// its context) before answering. The SIGINT test uses it to interrupt a
// debate in flight. Only cmd/aragora reads it; the library reads no
// environment variable.
const demoDelayEnv = "ARAGORA_DEMO_DELAY_MS"

// errUnknownAgent reports an agent spec that names no known agent;
// errAgentUnavailable a known agent without a credential. Both are usage
// errors (exit 2, docs/cli.md).
var (
	errUnknownAgent     = errors.New("unknown agent")
	errAgentUnavailable = errors.New("agent unavailable")
)

// isDemoSpec reports whether spec names a demo agent (demo-<name>[:<style>]).
func isDemoSpec(spec string) bool { return strings.HasPrefix(spec, "demo-") }

// agentResolver resolves agent names and specs (docs/agents.md#built-in-agents) through the
// provider registry, which reads its keys, base URLs and models from the
// environment, and adds the testing-only demo delay.
type agentResolver struct {
	reg   *registry.Registry
	delay time.Duration
}

func newAgentResolver(getenv env) (*agentResolver, error) {
	cfg, err := registry.FromEnv(getenv)
	if err != nil {
		return nil, err
	}
	reg, err := registry.New(cfg)
	if err != nil {
		return nil, err
	}
	delay, err := demoDelay(getenv)
	if err != nil {
		return nil, err
	}
	return &agentResolver{reg: reg, delay: delay}, nil
}

// resolve turns one agent spec into a participant's name, agent and model
// label. Errors wrap errUnknownAgent or errAgentUnavailable, naming the
// variable to set for the latter.
func (r *agentResolver) resolve(spec string, seed int64) (name string, a agent.Agent, info registry.Info, err error) {
	spec = strings.TrimSpace(spec)
	name, a, info, err = r.reg.Resolve(spec, seed)
	var unknown *registry.UnknownError
	var unavailable *registry.UnavailableError
	switch {
	case errors.As(err, &unavailable):
		return "", nil, info, fmt.Errorf("%w: %w", errAgentUnavailable, err)
	case errors.As(err, &unknown):
		return "", nil, info, fmt.Errorf("%w %q: %w", errUnknownAgent, spec, err)
	case err != nil:
		return "", nil, info, err
	}
	if r.delay > 0 && isDemoSpec(spec) {
		a = withDelay(a, r.delay)
	}
	return name, a, info, nil
}

// resolveAgent resolves one spec with a resolver of its own; callers that
// resolve several specs, or need shared breakers, use an agentResolver.
func resolveAgent(spec string, seed int64, getenv env) (name string, a agent.Agent, model string, err error) {
	r, err := newAgentResolver(getenv)
	if err != nil {
		return "", nil, "", err
	}
	name, a, info, err := r.resolve(spec, seed)
	return name, a, info.Model, err
}

// demoDelay reads demoDelayEnv; unset or empty means no delay.
func demoDelay(getenv env) (time.Duration, error) {
	raw := strings.TrimSpace(getenv(demoDelayEnv))
	if raw == "" {
		return 0, nil
	}
	ms, err := strconv.Atoi(raw)
	if err != nil || ms < 0 {
		return 0, fmt.Errorf("config: %s=%q: want an integer >= 0", demoDelayEnv, raw)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// withDelay wraps a so that each call first waits d, keeping every
// capability of a (agent.Wrap).
func withDelay(a agent.Agent, d time.Duration) agent.Agent {
	return agent.Wrap(a, func(ctx context.Context, c agent.Call) (agent.Response, error) {
		if err := sleepOrDone(ctx, d); err != nil {
			return agent.Response{}, err
		}
		return c.Next(ctx)
	})
}

func sleepOrDone(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

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
