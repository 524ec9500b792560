package registry_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/diag"
	"github.com/aragora/aragora/agent/internal/fakeprovider"
	"github.com/aragora/aragora/agent/registry"
	"github.com/aragora/aragora/breaker"
)

// scripted is a plugged-in provider whose agents fail with a provider
// error of status fail (0: succeed) and record every Spec they were built
// from and every call.
type scripted struct {
	fail int

	mu    sync.Mutex
	specs []registry.Spec
	calls int
}

func (s *scripted) provider(name string) registry.Provider {
	return registry.Provider{
		Name: name, DefaultModel: "acme-1", KeyVar: "ACME_TOKEN", BaseURLVar: "ACME_URL", BaseURL: "https://api.acme.test",
		New: func(sp registry.Spec) (agent.Agent, error) {
			s.mu.Lock()
			s.specs = append(s.specs, sp)
			s.mu.Unlock()
			return agent.Func(func(ctx context.Context, req agent.Request) (agent.Response, error) {
				s.mu.Lock()
				s.calls++
				s.mu.Unlock()
				if s.fail != 0 {
					return agent.Response{}, &agent.ProviderError{Provider: name, StatusCode: s.fail, Err: errors.New("boom")}
				}
				return agent.Response{Text: "hello from " + sp.Model, Provider: name, Model: sp.Model,
					Usage: agent.Usage{InputTokens: 3, OutputTokens: 2}}, nil
			}), nil
		},
	}
}

func (s *scripted) lastSpec(t *testing.T) registry.Spec {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	require.NotEmpty(t, s.specs)
	return s.specs[len(s.specs)-1]
}

func (s *scripted) callCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// pluggedRegistry is newRegistry with extra providers in Config.Providers.
func pluggedRegistry(t *testing.T, vars map[string]string, ps ...registry.Provider) *registry.Registry {
	t.Helper()
	return newRegistry(t, vars, func(cfg *registry.Config) {
		cfg.Breaker = breaker.Config{MaxFailures: 3, OpenFor: time.Hour}
		cfg.Providers = ps
	})
}

func TestProviderResolvesLikeABuiltin(t *testing.T) {
	t.Parallel()
	s := &scripted{}
	r := pluggedRegistry(t, map[string]string{"ACME_TOKEN": " tok ", "ACME_URL": "http://127.0.0.1:9/v2"}, s.provider("acme"))

	name, a, info, err := r.Resolve("acme", 0)
	require.NoError(t, err)
	assert.Equal(t, "acme", name)
	assert.Equal(t, registry.Info{Name: "acme", Provider: "acme", Model: "acme-1", Configured: true, BaseURL: "http://127.0.0.1:9/v2"}, info)
	sp := s.lastSpec(t)
	assert.Equal(t, "acme", sp.Name)
	assert.Equal(t, "acme-1", sp.Model)
	assert.Equal(t, "tok", sp.Key, "the KeyVar value, trimmed")
	assert.Equal(t, "http://127.0.0.1:9/v2", sp.BaseURL, "BaseURLVar overrides BaseURL")
	assert.NotNil(t, sp.HTTPClient)
	assert.NotNil(t, sp.Pricing)
	assert.NotNil(t, sp.OnQuota, "the middleware-wrapped agent reports quota")

	resp, err := a.Respond(t.Context(), agent.Request{Prompt: "ping"})
	require.NoError(t, err)
	assert.Equal(t, "hello from acme-1", resp.Text)
	assert.EqualValues(t, 1, r.Stats().Snapshot("acme").RequestsTotal, "calls are counted under the participant name")

	// <provider>:<model> specs follow the naming rule of openrouter: and ollama:.
	name, _, info, err = r.Resolve("acme:big/v2:fast", 0)
	require.NoError(t, err)
	assert.Equal(t, "acme-big-v2-fast", name)
	assert.Equal(t, "big/v2:fast", info.Model)
	assert.Equal(t, "big/v2:fast", s.lastSpec(t).Model)
	derived, err := r.DeriveName("acme:big/v2:fast")
	require.NoError(t, err)
	assert.Equal(t, name, derived)

	_, _, _, err = r.Resolve("acme:", 0)
	var ue *registry.UnknownError
	require.ErrorAs(t, err, &ue)

	// The direct agent (agent test) is the bare provider agent.
	_, _, _, err = r.ResolveDirect("acme")
	require.NoError(t, err)
	assert.Nil(t, s.lastSpec(t).OnQuota)
}

