package registry

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/internal/wire"
	"github.com/aragora/aragora/agent/pricing"
	"github.com/aragora/aragora/breaker"
)

// Provider names.
const (
	ProviderAnthropic  = "anthropic"
	ProviderOpenAI     = "openai"
	ProviderGemini     = "gemini"
	ProviderMistral    = "mistral"
	ProviderXAI        = "xai"
	ProviderDeepSeek   = "deepseek"
	ProviderOpenRouter = "openrouter"
	ProviderOllama     = "ollama"
	ProviderDemo       = "demo"
)

// DefaultAgentTimeout is the default ARAGORA_AGENT_TIMEOUT_SECONDS.
const DefaultAgentTimeout = 60 * time.Second

// builtin is one agent name of docs/agents.md#built-in-agents.
type builtin struct {
	name, provider, model string
	openRouterModel       string    // "" when OpenRouter offers no route
	custom                *Provider // the plugged-in provider; nil for a built-in
}

// builtins lists the agent names of docs/agents.md#built-in-agents in table order.
func builtins() []builtin {
	return []builtin{
		{"claude", ProviderAnthropic, "claude-sonnet-4-5", "anthropic/claude-sonnet-4.5", nil},
		{"gpt-4", ProviderOpenAI, "gpt-4o", "openai/gpt-4o", nil},
		{"gemini", ProviderGemini, "gemini-2.5-pro", "google/gemini-2.5-pro", nil},
		{"mistral", ProviderMistral, "mistral-large-latest", "mistralai/mistral-large", nil},
		{"grok", ProviderXAI, "grok-4", "x-ai/grok-4", nil},
		{"deepseek", ProviderDeepSeek, "deepseek-chat", "deepseek/deepseek-chat", nil},
		{"ollama", ProviderOllama, "llama3.1", "", nil},
	}
}

func lookupBuiltin(name string) (builtin, bool) {
	return lookupAgent(name, nil)
}

// lookupAgent finds the built-in agent or the default agent of one of
// providers named name.
func lookupAgent(name string, providers []Provider) (builtin, bool) {
	for _, b := range builtins() {
		if b.name == name {
			return b, true
		}
	}
	if p := findProvider(providers, name); p != nil {
		return builtinOf(p), true
	}
	return builtin{}, false
}

// KeyVar returns the environment variable holding provider's API key
// (OLLAMA_HOST for ollama), or "" for an unknown provider.
func KeyVar(provider string) string {
	switch provider {
	case ProviderAnthropic, ProviderOpenAI, ProviderGemini, ProviderMistral, ProviderDeepSeek, ProviderOpenRouter:
		return strings.ToUpper(provider) + "_API_KEY"
	case ProviderXAI:
		return "XAI_API_KEY"
	case ProviderOllama:
		return "OLLAMA_HOST"
	}
	return ""
}

// BaseURLVar returns the environment variable overriding provider's base
// URL (OLLAMA_HOST for ollama), or "" for an unknown provider.
func BaseURLVar(provider string) string {
	if provider == ProviderOllama {
		return "OLLAMA_HOST"
	}
	if KeyVar(provider) == "" {
		return ""
	}
	return strings.ToUpper(provider) + "_BASE_URL"
}

// keyedProviders are the providers enabled by an API key, in docs/configuration.md order.
func keyedProviders() []string {
	return []string{ProviderAnthropic, ProviderOpenAI, ProviderGemini, ProviderMistral, ProviderXAI, ProviderDeepSeek, ProviderOpenRouter}
}

