package diag

import (
	"context"
	"time"

	"github.com/aragora/aragora/agent"
)

// DefaultPrompt is the prompt of an agent test that gives none (docs/http-api.md#diagnostics).
const DefaultPrompt = "Reply with the single word: pong"

// DefaultAgentTimeout bounds an agent test that gives no timeout.
const DefaultAgentTimeout = 60 * time.Second

// Tokens is the token usage of a test call.
type Tokens struct {
	Input  int `json:"input"`
	Output int `json:"output"`
}

// Error describes a failed test call: its agent_error kind, message and
// provider HTTP status (nil when the provider was not reached).
type Error struct {
	Kind       agent.Kind `json:"kind"`
	Message    string     `json:"message"`
	StatusCode *int       `json:"status_code"`
}

// Result is the outcome of [TestAgent], with the JSON names of
// POST /api/debug/agent-test; the server adds agent, provider, model and
// circuit_state. A provider failure is a Result with OK false, not an
// error.
type Result struct {
	OK        bool    `json:"ok"`
	LatencyMS int64   `json:"latency_ms"`
	Response  string  `json:"response"`
	Tokens    Tokens  `json:"tokens"`
	CostUSD   float64 `json:"cost_usd"`
	Error     *Error  `json:"error"`
	// Provider and Model are those the reply reports ("" on failure).
	Provider string `json:"-"`
	Model    string `json:"-"`
}

// TestAgent sends one prompt to a and reports the latency and the reply or
// the error. Pass the bare provider agent (registry.ResolveDirect) so that
// the call bypasses breaker and fallback. An empty prompt means
// [DefaultPrompt]; maxTokens 0 means the agent's default; timeout 0 means
// [DefaultAgentTimeout]. It returns when ctx is done or the timeout passes.
func TestAgent(ctx context.Context, a agent.Agent, prompt string, maxTokens int, timeout time.Duration) Result {
	if prompt == "" {
		prompt = DefaultPrompt
	}
	if timeout <= 0 {
		timeout = DefaultAgentTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	resp, err := a.Respond(ctx, agent.Request{
		DebateID:    "agent-test",
		Participant: "agent-test",
		Phase:       agent.PhasePropose,
		Round:       1,
		Rounds:      1,
		Prompt:      prompt,
		MaxTokens:   maxTokens,
	})
	res := Result{LatencyMS: time.Since(start).Milliseconds()}
	if err != nil {
		res.Error = &Error{Kind: agent.KindOf(err), Message: err.Error()}
		if s := agent.StatusCode(err); s != 0 {
			res.Error.StatusCode = &s
		}
		return res
	}
	res.OK = true
	res.Response = resp.Text
	res.Tokens = Tokens{Input: resp.Usage.InputTokens, Output: resp.Usage.OutputTokens}
	res.CostUSD = resp.CostUSD
	res.Provider, res.Model = resp.Provider, resp.Model
	return res
}
