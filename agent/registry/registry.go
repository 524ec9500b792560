package registry

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/anthropic"
	"github.com/aragora/aragora/agent/demo"
	"github.com/aragora/aragora/agent/diag"
	"github.com/aragora/aragora/agent/gemini"
	"github.com/aragora/aragora/agent/openai"
	"github.com/aragora/aragora/agent/pricing"
	"github.com/aragora/aragora/breaker"
)

// Spec prefixes (docs/agents.md#built-in-agents).
const (
	OpenRouterPrefix = "openrouter:"
	OllamaPrefix     = "ollama:"
)

// MaxNameLen is the longest agent name.
const MaxNameLen = 64

// Info describes an agent name: who serves it and whether it can run. Its
// JSON names are those of GET /api/agents/status.
type Info struct {
	Name string `json:"name"`
	// Provider serves the calls: "openrouter" for an agent without a key of
	// its own that runs through OpenRouter, "demo" for demo agents.
	Provider string `json:"provider"`
	Model    string `json:"model"`
	// Configured reports whether the agent can run: its own credential, or
	// an OpenRouter route.
	Configured bool `json:"configured"`
	// Fallback is the OpenRouter route, nil without OPENROUTER_API_KEY or
	// when OpenRouter serves no such model.
	Fallback *FallbackInfo `json:"fallback"`
	// BaseURL is where the provider's requests go ("" for demo agents).
	BaseURL string `json:"-"`
}

// FallbackInfo describes an agent's OpenRouter fallback.
type FallbackInfo struct {
	Provider string `json:"provider"`
	Model    string `json:"model"`
	// Active is true when the agent has no key of its own, so every call
	// goes through the fallback.
	Active bool `json:"active"`
}

// Registry turns the agent names and specs of docs/agents.md#built-in-agents into configured
// agents, each wrapped in the middleware of docs/agents.md#middleware: stats → timeout
// → fallback to OpenRouter → retry → breaker → provider. It is safe for
// concurrent use. Create it with [New]; the zero value is not usable.
type Registry struct {
	cfg       Config
	providers []Provider // plugged in: Register, then Config.Providers
	breakers  *breaker.Registry
	stats     *agent.Stats

	mu   sync.Mutex
	used map[string]Info // spec-derived and demo names resolved since start
}

