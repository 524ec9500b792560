// Package gemini is a thin net/http client for the Gemini API
// (POST /v1beta/models/{model}:generateContent, and
// :streamGenerateContent?alt=sse for streams, key in the x-goog-api-key
// header). It uses no SDK: retries, circuit breaking and fallback belong to
// the agent middleware, so an [Agent] makes exactly one HTTP request per
// call.
//
// The agent implements agent.Agent and agent.Streamer. Token usage comes
// from usageMetadata (promptTokenCount in; candidatesTokenCount plus
// thoughtsTokenCount out, as thinking is billed as output);
// Response.CostUSD from the pricing table (package agent/pricing,
// overridable with ARAGORA_PRICING_FILE). Thought parts are not part of the
// reply text.
//
// # Errors
//
// Every failure is a *agent.ProviderError: 429 RESOURCE_EXHAUSTED wraps
// agent.ErrRateLimited, or agent.ErrQuotaExhausted when it cites quota or
// billing, with RetryAfter from Retry-After or the RetryInfo detail; 401,
// 403 and an invalid key (400 API_KEY_INVALID) wrap agent.ErrAuth; a reply
// without candidates or text (a blocked prompt, all tokens spent thinking)
// wraps agent.ErrInvalidResponse. A refused or dropped connection, or a
// stream that ends before a finishReason, has StatusCode 0 (kind server);
// an expired deadline keeps context.DeadlineExceeded in the chain (kind
// timeout).
//
// # Running a debate with real providers
//
//	export GEMINI_API_KEY=...
//	export ANTHROPIC_API_KEY=sk-ant-...
//	aragora debate "Should we adopt Postgres?" --agents gemini,claude --stream
//
// GEMINI_BASE_URL points the agent at a gateway or a fake;
// ARAGORA_AGENT_MODELS=gemini=gemini-2.5-flash changes the model.
package gemini
