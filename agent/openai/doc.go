// Package openai is a thin net/http client for the OpenAI Chat Completions
// wire format, which OpenAI, OpenRouter, Mistral, xAI (Grok), DeepSeek,
// Ollama, vLLM and most gateways speak. It uses no provider SDK: retries,
// circuit breaking and fallback belong to the agent middleware, so an
// [Agent] makes exactly one HTTP request per call.
//
// [New] takes a [Config] naming the provider, key, model and base URL. The
// agent implements agent.Agent and agent.Streamer (server-sent events with
// stream_options.include_usage). Token usage comes from the reply's usage
// object, and Response.CostUSD from the pricing table (package
// agent/pricing, overridable with ARAGORA_PRICING_FILE).
//
// # Errors
//
// Every failure is a *agent.ProviderError: 429 wraps agent.ErrRateLimited
// with RetryAfter from Retry-After (seconds or HTTP date) or retry-after-ms;
// 402, and 429 citing quota or billing ("insufficient_quota"), wrap
// agent.ErrQuotaExhausted; 401 and 403 wrap agent.ErrAuth; a malformed
// reply or one without choices wraps agent.ErrInvalidResponse; a refused or
// dropped connection, or a stream that ends before "data: [DONE]", has
// StatusCode 0 (kind server). When the context's deadline passes,
// context.DeadlineExceeded stays in the chain (kind timeout).
//
// # Running a debate with real providers
//
// The agent registry (package agent/registry) builds these agents from the
// environment; set a key and name the agents:
//
//	export OPENAI_API_KEY=sk-...          # gpt-4 (gpt-4o)
//	export MISTRAL_API_KEY=...            # mistral
//	export XAI_API_KEY=... DEEPSEEK_API_KEY=...
//	export OPENROUTER_API_KEY=sk-or-...   # openrouter:<model>, and fallback for every agent
//	export OLLAMA_HOST=http://localhost:11434   # ollama, ollama:<model>
//	aragora debate "Should we adopt Postgres?" --agents gpt-4,mistral,openrouter:meta-llama/llama-3.1-70b-instruct --stream
//
// OPENAI_BASE_URL, OPENROUTER_BASE_URL, MISTRAL_BASE_URL, XAI_BASE_URL and
// DEEPSEEK_BASE_URL point a provider at a gateway or a compatible server
// (e.g. vLLM at http://localhost:8000/v1); ARAGORA_AGENT_MODELS overrides
// models (gpt-4=gpt-4.1,mistral=mistral-small-latest).
package openai