// New returns a Registry for cfg.
func New(cfg Config) (*Registry, error) {
	if cfg.AgentTimeout == 0 {
		cfg.AgentTimeout = DefaultAgentTimeout
	}
	if cfg.Pricing == nil {
		cfg.Pricing = pricing.Default()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.AgentTimeout < 0 {
		return nil, fmt.Errorf("registry: agent timeout %v: want > 0", cfg.AgentTimeout)
	}
	providers, err := providerSet(cfg.Providers)
	if err != nil {
		return nil, err
	}
	cfg, err = withProviderSettings(cfg, providers)
	if err != nil {
		return nil, err
	}
	for p, u := range cfg.BaseURLs {
		if BaseURLVar(p) == "" && findProvider(providers, p) == nil {
			return nil, fmt.Errorf("registry: base URL for unknown provider %q", p)
		}
		if err := checkURL(u); err != nil {
			return nil, fmt.Errorf("registry: %s=%q: %w", cmp.Or(BaseURLVar(p), "base URL of "+p), u, err)
		}
	}
	for name := range cfg.Models {
		if _, ok := lookupAgent(name, providers); !ok {
			return nil, fmt.Errorf("registry: model override for unknown agent %q", name)
		}
	}
	r := &Registry{cfg: cfg, providers: providers, breakers: cfg.Breakers, stats: cfg.Stats, used: map[string]Info{}}
	if r.breakers == nil {
		b, err := breaker.NewRegistry(cfg.Breaker)
		if err != nil {
			return nil, fmt.Errorf("registry: %w", err)
		}
		r.breakers = b
	}
	if r.stats == nil {
		r.stats = agent.NewStats(agent.StatsConfig{})
	}
	return r, nil
}

// Breakers returns the circuit of every agent, for
// GET /api/agents/circuit-breakers and resets.
func (r *Registry) Breakers() *breaker.Registry { return r.breakers }

// Stats returns the call statistics of every agent, for
// GET /api/agents/status.
func (r *Registry) Stats() *agent.Stats { return r.stats }

// DefaultAgents returns Config.DefaultAgents, or when empty the rule of
// the package-level DefaultAgents applied to the configured keys.
func (r *Registry) DefaultAgents() []string {
	if len(r.cfg.DefaultAgents) > 0 {
		return slices.Clone(r.cfg.DefaultAgents)
	}
	return DefaultAgents(func(k string) string {
		switch k {
		case "ANTHROPIC_API_KEY":
			return r.cfg.APIKeys[ProviderAnthropic]
		case "OPENAI_API_KEY":
			return r.cfg.APIKeys[ProviderOpenAI]
		}
		return ""
	})
}

// DeriveName returns the participant name of an agent name or spec
// (docs/agents.md#built-in-agents): a built-in name as is; demo-<name>[:<style>] → demo-<name>;
// openrouter:<model> and ollama:<model> with every ":" and "/" turned into
// "-". The result must match [A-Za-z0-9._-]{1,64}; otherwise, or for an
// unknown name, the error is an *UnknownError.
//
// A plugged-in provider's specs follow the same rule
// (docs/agents.md#writing-a-provider): acme is acme, acme:<model> is
// acme-<model>. DeriveName knows the providers of [Register];
// [Registry.DeriveName] also those of Config.Providers.
func DeriveName(spec string) (string, error) {
	p, err := parseSpec(spec, Registered())
	return p.name, err
}

// DeriveName is the package-level [DeriveName] knowing every provider of r.
func (r *Registry) DeriveName(spec string) (string, error) {
	p, err := parseSpec(spec, r.providers)
	return p.name, err
}

// parsed is a syntactically valid spec.
type parsed struct {
	spec      string
	name      string
	kind      string // "builtin", "demo", ProviderOpenRouter, ProviderOllama or "custom" (<provider>:<model>)
	model     string // for openrouter:, ollama: and <provider>: specs
	demoStyle demo.Style
	builtin   builtin
}

// parseSpec parses spec knowing the plugged-in providers.
func parseSpec(spec string, providers []Provider) (parsed, error) {
	spec = strings.TrimSpace(spec)
	p := parsed{spec: spec}
	switch {
	case spec == "":
		return p, &UnknownError{Spec: spec, Reason: "empty name"}
	case strings.HasPrefix(spec, demo.Prefix):
		name, style, err := demo.ParseSpec(spec)
		if err != nil {
			return p, &UnknownError{Spec: spec, Reason: err.Error()}
		}
		p.kind, p.name, p.demoStyle = "demo", name, style
		return p, nil
	case strings.HasPrefix(spec, OpenRouterPrefix), strings.HasPrefix(spec, OllamaPrefix):
		prefix, kind := OpenRouterPrefix, ProviderOpenRouter
		if strings.HasPrefix(spec, OllamaPrefix) {
			prefix, kind = OllamaPrefix, ProviderOllama
		}
		p.kind, p.model = kind, strings.TrimPrefix(spec, prefix)
		if p.model == "" {
			return p, &UnknownError{Spec: spec, Reason: "empty model"}
		}
		p.name = deriveSpecName(spec)
	case customPrefix(spec, providers) != nil:
		c := customPrefix(spec, providers)
		p.kind, p.model, p.builtin = "custom", strings.TrimPrefix(spec, c.Name+":"), builtinOf(c)
		if p.model == "" {
			return p, &UnknownError{Spec: spec, Reason: "empty model"}
		}
		p.name = deriveSpecName(spec)
	default:
		b, ok := lookupAgent(spec, providers)
		if !ok {
			return p, &UnknownError{Spec: spec, Reason: "want one of " + agentNames(providers) +
				", openrouter:<model>, ollama:<model>, " + prefixes(providers) + "or demo-<name>[:<style>]"}
		}
		p.kind, p.name, p.builtin = "builtin", spec, b
	}
	if err := checkName(p.name); err != nil {
		return p, &UnknownError{Spec: spec, Reason: err.Error()}
	}
	return p, nil
}

// deriveSpecName is the participant name of a <prefix>:<model> spec.
func deriveSpecName(spec string) string {
	return strings.NewReplacer(":", "-", "/", "-").Replace(spec)
}

// customPrefix returns the provider whose <name>: prefix starts spec.
func customPrefix(spec string, providers []Provider) *Provider {
	for i := range providers {
		if strings.HasPrefix(spec, providers[i].Name+":") {
			return &providers[i]
		}
	}
	return nil
}

// prefixes lists the <provider>:<model> specs of providers, each followed
// by ", ".
func prefixes(providers []Provider) string {
	var b strings.Builder
	for _, p := range providers {
		b.WriteString(p.Name + ":<model>, ")
	}
	return b.String()
}

func checkName(name string) error {
	if len(name) > MaxNameLen {
		return fmt.Errorf("derived name %q is longer than %d characters", name, MaxNameLen)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("derived name %q has character %q outside [A-Za-z0-9._-]", name, c)
		}
	}
	return nil
}

