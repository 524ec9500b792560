package metrics

import (
	"context"
	"time"

	"github.com/aragora/aragora/agent"
)

// AgentMiddleware records every call of the agent named name, whatever its
// phase (proposals, revisions, critiques, votes, judgements, syntheses) and
// capability (streamed and structural calls too):
// aragora_agent_response_seconds{agent,phase}, aragora_agent_requests_total
// {agent,outcome}, aragora_agent_errors_total{agent,kind},
// aragora_agent_tokens_total, aragora_agent_cost_usd_total and
// aragora_agent_fallbacks_total. Put it outermost, so that retries and a
// rescued fallback count as one call, as the debate's events do. The
// result keeps the wrapped agent's capabilities (agent.Wrap).
func (m *Metrics) AgentMiddleware(name string) agent.Middleware {
	return func(next agent.Agent) agent.Agent {
		return agent.Wrap(next, func(ctx context.Context, c agent.Call) (agent.Response, error) {
			start := time.Now()
			resp, err := c.Next(ctx)
			m.RecordCall(name, c.Request.Phase, time.Since(start), resp, err)
			return resp, err
		})
	}
}

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
