package metrics

import (
	"context"
	"time"

	"github.com/aragora/aragora/agent"
)

// AgentMiddleware records every call of the agent named name, whatever its
// phase (proposals, revisions, critiques, votes, judgements, syntheses):
// aragora_agent_response_seconds{agent,phase}, aragora_agent_requests_total
// {agent,outcome}, aragora_agent_errors_total{agent,kind},
// aragora_agent_tokens_total, aragora_agent_cost_usd_total and
// aragora_agent_fallbacks_total. Put it outermost, so that retries and a
// rescued fallback count as one call, as the debate's events do. A Streamer
// stays a Streamer.
func (m *Metrics) AgentMiddleware(name string) agent.Middleware {
	return func(next agent.Agent) agent.Agent {
		r := recorded{m: m, name: name, next: next}
		if s, ok := next.(agent.Streamer); ok {
			return recordedStreamer{recorded: r, stream: s}
		}
		return r
	}
}

// recorded times each call of next. It is safe for concurrent use when
// next is.
type recorded struct {
	m    *Metrics
	name string
	next agent.Agent
}

// Respond calls the wrapped agent and records the call.
func (r recorded) Respond(ctx context.Context, req agent.Request) (agent.Response, error) {
	start := time.Now()
	resp, err := r.next.Respond(ctx, req)
	r.m.RecordCall(r.name, req.Phase, time.Since(start), resp, err)
	return resp, err
}

// recordedStreamer is a recorded streaming agent.
type recordedStreamer struct {
	recorded
	stream agent.Streamer
}

// RespondStream streams from the wrapped agent and records the call.
func (r recordedStreamer) RespondStream(ctx context.Context, req agent.Request, onChunk func(string)) (agent.Response, error) {
	start := time.Now()
	resp, err := r.stream.RespondStream(ctx, req, onChunk)
	r.m.RecordCall(r.name, req.Phase, time.Since(start), resp, err)
	return resp, err
}

var _ agent.Streamer = recordedStreamer{}

// RecordCall records one finished call of agent name in phase, taking d.
// AgentMiddleware calls it; it is exported for agents called outside a
// middleware chain.
func (m *Metrics) RecordCall(name string, phase agent.Phase, d time.Duration, resp agent.Response, err error) {
	if phase != "" {
		m.AgentResponse.WithLabelValues(name, string(phase)).Observe(d.Seconds())
	}
	if err != nil {
		m.AgentRequests.WithLabelValues(name, "error").Inc()
		m.AgentErrors.WithLabelValues(name, string(agent.KindOf(err))).Inc()
		return
	}
	m.AgentRequests.WithLabelValues(name, "success").Inc()
	if resp.Fallback != nil {
		m.AgentFallbacks.WithLabelValues(name).Inc()
	}
	m.AgentTokens.WithLabelValues(name, "input").Add(float64(resp.Usage.InputTokens))
	m.AgentTokens.WithLabelValues(name, "output").Add(float64(resp.Usage.OutputTokens))
	if resp.CostUSD > 0 {
		m.AgentCost.WithLabelValues(name).Add(resp.CostUSD)
	}
}