// plan is how a spec will be served.
type plan struct {
	parsed
	info          Info
	key           string // the serving provider's key
	fallbackModel string // OpenRouter model of the fallback middleware; "" none
	unavailable   *UnavailableError
}

func (r *Registry) baseURL(provider string) string {
	if u := r.cfg.BaseURLs[provider]; u != "" {
		return u
	}
	if c := findProvider(r.providers, provider); c != nil {
		return c.BaseURL
	}
	switch provider {
	case ProviderAnthropic:
		return anthropic.DefaultBaseURL
	case ProviderGemini:
		return gemini.DefaultBaseURL
	case ProviderOllama:
		if r.cfg.OllamaHost == "" {
			return ""
		}
		return r.cfg.OllamaHost + "/v1"
	}
	return openai.DefaultBaseURL(provider)
}

func (r *Registry) plan(spec string) (plan, error) {
	ps, err := parseSpec(spec, r.providers)
	if err != nil {
		return plan{parsed: ps}, err
	}
	p := plan{parsed: ps, info: Info{Name: ps.name}}
	orKey := r.cfg.APIKeys[ProviderOpenRouter]
	switch ps.kind {
	case "demo":
		p.info.Provider, p.info.Model, p.info.Configured = ProviderDemo, demo.Prefix+string(ps.demoStyle), true
	case ProviderOpenRouter:
		p.info.Provider, p.info.Model, p.key = ProviderOpenRouter, ps.model, orKey
		p.info.BaseURL, p.info.Configured = r.baseURL(ProviderOpenRouter), orKey != ""
		if orKey == "" {
			p.unavailable = &UnavailableError{Agent: ps.name, Var: KeyVar(ProviderOpenRouter)}
		}
	case ProviderOllama:
		p.info.Provider, p.info.Model = ProviderOllama, ps.model
		p.info.BaseURL, p.info.Configured = r.baseURL(ProviderOllama), r.cfg.OllamaHost != ""
		if r.cfg.OllamaHost == "" {
			p.unavailable = &UnavailableError{Agent: ps.name, Var: KeyVar(ProviderOllama)}
		}
	case "custom":
		c := ps.builtin.custom
		p.info.Provider, p.info.Model, p.key = c.Name, ps.model, r.cfg.APIKeys[c.Name]
		p.info.BaseURL, p.info.Configured = r.baseURL(c.Name), c.KeyVar == "" || p.key != ""
		if !p.info.Configured {
			p.unavailable = &UnavailableError{Agent: ps.name, Var: c.KeyVar}
		}
	default:
		b := ps.builtin
		model := cmp.Or(r.cfg.Models[b.name], b.model)
		p.info.Provider, p.info.Model, p.info.BaseURL = b.provider, model, r.baseURL(b.provider)
		p.key = r.cfg.APIKeys[b.provider]
		own := p.key != "" || (b.provider == ProviderOllama && r.cfg.OllamaHost != "") || (b.custom != nil && b.custom.KeyVar == "")
		switch {
		case own:
			p.info.Configured = true
			if orKey != "" && b.openRouterModel != "" {
				p.fallbackModel = b.openRouterModel
				p.info.Fallback = &FallbackInfo{Provider: ProviderOpenRouter, Model: b.openRouterModel}
			}
		case orKey != "" && b.openRouterModel != "":
			p.info.Provider, p.info.Model, p.key = ProviderOpenRouter, b.openRouterModel, orKey
			p.info.BaseURL, p.info.Configured = r.baseURL(ProviderOpenRouter), true
			p.info.Fallback = &FallbackInfo{Provider: ProviderOpenRouter, Model: b.openRouterModel, Active: true}
		default:
			p.unavailable = &UnavailableError{Agent: b.name, Var: KeyVar(b.provider)}
			if b.custom != nil {
				p.unavailable.Var = b.custom.KeyVar
			}
			if b.openRouterModel != "" {
				p.unavailable.Alt = KeyVar(ProviderOpenRouter)
			}
		}
	}
	if p.unavailable != nil {
		return p, p.unavailable
	}
	return p, nil
}

