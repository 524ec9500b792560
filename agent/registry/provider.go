package registry

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/demo"
	"github.com/aragora/aragora/agent/pricing"
)

// Provider is an agent provider plugged into the registry by a third party
// (docs/agents.md#writing-a-provider). Its agents are served exactly like
// the built-in ones: the same middleware (stats, timeout, OpenRouter
// fallback, retry, breaker), naming rules, GET /api/agents/status entry,
// agent test and connectivity check.
//
// A provider named "acme" serves two kinds of spec:
//
//	acme          the provider's DefaultModel, participant name "acme"
//	acme:<model>  any model, participant name "acme-<model>" (":" and "/" → "-")
//
// Register it process-wide with [Register] (then every [Registry] created
// afterwards in the program knows it: the service's and the debate
// command's included), or for one registry with [Config.Providers]. The
// prebuilt aragora binary knows only the built-in providers; a provider
// runs in a program built on the library (examples/embedservice).
type Provider struct {
	// Name names the provider and its default agent. It matches
	// [a-z][a-z0-9._-]* (at most 32 characters) and is neither a built-in
	// agent or provider name nor "demo" or demo-*. Required.
	Name string
	// DefaultModel is the model of the bare spec Name.
	DefaultModel string
	// KeyVar is the variable the provider needs to run (an API key or any
	// other setting), e.g. "ACME_API_KEY": while it is unset the
	// provider's agents are not configured and a debate naming them is
	// refused with an [*UnavailableError] naming it. "" when the provider
	// needs nothing. Its value reaches New as Spec.Key.
	KeyVar string
	// BaseURLVar, when set, is the variable overriding BaseURL, e.g.
	// "ACME_BASE_URL" (an absolute http or https URL).
	BaseURLVar string
	// BaseURL is the provider's default endpoint; it reaches New as
	// Spec.BaseURL and is the target of the connectivity check
	// (docs/http-api.md#diagnostics). "" means no connectivity target.
	BaseURL string
	// OpenRouterModel, when set, is the OpenRouter model that stands in for
	// the provider's default agent: it falls back to OpenRouter on quota
	// exhaustion, an open circuit or an auth error, and runs through
	// OpenRouter when KeyVar is unset, as the built-in agents do.
	OpenRouterModel string
	// New builds the bare agent of one spec. It must not retry, time out
	// or count calls itself: the registry wraps it in the middleware of
	// docs/agents.md#middleware. Required.
	New func(Spec) (agent.Agent, error)
}

// Spec is what a [Provider] builds one agent from.
type Spec struct {
	// Name is the participant name ("acme", "acme-large").
	Name string
	// Model is the spec's model, or the provider's DefaultModel (after any
	// model override of Config.Models / ARAGORA_AGENT_MODELS).
	Model string
	// Key is the value of the provider's KeyVar ("" when it has none).
	Key string
	// BaseURL is the value of BaseURLVar, else Provider.BaseURL.
	BaseURL string
	// HTTPClient is the registry's shared client (proxy settings honoured);
	// use it for every request.
	HTTPClient *http.Client
	// Pricing prices calls (pricing.Table.Cost) for Response.CostUSD.
	Pricing pricing.Table
	// OnQuota, when not nil, receives the provider's rate-limit headers
	// (remaining requests, reset time) for the quota of
	// GET /api/agents/status. Nil for the direct agent of the agent test.
	OnQuota func(remaining int, resetAt time.Time)
}

var (
	providerName = regexp.MustCompile(`^[a-z][a-z0-9._-]{0,31}$`)
	varName      = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)
)

// validate checks p on its own (not against other providers).
func (p Provider) validate() error {
	switch {
	case !providerName.MatchString(p.Name):
		return fmt.Errorf("registry: provider name %q: want [a-z][a-z0-9._-]*, at most 32 characters", p.Name)
	case p.Name == ProviderDemo || strings.HasPrefix(p.Name, demo.Prefix) || KeyVar(p.Name) != "":
		return fmt.Errorf("registry: provider name %q is reserved", p.Name)
	case p.New == nil:
		return fmt.Errorf("registry: provider %q: New is nil", p.Name)
	case p.KeyVar != "" && !varName.MatchString(p.KeyVar):
		return fmt.Errorf("registry: provider %q: KeyVar %q: want [A-Z_][A-Z0-9_]*", p.Name, p.KeyVar)
	case p.BaseURLVar != "" && !varName.MatchString(p.BaseURLVar):
		return fmt.Errorf("registry: provider %q: BaseURLVar %q: want [A-Z_][A-Z0-9_]*", p.Name, p.BaseURLVar)
	}
	if _, ok := lookupBuiltin(p.Name); ok {
		return fmt.Errorf("registry: provider name %q is reserved", p.Name)
	}
	if p.BaseURL != "" {
		if err := checkURL(p.BaseURL); err != nil {
			return fmt.Errorf("registry: provider %q: BaseURL %q: %w", p.Name, p.BaseURL, err)
		}
	}
	return nil
}

// registered holds the providers of [Register].
var registered struct {
	sync.Mutex
	list []Provider
}

// Register makes p known to every [Registry] created afterwards (and to
// [DeriveName]), as database/sql.Register does for drivers: call it from
// an init function or at the top of main, before the registry, the CLI or
// the service is built. It panics when p is invalid (see [Provider]) or
// when a provider of that name is already registered.
func Register(p Provider) {
	if err := p.validate(); err != nil {
		panic(err)
	}
	registered.Lock()
	defer registered.Unlock()
	if slices.ContainsFunc(registered.list, func(q Provider) bool { return q.Name == p.Name }) {
		panic(fmt.Sprintf("registry: provider %q registered twice", p.Name))
	}
	registered.list = append(registered.list, p)
}

// Registered returns the providers of [Register], in registration order.
func Registered() []Provider {
	registered.Lock()
	defer registered.Unlock()
	return slices.Clone(registered.list)
}

// providerSet merges the registered providers with extra, checking each
// and refusing duplicates.
func providerSet(extra []Provider) ([]Provider, error) {
	all := Registered()
	for _, p := range extra {
		if err := p.validate(); err != nil {
			return nil, err
		}
		if findProvider(all, p.Name) != nil {
			return nil, fmt.Errorf("registry: provider %q given twice", p.Name)
		}
		all = append(all, p)
	}
	return all, nil
}

func findProvider(ps []Provider, name string) *Provider {
	for i := range ps {
		if ps[i].Name == name {
			return &ps[i]
		}
	}
	return nil
}

// builtinOf is the built-in-like entry of p's default agent.
func builtinOf(p *Provider) builtin {
	return builtin{name: p.Name, provider: p.Name, model: p.DefaultModel, openRouterModel: p.OpenRouterModel, custom: p}
}