func TestProviderWithoutItsKeyIsUnavailable(t *testing.T) {
	t.Parallel()
	s := &scripted{}
	r := pluggedRegistry(t, nil, s.provider("acme"))
	for _, spec := range []string{"acme", "acme:large"} {
		_, _, info, err := r.Resolve(spec, 0)
		var ae *registry.UnavailableError
		require.ErrorAs(t, err, &ae, spec)
		assert.Equal(t, "ACME_TOKEN", ae.Var)
		assert.Empty(t, ae.Alt)
		assert.False(t, info.Configured)
	}
	assert.Empty(t, s.specs, "no agent is built for an unavailable spec")

	// A provider that needs no setting is always configured.
	p := s.provider("keyless")
	p.KeyVar = ""
	r = pluggedRegistry(t, nil, p)
	_, _, info, err := r.Resolve("keyless", 0)
	require.NoError(t, err)
	assert.True(t, info.Configured)
}

func TestProviderMiddlewareRetriesOpensBreakerAndFallsBack(t *testing.T) {
	t.Parallel()
	s := &scripted{fail: http.StatusInternalServerError}
	orf := fakeprovider.Serve(t, openAIReply("rescued"))
	p := s.provider("acme")
	p.OpenRouterModel = "acme/acme-1"
	r := pluggedRegistry(t, map[string]string{"ACME_TOKEN": "k", "OPENROUTER_API_KEY": "sk-or", "OPENROUTER_BASE_URL": orf.URL}, p)
	_, a, info, err := r.Resolve("acme", 0)
	require.NoError(t, err)
	assert.Equal(t, &registry.FallbackInfo{Provider: "openrouter", Model: "acme/acme-1"}, info.Fallback)

	// Three attempts, three failures: the circuit opens.
	_, err = a.Respond(t.Context(), agent.Request{Prompt: "ping"})
	assert.Equal(t, agent.KindServer, agent.KindOf(err))
	assert.Equal(t, 3, s.callCount(), "server errors are retried")
	assert.Equal(t, breaker.StateOpen, r.Breakers().Get("acme").State())

	// Open circuit: no call reaches the provider, OpenRouter answers.
	fb := rescued(t, a)
	assert.Equal(t, agent.KindCircuitOpen, fb.Reason)
	assert.Equal(t, "acme", fb.FromProvider)
	assert.Equal(t, "acme/acme-1", fb.ToModel)
	assert.Equal(t, 3, s.callCount(), "an open circuit keeps calls away from the provider")
	reqs := orf.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "acme/acme-1", model(reqs[0]))

	st, ok := statuses(r)["acme"]
	require.True(t, ok, "the provider's agent has a status entry")
	assert.True(t, st.Available, "the fallback serves")
	assert.Equal(t, breaker.StateOpen, st.CircuitState)
	require.NotNil(t, st.Fallback)
	assert.True(t, st.Fallback.Active)
	assert.EqualValues(t, 2, st.RequestsTotal)
}

func TestProviderTimeoutBoundsCalls(t *testing.T) {
	t.Parallel()
	p := registry.Provider{Name: "slow", New: func(registry.Spec) (agent.Agent, error) {
		return agent.Func(func(ctx context.Context, _ agent.Request) (agent.Response, error) {
			<-ctx.Done()
			return agent.Response{}, ctx.Err()
		}), nil
	}}
	cfg := registry.Config{Providers: []registry.Provider{p}, AgentTimeout: time.Millisecond,
		Retry: agent.RetryConfig{Sleep: func(context.Context, time.Duration) error { return nil }}}
	r, err := registry.New(cfg)
	require.NoError(t, err)
	_, a, _, err := r.Resolve("slow", 0)
	require.NoError(t, err)
	_, err = a.Respond(t.Context(), agent.Request{Prompt: "ping"})
	assert.Equal(t, agent.KindTimeout, agent.KindOf(err))
}