// Resolve returns the participant name, the agent and its description for
// an agent name or spec of docs/agents.md#built-in-agents. seed seeds demo agents. The agent is
// wrapped in stats → timeout → fallback (when OPENROUTER_API_KEY is set
// and OpenRouter serves the model) → retry → breaker, under the derived
// name. An unknown spec fails with *UnknownError; an agent that cannot run
// with *UnavailableError naming the variable to set (name and info are
// still returned), so a debate is refused when it is created, never
// mid-debate.
func (r *Registry) Resolve(spec string, seed int64) (name string, a agent.Agent, info Info, err error) {
	return r.resolve(spec, seed, false)
}

// ResolveDirect is Resolve without any middleware: the bare provider agent
// (the OpenRouter agent for one without a key of its own), for the debug
// agent test (docs/http-api.md#diagnostics), which bypasses breaker and fallback.
func (r *Registry) ResolveDirect(spec string) (name string, a agent.Agent, info Info, err error) {
	return r.resolve(spec, 0, true)
}

func (r *Registry) resolve(spec string, seed int64, direct bool) (string, agent.Agent, Info, error) {
	p, err := r.plan(spec)
	if err != nil {
		return p.name, nil, p.info, err
	}
	var a agent.Agent
	if p.kind == "demo" {
		a = demo.New(p.name, p.demoStyle, seed)
		p.info = described(p.info, a)
		if !direct {
			a = agent.StatsMiddleware(r.stats, p.name)(a)
		}
	} else {
		a, err = r.provider(p.info.Provider, p.key, p.info.Model, p.name, !direct)
		if err != nil {
			return p.name, nil, p.info, err
		}
		p.info = described(p.info, a)
		if !direct {
			a, err = r.wrap(p, a)
			if err != nil {
				return p.name, nil, p.info, err
			}
		}
	}
	if p.kind != "builtin" {
		r.mu.Lock()
		r.used[p.name] = p.info
		r.mu.Unlock()
	}
	return p.name, a, p.info, nil
}

