// Package agent defines the port every debate participant implements, and
// the error kinds and middleware shared by every provider.
//
// An [Agent] answers one [Request] with one [Response]. Optional
// capabilities are discovered by type assertion: [Streamer] streams tokens;
// [Critic], [Voter] and [Judge] answer structurally, bypassing prompts and
// parsing (useful for rule-based agents and tests); [Describer] names the
// provider and model behind the agent, which [InfoOf] reads through
// middleware for stats, receipts and the agent status endpoint.
//
// # Errors and kinds
//
// Every error maps to one [Kind] through [KindOf]: timeout, rate_limited,
// quota_exhausted, auth, server, circuit_open, invalid_response, cancelled
// or other. The kind decides what the middleware does: [Retry] retries
// rate_limited and server errors (and timeouts), a circuit breaker counts
// server errors and timeouts, [FallbackMiddleware] rescues quota_exhausted,
// circuit_open and auth. A plain error is of kind other: never retried,
// never counted. So report a provider's refusals with the helpers:
//
//	return agent.Response{}, agent.RateLimited(20 * time.Second) // retried after 20 s
//	return agent.Response{}, agent.QuotaExhausted(err)           // not retried; falls back
//	return agent.Response{}, agent.Transient(err)                // retried; trips the breaker
//	return agent.Response{}, agent.AuthFailed(err)               // not retried; falls back
//
// HTTP provider adapters return a [*ProviderError] with the status code
// instead, wrapping [ErrRateLimited], [ErrQuotaExhausted], [ErrAuth] or
// another error. Errors defined in higher packages (breaker.ErrOpen,
// ratelimit.ErrLimited) implement [Kinder] to name their own kind, so this
// package imports nothing of ours.
//
// # Middleware
//
// [Middleware] decorates an Agent; [Chain] composes them, the first being
// the outermost. The recommended order is metrics → fallback → retry →
// breaker → rate limit → provider. Write a middleware with [Wrap]: its
// [Policy] sees every call (Respond, RespondStream, Critique, Vote, Judge)
// as one [Call], and the agent it returns keeps exactly the capabilities
// of the one it wraps. Every middleware of this module (Timeout, Retry,
// FallbackMiddleware, StatsMiddleware, RecorderMiddleware, breaker.Middleware,
// ratelimit.Middleware and PerKey, metrics' AgentMiddleware) is written
// that way; agenttest.CheckMiddleware checks a middleware of your own.
//
// The reply format of each debate phase, and how to test an agent with
// agenttest.Conformance, are in docs/agents.md.
//
// This package imports only the standard library.
package agent
