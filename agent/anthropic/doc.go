// Package anthropic is a thin net/http client for the Anthropic Messages API
// (POST /v1/messages with x-api-key and anthropic-version headers). It uses
// no SDK: retries, circuit breaking and fallback belong to the agent
// middleware, so an [Agent] makes exactly one HTTP request per call.
//
// The agent implements agent.Agent and agent.Streamer (server-sent events:
// message_start, content_block_delta, message_delta, message_stop). Token
// usage comes from usage.input_tokens (plus cache reads and writes) and
// usage.output_tokens, in the reply or in the message_start and
// message_delta events; Response.CostUSD from the pricing table (package
// agent/pricing, overridable with ARAGORA_PRICING_FILE).
//
// # Errors
//
// Every failure is a *agent.ProviderError. 529 and overloaded_error set
// Overloaded (retryable); 429 wraps agent.ErrRateLimited with RetryAfter;
// 402, a 429 citing quota or billing, and a 400 about the credit balance
// wrap agent.ErrQuotaExhausted; 401 and 403 wrap agent.ErrAuth; a reply
// without text wraps agent.ErrInvalidResponse. An error event inside a
// stream gets the status its type stands for. A refused or dropped
// connection, or a stream that ends before message_stop, has StatusCode 0
// (kind server); an expired deadline keeps context.DeadlineExceeded in the
// chain (kind timeout).
//
// # Running a debate with real providers
//
//	export ANTHROPIC_API_KEY=sk-ant-...
//	export OPENAI_API_KEY=sk-...
//	aragora debate "Should we adopt Postgres?" --agents claude,gpt-4 --stream
//
// ANTHROPIC_BASE_URL points the agent at a gateway or a fake;
// ARAGORA_AGENT_MODELS=claude=claude-opus-4-1 changes the model. Without
// ANTHROPIC_API_KEY but with OPENROUTER_API_KEY, the claude agent runs
// through OpenRouter as anthropic/claude-sonnet-4.5.
package anthropic