func TestProviderKnownTargetsAndModels(t *testing.T) {
	t.Parallel()
	s := &scripted{}
	noURL := s.provider("nourl")
	noURL.BaseURL, noURL.KeyVar = "", ""
	r := pluggedRegistry(t, map[string]string{"ACME_TOKEN": "k", "ARAGORA_AGENT_MODELS": "claude=claude-opus-4-1"}, s.provider("acme"), noURL)
	_, _, _, err := r.Resolve("acme:other", 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"claude", "gpt-4", "gemini", "mistral", "grok", "deepseek", "ollama", "acme", "nourl", "acme-other"}, knownNames(r))

	got, err := r.Targets()
	require.NoError(t, err)
	assert.Equal(t, []diag.Target{{Provider: "acme", URL: "https://api.acme.test"}}, got, "configured plugged-in providers with a URL")
	got, err = r.Targets("acme")
	require.NoError(t, err)
	assert.Equal(t, []diag.Target{{Provider: "acme", URL: "https://api.acme.test"}}, got)
	_, err = r.Targets("nourl")
	assert.ErrorContains(t, err, "no connectivity target")

	// Config.Models overrides a plugged-in provider's default model.
	cfg := registry.Config{Providers: []registry.Provider{s.provider("acme")}, APIKeys: map[string]string{"acme": "k"},
		Models: map[string]string{"acme": "acme-2"}}
	r2, err := registry.New(cfg)
	require.NoError(t, err)
	_, _, info, err := r2.Resolve("acme", 0)
	require.NoError(t, err)
	assert.Equal(t, "acme-2", info.Model)
}

func TestProviderValidation(t *testing.T) {
	t.Parallel()
	ok := (&scripted{}).provider("acme")
	tests := []struct {
		name string
		edit func(*registry.Provider)
	}{
		{"empty name", func(p *registry.Provider) { p.Name = "" }},
		{"upper case", func(p *registry.Provider) { p.Name = "Acme" }},
		{"colon", func(p *registry.Provider) { p.Name = "ac:me" }},
		{"built-in agent", func(p *registry.Provider) { p.Name = "claude" }},
		{"built-in provider", func(p *registry.Provider) { p.Name = "openrouter" }},
		{"demo", func(p *registry.Provider) { p.Name = "demo-x" }},
		{"no New", func(p *registry.Provider) { p.New = nil }},
		{"bad var", func(p *registry.Provider) { p.KeyVar = "acme key" }},
		{"bad URL", func(p *registry.Provider) { p.BaseURL = "api.acme.test" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := ok
			tt.edit(&p)
			_, err := registry.New(registry.Config{Providers: []registry.Provider{p}})
			assert.ErrorContains(t, err, "registry: ")
			assert.Panics(t, func() { registry.Register(p) })
		})
	}
	_, err := registry.New(registry.Config{Providers: []registry.Provider{ok, ok}})
	assert.ErrorContains(t, err, "given twice")
	_, err = registry.New(registry.Config{Providers: []registry.Provider{ok}, Getenv: env(map[string]string{"ACME_URL": "ftp://x"})})
	assert.ErrorContains(t, err, "ACME_URL")
}

// TestRegister is the process-wide path: FromEnv, DeriveName and every
// registry created afterwards know the provider.
func TestRegister(t *testing.T) {
	t.Parallel()
	s := &scripted{}
	p := s.provider("registered-acme")
	p.KeyVar, p.BaseURLVar = "REGISTERED_ACME_TOKEN", "" // other tests' variables leave it unconfigured
	registry.Register(p)
	assert.Panics(t, func() { registry.Register(s.provider("registered-acme")) }, "twice")
	assert.True(t, func() bool {
		for _, p := range registry.Registered() {
			if p.Name == "registered-acme" {
				return true
			}
		}
		return false
	}())
	name, err := registry.DeriveName("registered-acme:m/1")
	require.NoError(t, err)
	assert.Equal(t, "registered-acme-m-1", name)

	r := newRegistry(t, map[string]string{"REGISTERED_ACME_TOKEN": "k", "ARAGORA_AGENT_MODELS": "registered-acme=acme-9"})
	_, a, info, err := r.Resolve("registered-acme", 0)
	require.NoError(t, err)
	assert.Equal(t, "acme-9", info.Model)
	resp, err := a.Respond(t.Context(), agent.Request{Prompt: "p"})
	require.NoError(t, err)
	assert.Equal(t, "hello from acme-9", resp.Text)

	_, err = registry.New(registry.Config{Providers: []registry.Provider{s.provider("registered-acme")}})
	assert.ErrorContains(t, err, "given twice", "Config.Providers cannot shadow a registered provider")
}

// knownNames returns the names of r.Known(), without the agents of the
// providers TestRegister registers process-wide while other tests run.
func knownNames(r *registry.Registry) []string {
	var names []string
	for _, info := range r.Known() {
		if !slices.ContainsFunc(registry.Registered(), func(p registry.Provider) bool { return p.Name == info.Name }) {
			names = append(names, info.Name)
		}
	}
	return names
}