func (r *Registry) wrap(p plan, a agent.Agent) (agent.Agent, error) {
	mw := []agent.Middleware{agent.StatsMiddleware(r.stats, p.name), agent.Timeout(r.cfg.AgentTimeout)}
	if p.fallbackModel != "" {
		fb, err := r.provider(ProviderOpenRouter, r.cfg.APIKeys[ProviderOpenRouter], p.fallbackModel, p.name, false)
		if err != nil {
			return nil, err
		}
		mw = append(mw, agent.FallbackMiddleware(agent.FallbackConfig{
			Agent:        agent.Retry(r.cfg.Retry)(fb),
			FromProvider: p.info.Provider,
			FromModel:    p.info.Model,
			ToProvider:   ProviderOpenRouter,
			ToModel:      p.fallbackModel,
		}))
	}
	mw = append(mw, agent.Retry(r.cfg.Retry), breaker.Middleware(r.breakers, p.name))
	return agent.Chain(a, mw...), nil
}

// described returns info with the provider and model the agent names
// itself (agent.Describer), when it does: what serves the calls is what
// GET /api/agents/status shows.
func described(info Info, a agent.Agent) Info {
	if d, ok := agent.InfoOf(a); ok {
		if d.Provider != "" {
			info.Provider = d.Provider
		}
		if d.Model != "" {
			info.Model = d.Model
		}
	}
	return info
}

// provider builds the adapter serving provider; quota reports go to the
// stats of name when report is set.
func (r *Registry) provider(provider, key, model, name string, report bool) (agent.Agent, error) {
	var onQuota func(int, time.Time)
	if report {
		onQuota = func(n int, reset time.Time) {
			r.stats.ReportQuota(name, agent.QuotaReport{Remaining: n, ResetAt: reset})
		}
	}
	base := r.baseURL(provider)
	var (
		a   agent.Agent
		err error
	)
	switch c := findProvider(r.providers, provider); {
	case c != nil:
		a, err = c.New(Spec{Name: name, Model: model, Key: key, BaseURL: base, HTTPClient: r.cfg.HTTPClient,
			Pricing: r.cfg.Pricing, OnQuota: onQuota})
		if err == nil && a == nil {
			err = fmt.Errorf("provider %q built a nil agent", provider)
		}
	case provider == ProviderAnthropic:
		a, err = anthropic.New(anthropic.Config{APIKey: key, Model: model, BaseURL: base, HTTPClient: r.cfg.HTTPClient,
			Pricing: r.cfg.Pricing, OnQuota: onQuota})
	case provider == ProviderGemini:
		a, err = gemini.New(gemini.Config{APIKey: key, Model: model, BaseURL: base, HTTPClient: r.cfg.HTTPClient,
			Pricing: r.cfg.Pricing, OnQuota: onQuota})
	default:
		a, err = openai.New(openai.Config{Provider: provider, APIKey: key, Model: model, BaseURL: base, HTTPClient: r.cfg.HTTPClient,
			Pricing: r.cfg.Pricing, OnQuota: onQuota})
	}
	if err != nil {
		return nil, fmt.Errorf("registry: agent %q: %w", name, err)
	}
	return a, nil
}

// Known returns one Info per built-in agent name, in the order of docs/agents.md#built-in-agents,
// then one per plugged-in provider's default agent, in registration order,
// then one per spec-derived or demo name resolved since start, sorted
// by name (the entries of GET /api/agents/status).
func (r *Registry) Known() []Info {
	var out []Info
	for _, b := range builtins() {
		p, _ := r.plan(b.name)
		out = append(out, p.info)
	}
	for _, c := range r.providers {
		p, _ := r.plan(c.Name)
		out = append(out, p.info)
	}
	r.mu.Lock()
	used := make([]Info, 0, len(r.used))
	for _, info := range r.used {
		used = append(used, info)
	}
	r.mu.Unlock()
	slices.SortFunc(used, func(a, b Info) int { return strings.Compare(a.Name, b.Name) })
	return append(out, used...)
}

