// Package agent defines the port every debate participant implements, and
// the error kinds and middleware shared by every provider.
//
// An [Agent] answers one [Request] with one [Response]. Optional
// capabilities are discovered by type assertion: [Streamer] streams tokens,
// and [Critic], [Voter] and [Judge] answer structurally, bypassing prompts
// and parsing (useful for rule-based agents and tests).
//
// # Errors and kinds
//
// Providers report failures as [*ProviderError] wrapping one of
// [ErrRateLimited], [ErrQuotaExhausted], [ErrAuth] or another error.
// [KindOf] maps any error to one [Kind]; errors defined in higher packages
// (breaker.ErrOpen, ratelimit.ErrLimited) implement [Kinder] to name their
// own kind, so this package imports nothing of ours.
//
// # Middleware
//
// [Middleware] decorates an Agent; [Chain] composes them, the first being
// the outermost. The recommended order is metrics → fallback → retry →
// breaker → rate limit → provider.
//
// This package imports only the standard library.
package agent
