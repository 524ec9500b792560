// Package diag holds the debug helpers the server exposes to
// administrators: [TestAgent] sends one prompt to one agent and reports the
// latency and the reply or the error (POST /api/debug/agent-test, docs/http-api.md#diagnostics),
// and [Checker] checks that each provider's endpoint is reachable,
// step by step (POST /api/debug/connectivity-check, docs/http-api.md#diagnostics).
//
// A connectivity check resolves the host (3 s), opens a TCP connection to
// the URL's host and port, or the scheme's default port (3 s), and GETs
// the URL over its own scheme without credentials (5 s; any HTTP status
// counts as reachable). A step after a failure is skipped (null). Targets
// run in parallel and the whole check returns within 15 s, so it can never
// hang. When HTTPS_PROXY or HTTP_PROXY applies to a URL, the DNS and TCP
// steps target the proxy and the result says via_proxy. The resolver,
// dialer, proxy function and TLS configuration are injectable, so tests run
// against local servers only.
//
// # Running against real providers
//
// The server builds the targets from the agent registry
// (registry.Registry.Targets): every provider with a key
// (ANTHROPIC_API_KEY, OPENAI_API_KEY, GEMINI_API_KEY, MISTRAL_API_KEY,
// XAI_API_KEY, DEEPSEEK_API_KEY, OPENROUTER_API_KEY) and Ollama when
// OLLAMA_HOST is set, at its *_BASE_URL or public endpoint:
//
//	export ANTHROPIC_API_KEY=sk-ant-... ARAGORA_API_TOKEN=...
//	aragora serve &
//	curl -s -X POST -H "Authorization: Bearer $ARAGORA_API_TOKEN" localhost:8080/api/debug/connectivity-check | jq
//	curl -s -X POST -H "Authorization: Bearer $ARAGORA_API_TOKEN" -d '{"agent":"claude"}' localhost:8080/api/debug/agent-test | jq
//
// This package imports agent and the standard library only.
package diag
