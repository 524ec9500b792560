// Package registry turns the agent names and specs of docs/agents.md#built-in-agents into
// configured agents: it is the factory the binary hands to the server and
// to `aragora debate`.
//
// # Names and specs
//
//	claude     anthropic   claude-sonnet-4-5      ANTHROPIC_API_KEY
//	gpt-4      openai      gpt-4o                 OPENAI_API_KEY
//	gemini     gemini      gemini-2.5-pro         GEMINI_API_KEY
//	mistral    mistral     mistral-large-latest   MISTRAL_API_KEY
//	grok       xai         grok-4                 XAI_API_KEY
//	deepseek   deepseek    deepseek-chat          DEEPSEEK_API_KEY
//	ollama     ollama      llama3.1               OLLAMA_HOST
//	openrouter:<model>     e.g. openrouter:meta-llama/llama-3.1-70b-instruct (OPENROUTER_API_KEY)
//	ollama:<model>         e.g. ollama:qwen2.5:14b (OLLAMA_HOST)
//	demo-<name>[:<style>]  deterministic offline agents (always available)
//
// A spec's participant name is derived by [DeriveName]: demo-<name>[:<style>]
// is demo-<name>, and in openrouter: and ollama: specs every ":" and "/"
// becomes "-" (openrouter-meta-llama-llama-3.1-70b-instruct). Names match
// [A-Za-z0-9._-]{1,64}.
//
// # OpenRouter
//
// With OPENROUTER_API_KEY set, an agent without a key of its own runs
// entirely through OpenRouter with a mapped model (claude →
// anthropic/claude-sonnet-4.5, gpt-4 → openai/gpt-4o, gemini →
// google/gemini-2.5-pro, mistral → mistralai/mistral-large, grok →
// x-ai/grok-4, deepseek → deepseek/deepseek-chat), and an agent with its
// own key falls back to OpenRouter for a call that fails with quota
// exhaustion, an open circuit or an auth error. An agent that can run
// neither way is refused by [Registry.Resolve] with an [*UnavailableError]
// naming the variable to set, so a debate fails when it is created, never
// mid-debate.
//
// # Middleware
//
// Each resolved provider agent is wrapped, outermost first, in
// agent.StatsMiddleware (for /api/agents/status), agent.Timeout
// (ARAGORA_AGENT_TIMEOUT_SECONDS, 60 s, retries and fallback included),
// agent.FallbackMiddleware to OpenRouter, agent.Retry (3 attempts) and
// breaker.Middleware (ARAGORA_CB_FAILURE_THRESHOLD, ARAGORA_CB_OPEN_SECONDS),
// all keyed by the participant name. Provider rate-limit headers feed the
// stats' quota. [Registry.ResolveDirect] returns the bare provider agent
// for the debug agent test.
//
// # Plugged-in providers
//
// A third party adds its own provider with a [Provider]: a name, a default
// model, the variable it needs (KeyVar), an optional endpoint override
// (BaseURLVar, BaseURL: also the connectivity-check target) and a builder
// from a [Spec]. [Register] makes it known to every registry of the
// program (the service's, and the debate command's); [Config.Providers]
// plugs it into one registry. Its agents get the same middleware, naming
// rules (acme, acme:<model> → acme-<model>), status entry, agent test and
// connectivity check as the built-ins (docs/agents.md#writing-a-provider;
// examples/provider is a complete one).
//
// # Running a debate with real providers
//
//	export ANTHROPIC_API_KEY=sk-ant-...        # claude
//	export OPENAI_API_KEY=sk-...               # gpt-4
//	export OPENROUTER_API_KEY=sk-or-...        # optional: fallback, keyless agents, openrouter:<model>
//	export ARAGORA_AGENT_MODELS=gpt-4=gpt-4.1  # optional model overrides
//	export ARAGORA_PRICING_FILE=prices.json    # optional {"model":{"input_per_mtok":3,"output_per_mtok":15}}
//	aragora debate "Should we adopt Postgres?" --agents claude,gpt-4,gemini --stream
//
// With both ANTHROPIC_API_KEY and OPENAI_API_KEY set and --agents omitted,
// the debate uses claude and gpt-4 ([DefaultAgents]); ARAGORA_DEFAULT_AGENTS
// overrides that. *_BASE_URL variables point any provider at a gateway, a
// compatible server or a local fake.
package registry