// Config configures a [Registry]. The zero value is usable: it enables only
// the demo agents. [FromEnv] builds one from the environment (docs/configuration.md).
type Config struct {
	// APIKeys maps a provider (anthropic, openai, gemini, mistral, xai,
	// deepseek, openrouter) to its API key; a provider without a key is not
	// configured.
	APIKeys map[string]string
	// BaseURLs maps a provider to its base URL, overriding the public
	// endpoint (*_BASE_URL). The OpenAI-format providers include the
	// version path ("http://localhost:8000/v1"); Anthropic and Gemini do
	// not, as in their SDKs.
	BaseURLs map[string]string
	// OllamaHost (OLLAMA_HOST, e.g. "http://localhost:11434") enables the
	// ollama agent and ollama:<model> specs.
	OllamaHost string
	// Models maps an agent name of docs/agents.md#built-in-agents to the model it uses
	// (ARAGORA_AGENT_MODELS), overriding the default model.
	Models map[string]string
	// Pricing prices provider calls; nil means pricing.Default().
	Pricing pricing.Table
	// AgentTimeout bounds each call, retries and fallback included
	// (ARAGORA_AGENT_TIMEOUT_SECONDS); default 60 s.
	AgentTimeout time.Duration
	// Breaker configures the circuit of each agent
	// (ARAGORA_CB_FAILURE_THRESHOLD, ARAGORA_CB_OPEN_SECONDS). Ignored when
	// Breakers is set.
	Breaker breaker.Config
	// Retry configures the retry middleware; the zero value is the policy
	// of docs/agents.md#middleware.
	Retry agent.RetryConfig
	// DefaultAgents are the agents of a debate that names none
	// (ARAGORA_DEFAULT_AGENTS, else the rule of [DefaultAgents]).
	DefaultAgents []string

	// HTTPClient is shared by every provider agent; default a client using
	// http.DefaultTransport (which honours HTTPS_PROXY, HTTP_PROXY,
	// NO_PROXY).
	HTTPClient *http.Client
	// Breakers holds the circuits, one per agent name; default a new
	// breaker.Registry built from Breaker.
	Breakers *breaker.Registry
	// Stats records calls and quota for /api/agents/status; default new
	// agent.Stats.
	Stats *agent.Stats

	// Providers are plugged-in providers of this registry only, besides
	// those of [Register] (docs/agents.md#writing-a-provider). APIKeys and
	// BaseURLs take their values under the provider's name; a value not
	// there is read from Getenv (the provider's KeyVar and BaseURLVar).
	Providers []Provider
	// Getenv reads the KeyVar and BaseURLVar of plugged-in providers
	// ([Register] and Providers) whose values APIKeys and BaseURLs do not
	// hold; nil reads nothing. [FromEnv] sets it to its getenv.
	Getenv func(string) string
}

// FromEnv reads the agent configuration from the environment through
// getenv (os.Getenv in the binary; a map in tests). An empty value means
// unset. Errors name the variable and say what is wanted, e.g.
// registry: ARAGORA_CB_FAILURE_THRESHOLD="abc": want an integer >= 1.
func FromEnv(getenv func(string) string) (Config, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	cfg := Config{APIKeys: map[string]string{}, BaseURLs: map[string]string{}}
	for _, p := range keyedProviders() {
		if v := get(KeyVar(p)); v != "" {
			cfg.APIKeys[p] = v
		}
		if v := get(BaseURLVar(p)); v != "" {
			if err := checkURL(v); err != nil {
				return Config{}, fmt.Errorf("registry: %s=%q: %w", BaseURLVar(p), v, err)
			}
			cfg.BaseURLs[p] = v
		}
	}
	// Every variable is read; the error is that of the first refused, in this order.
	if err := cmp.Or(
		fromEnv(getenv, "OLLAMA_HOST", &cfg.OllamaHost, ollamaURL),
		fromEnv(getenv, "ARAGORA_AGENT_MODELS", &cfg.Models, parseModels),
		fromEnv(getenv, "ARAGORA_PRICING_FILE", &cfg.Pricing, loadPricing),
		fromEnv(getenv, "ARAGORA_AGENT_TIMEOUT_SECONDS", &cfg.AgentTimeout, seconds),
		fromEnv(getenv, "ARAGORA_CB_FAILURE_THRESHOLD", &cfg.Breaker.MaxFailures, failureThreshold),
		fromEnv(getenv, "ARAGORA_CB_OPEN_SECONDS", &cfg.Breaker.OpenFor, seconds),
	); err != nil {
		return Config{}, err
	}
	cfg.DefaultAgents = DefaultAgents(getenv)
	cfg.Getenv = getenv
	return cfg, nil
}

