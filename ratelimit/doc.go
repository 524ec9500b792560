// Package ratelimit admits or refuses events per key: HTTP requests per
// client and route class (docs/http-api.md#rate-limits), and agent calls per provider.
//
// # Limiters
//
// [Keyed] is the port: Allow(ctx, key, [Limit]) returns a [Decision] with
// the values of the X-RateLimit-* headers. [Memory] implements it in
// process over golang.org/x/time/rate, with bounded memory; the
// subpackage redislimit implements it in Redis (GCRA, shared by replicas).
// [Fallback] decorates a shared limiter with a local one: when the shared
// limiter fails or is slow, the local limiter decides (or every request is
// allowed in fail-open mode), and the shared one is skipped for a while
// after repeated failures. Limits are GCRA: Rate events per [Window] with a
// burst of Burst events.
//
// # HTTP
//
// [Policy] limits HTTP routes by route class ([ClassAuth],
// [ClassDebateCreate], [ClassGeneral] or [ClassExempt]; the server's route
// table gives each route its class): [Policy.Handler] wraps one route,
// derives the client key and IP (the client IP is package clientip's, the
// one the server logs and audits) and answers 429 with the JSON error body
// of docs/http-api.md#errors. [ParseConfig] reads the ARAGORA_RATE_LIMIT_* variables;
// the package itself never reads the environment. [Policy.Status],
// [Policy.ConfigSnapshot] and [Policy.SystemSnapshot] produce the bodies of
// /api/rate-limits/status, /api/rate-limits/config and
// /api/system/rate-limits.
//
// # Agents
//
// [Middleware] delays agent calls until a [Limiter] (such as a
// *rate.Limiter) admits them, and [PerKey] does the same over a [Keyed]
// limiter, so that one provider's quota can be spread over time and shared
// by replicas. Both return an error wrapping [ErrLimited] (kind
// rate_limited) when the wait would pass the context's deadline.
//
// This package imports agent, clientip, golang.org/x/time/rate and the
// standard library only.
package ratelimit