// rootURL is the public endpoint a connectivity check probes by default.
func rootURL(provider string) string {
	switch provider {
	case ProviderAnthropic:
		return "https://api.anthropic.com"
	case ProviderOpenAI:
		return "https://api.openai.com"
	case ProviderGemini:
		return "https://generativelanguage.googleapis.com"
	case ProviderMistral:
		return "https://api.mistral.ai"
	case ProviderXAI:
		return "https://api.x.ai"
	case ProviderDeepSeek:
		return "https://api.deepseek.com"
	case ProviderOpenRouter:
		return "https://openrouter.ai"
	}
	return ""
}

// Targets returns the connectivity-check targets (docs/http-api.md#diagnostics) of every
// configured provider, OpenRouter and Ollama included, in docs/configuration.md
// order, then those of the configured plugged-in providers that have a
// base URL: the *_BASE_URL override or OLLAMA_HOST, else the provider's
// public endpoint. With providers non-empty, only those are returned
// (configured or not); an unknown provider, or a plugged-in one without a
// base URL, is an error.
func (r *Registry) Targets(providers ...string) ([]diag.Target, error) {
	all := append(keyedProviders(), ProviderOllama)
	for _, c := range r.providers {
		all = append(all, c.Name)
	}
	target := func(p string) diag.Target {
		if p == ProviderOllama {
			return diag.Target{Provider: p, URL: cmp.Or(r.cfg.OllamaHost, "http://localhost:11434")}
		}
		if c := findProvider(r.providers, p); c != nil {
			return diag.Target{Provider: p, URL: r.baseURL(p)}
		}
		return diag.Target{Provider: p, URL: cmp.Or(r.cfg.BaseURLs[p], rootURL(p))}
	}
	configured := func(p string) bool {
		if c := findProvider(r.providers, p); c != nil {
			return c.KeyVar == "" || r.cfg.APIKeys[p] != ""
		}
		return r.cfg.APIKeys[p] != "" || (p == ProviderOllama && r.cfg.OllamaHost != "")
	}
	var out []diag.Target
	if len(providers) == 0 {
		for _, p := range all {
			if configured(p) && target(p).URL != "" {
				out = append(out, target(p))
			}
		}
		return out, nil
	}
	for _, p := range providers {
		if !slices.Contains(all, p) {
			return nil, fmt.Errorf("registry: unknown provider %q", p)
		}
		t := target(p)
		if t.URL == "" {
			return nil, fmt.Errorf("registry: provider %q has no connectivity target (no base URL)", p)
		}
		out = append(out, t)
	}
	return out, nil
}

// withProviderSettings returns cfg with the KeyVar and BaseURLVar values
// of providers that APIKeys and BaseURLs lack, read through cfg.Getenv.
func withProviderSettings(cfg Config, providers []Provider) (Config, error) {
	if cfg.Getenv == nil || len(providers) == 0 {
		return cfg, nil
	}
	keys, urls := maps.Clone(cfg.APIKeys), maps.Clone(cfg.BaseURLs)
	if keys == nil {
		keys = map[string]string{}
	}
	if urls == nil {
		urls = map[string]string{}
	}
	for _, p := range providers {
		if p.KeyVar != "" && keys[p.Name] == "" {
			if v := strings.TrimSpace(cfg.Getenv(p.KeyVar)); v != "" {
				keys[p.Name] = v
			}
		}
		if p.BaseURLVar == "" || urls[p.Name] != "" {
			continue
		}
		if v := strings.TrimSpace(cfg.Getenv(p.BaseURLVar)); v != "" {
			if err := checkURL(v); err != nil {
				return cfg, fmt.Errorf("registry: %s=%q: %w", p.BaseURLVar, v, err)
			}
			urls[p.Name] = v
		}
	}
	cfg.APIKeys, cfg.BaseURLs = keys, urls
	return cfg, nil
}