// DefaultAgents returns the agents of a debate that names none:
// ARAGORA_DEFAULT_AGENTS when set (comma-separated), else claude and gpt-4
// when both ANTHROPIC_API_KEY and OPENAI_API_KEY are set, else
// demo-analyst, demo-critic and demo-judge (docs/configuration.md).
func DefaultAgents(getenv func(string) string) []string {
	if v := strings.TrimSpace(getenv("ARAGORA_DEFAULT_AGENTS")); v != "" {
		var out []string
		for s := range strings.SplitSeq(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	if strings.TrimSpace(getenv("ANTHROPIC_API_KEY")) != "" && strings.TrimSpace(getenv("OPENAI_API_KEY")) != "" {
		return []string{"claude", "gpt-4"}
	}
	return []string{"demo-analyst", "demo-critic", "demo-judge"}
}

// fromEnv sets *dst to parse of the variable name (read through getenv,
// spaces trimmed) when it is set. A value parse refuses is an error that
// names the variable, e.g. registry: ARAGORA_CB_OPEN_SECONDS="x": want a
// number of seconds > 0.
func fromEnv[T any](getenv func(string) string, name string, dst *T, parse func(string) (T, error)) error {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return nil
	}
	x, err := parse(v)
	if err != nil {
		return fmt.Errorf("registry: %s=%q: %w", name, v, err)
	}
	*dst = x
	return nil
}

// loadPricing is the default price table with the file at path merged in.
func loadPricing(path string) (pricing.Table, error) {
	t, err := pricing.Load(path)
	if err != nil {
		return nil, err
	}
	return pricing.Default().Merge(t), nil
}

// failureThreshold parses ARAGORA_CB_FAILURE_THRESHOLD.
func failureThreshold(v string) (uint32, error) {
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n < 1 {
		return 0, errors.New("want an integer >= 1")
	}
	return uint32(n), nil
}

func seconds(v string) (time.Duration, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f > 0) || f > 1e6 {
		return 0, fmt.Errorf("want a number of seconds > 0")
	}
	return time.Duration(f * float64(time.Second)), nil
}

func checkURL(v string) error {
	if !wire.ValidBaseURL(v) {
		return fmt.Errorf("want an absolute http or https URL")
	}
	return nil
}

// ollamaURL normalises OLLAMA_HOST as the Ollama CLI reads it: the scheme
// defaults to http and the port to 11434 ("localhost" →
// "http://localhost:11434").
func ollamaURL(v string) (string, error) {
	if !strings.Contains(v, "://") {
		v = "http://" + v
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return "", fmt.Errorf("want host[:port] or an http(s) URL")
	}
	if u.Port() == "" && !strings.HasSuffix(u.Host, ":") {
		u.Host += ":11434"
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// parseModels parses "name=model,…" whose names are agent names of docs/agents.md#built-in-agents.
func parseModels(v string) (map[string]string, error) {
	out := map[string]string{}
	for entry := range strings.SplitSeq(v, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		name, model, ok := strings.Cut(entry, "=")
		name, model = strings.TrimSpace(name), strings.TrimSpace(model)
		if !ok || name == "" || model == "" {
			return nil, fmt.Errorf("entry %q: want name=model", entry)
		}
		if _, ok := lookupAgent(name, Registered()); !ok {
			return nil, fmt.Errorf("entry %q: unknown agent %q (want one of %s)", entry, name, agentNames(Registered()))
		}
		out[name] = model
	}
	return out, nil
}

// agentNames lists the built-in agent names and the default agents of
// providers.
func agentNames(providers []Provider) string {
	var names []string
	for _, b := range builtins() {
		names = append(names, b.name)
	}
	for _, p := range providers {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}
