package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/demo"
)

// defaultDemoAgents are the agents of `aragora debate` when neither --agents
// nor ARAGORA_DEFAULT_AGENTS is given (DEBATE.md §13).
const defaultDemoAgents = "demo-analyst,demo-critic,demo-judge"

// demoDelayEnv names a hidden, testing-only variable: when set to an integer
// number of milliseconds, every demo agent call waits that long (respecting
// its context) before answering. The SIGINT test uses it to interrupt a
// debate in flight. Only cmd/aragora reads it; the library reads no
// environment variable.
const demoDelayEnv = "ARAGORA_DEMO_DELAY_MS"

// errUnknownAgent reports an agent spec that names no known agent.
var errUnknownAgent = errors.New("unknown agent")

// isDemoSpec reports whether spec names a demo agent (demo-<name>[:<style>]).
func isDemoSpec(spec string) bool { return strings.HasPrefix(spec, "demo-") }

// resolveAgent turns one agent spec into a participant's name, agent and
// model label. Demo specs (demo-<name>[:<style>], DEBATE.md §13) are
// resolved here; every other spec is an error wrapping errUnknownAgent.
//
// EXTENSION POINT for the provider registry (agent/registry): resolve
// provider names and specs (claude, gpt-4, …, openrouter:<model>, API.md §5)
// from getenv here, before the unknown-agent error, and return their
// errors for a known agent without a credential as usage errors too
// (API.md §17: "missing key" exits 2).
func resolveAgent(spec string, seed int64, getenv env) (name string, a agent.Agent, model string, err error) {
	spec = strings.TrimSpace(spec)
	if !isDemoSpec(spec) {
		return "", nil, "", fmt.Errorf("%w %q (demo agents are demo-<name>[:<style>]; provider agents are not available in this build)", errUnknownAgent, spec)
	}
	name, style, err := demo.ParseSpec(spec)
	if err != nil {
		return "", nil, "", fmt.Errorf("%w %q: %w", errUnknownAgent, spec, err)
	}
	delay, err := demoDelay(getenv)
	if err != nil {
		return "", nil, "", err
	}
	da := demo.New(name, style, seed)
	var d agent.Agent = da
	if delay > 0 {
		d = withDelay(da, delay)
	}
	return name, d, da.Model(), nil
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

// withDelay wraps a so that each call first waits d, keeping a's streaming
// capability.
func withDelay(a agent.Agent, d time.Duration) agent.Agent {
	da := delayedAgent{next: a, delay: d}
	if s, ok := a.(agent.Streamer); ok {
		return delayedStreamer{delayedAgent: da, stream: s}
	}
	return da
}

// delayedAgent waits before delegating each call. It is safe for
// concurrent use when next is.
type delayedAgent struct {
	next  agent.Agent
	delay time.Duration
}

// Respond waits, then calls the wrapped agent.
func (a delayedAgent) Respond(ctx context.Context, req agent.Request) (agent.Response, error) {
	if err := sleepOrDone(ctx, a.delay); err != nil {
		return agent.Response{}, err
	}
	return a.next.Respond(ctx, req)
}

// delayedStreamer is a delayedAgent over a streaming agent.
type delayedStreamer struct {
	delayedAgent
	stream agent.Streamer
}

// RespondStream waits, then streams from the wrapped agent.
func (a delayedStreamer) RespondStream(ctx context.Context, req agent.Request, onChunk func(string)) (agent.Response, error) {
	if err := sleepOrDone(ctx, a.delay); err != nil {
		return agent.Response{}, err
	}
	return a.stream.RespondStream(ctx, req, onChunk)
}

var _ agent.Streamer = delayedStreamer{}

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
