package registry_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/anthropic"
	"github.com/aragora/aragora/agent/diag"
	"github.com/aragora/aragora/agent/internal/fakeprovider"
	"github.com/aragora/aragora/agent/registry"
	"github.com/aragora/aragora/breaker"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// newRegistry returns the Registry of vars with a transport of its own
// (closed when the test ends), retries that do not sleep, and edits
// applied to its Config.
func newRegistry(t *testing.T, vars map[string]string, edits ...func(*registry.Config)) *registry.Registry {
	t.Helper()
	cfg, err := registry.FromEnv(env(vars))
	require.NoError(t, err)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	cfg.HTTPClient = &http.Client{Transport: tr}
	cfg.Retry = agent.RetryConfig{Sleep: func(context.Context, time.Duration) error { return nil }}
	for _, edit := range edits {
		edit(&cfg)
	}
	r, err := registry.New(cfg)
	require.NoError(t, err)
	return r
}

func TestResolve(t *testing.T) {
	t.Parallel()
	const (
		ant = "ANTHROPIC_API_KEY"
		or  = "OPENROUTER_API_KEY"
	)
	long := "openrouter:" + strings.Repeat("m", 60)
	tests := []struct {
		name         string
		vars         map[string]string
		spec         string
		wantName     string
		wantProvider string
		wantModel    string
		wantFallback *registry.FallbackInfo
		wantUnavail  *registry.UnavailableError
		wantUnknown  bool
	}{
		{name: "claude with its key", vars: map[string]string{ant: "k"}, spec: "claude",
			wantName: "claude", wantProvider: "anthropic", wantModel: "claude-sonnet-4-5"},
		{name: "claude with OpenRouter fallback", vars: map[string]string{ant: "k", or: "o"}, spec: "claude",
			wantName: "claude", wantProvider: "anthropic", wantModel: "claude-sonnet-4-5",
			wantFallback: &registry.FallbackInfo{Provider: "openrouter", Model: "anthropic/claude-sonnet-4.5"}},
		{name: "keyless claude runs through OpenRouter", vars: map[string]string{or: "o"}, spec: "claude",
			wantName: "claude", wantProvider: "openrouter", wantModel: "anthropic/claude-sonnet-4.5",
			wantFallback: &registry.FallbackInfo{Provider: "openrouter", Model: "anthropic/claude-sonnet-4.5", Active: true}},
		{name: "keyless gpt-4 through OpenRouter", vars: map[string]string{or: "o"}, spec: "gpt-4",
			wantName: "gpt-4", wantProvider: "openrouter", wantModel: "openai/gpt-4o",
			wantFallback: &registry.FallbackInfo{Provider: "openrouter", Model: "openai/gpt-4o", Active: true}},
		{name: "keyless gemini through OpenRouter", vars: map[string]string{or: "o"}, spec: "gemini",
			wantName: "gemini", wantProvider: "openrouter", wantModel: "google/gemini-2.5-pro",
			wantFallback: &registry.FallbackInfo{Provider: "openrouter", Model: "google/gemini-2.5-pro", Active: true}},
		{name: "claude without any key", spec: "claude", wantName: "claude", wantProvider: "anthropic", wantModel: "claude-sonnet-4-5",
			wantUnavail: &registry.UnavailableError{Agent: "claude", Var: ant, Alt: or}},
		{name: "gpt-4 with model override", vars: map[string]string{"OPENAI_API_KEY": "k", "ARAGORA_AGENT_MODELS": "gpt-4=gpt-4.1, claude=claude-opus-4-1"},
			spec: "gpt-4", wantName: "gpt-4", wantProvider: "openai", wantModel: "gpt-4.1"},
		{name: "gemini", vars: map[string]string{"GEMINI_API_KEY": "k"}, spec: "gemini", wantName: "gemini", wantProvider: "gemini", wantModel: "gemini-2.5-pro"},
		{name: "mistral", vars: map[string]string{"MISTRAL_API_KEY": "k"}, spec: "mistral", wantName: "mistral", wantProvider: "mistral", wantModel: "mistral-large-latest"},
		{name: "grok", vars: map[string]string{"XAI_API_KEY": "k"}, spec: "grok", wantName: "grok", wantProvider: "xai", wantModel: "grok-4"},
		{name: "deepseek", vars: map[string]string{"DEEPSEEK_API_KEY": "k"}, spec: "deepseek", wantName: "deepseek", wantProvider: "deepseek", wantModel: "deepseek-chat"},
		{name: "grok unavailable names XAI_API_KEY", spec: "grok", wantName: "grok", wantProvider: "xai", wantModel: "grok-4",
			wantUnavail: &registry.UnavailableError{Agent: "grok", Var: "XAI_API_KEY", Alt: or}},
		{name: "ollama", vars: map[string]string{"OLLAMA_HOST": "localhost"}, spec: "ollama", wantName: "ollama", wantProvider: "ollama", wantModel: "llama3.1"},
		{name: "ollama without host, OpenRouter cannot help", vars: map[string]string{or: "o"}, spec: "ollama", wantName: "ollama", wantProvider: "ollama",
			wantModel: "llama3.1", wantUnavail: &registry.UnavailableError{Agent: "ollama", Var: "OLLAMA_HOST"}},
		{name: "ollama spec", vars: map[string]string{"OLLAMA_HOST": "http://127.0.0.1:11434"}, spec: "ollama:qwen2.5:14b",
			wantName: "ollama-qwen2.5-14b", wantProvider: "ollama", wantModel: "qwen2.5:14b"},
		{name: "openrouter spec", vars: map[string]string{or: "o"}, spec: "openrouter:meta-llama/llama-3.1-70b-instruct",
			wantName: "openrouter-meta-llama-llama-3.1-70b-instruct", wantProvider: "openrouter", wantModel: "meta-llama/llama-3.1-70b-instruct"},
		{name: "openrouter spec without key", spec: "openrouter:x-ai/grok-4", wantName: "openrouter-x-ai-grok-4", wantProvider: "openrouter",
			wantModel: "x-ai/grok-4", wantUnavail: &registry.UnavailableError{Agent: "openrouter-x-ai-grok-4", Var: or}},
		{name: "demo with default style", spec: "demo-analyst", wantName: "demo-analyst", wantProvider: "demo", wantModel: "demo-supportive"},
		{name: "demo with style", spec: "demo-bob:hollow", wantName: "demo-bob", wantProvider: "demo", wantModel: "demo-hollow"},
		{name: "demo judge is balanced", spec: " demo-judge ", wantName: "demo-judge", wantProvider: "demo", wantModel: "demo-balanced"},
		{name: "demo with unknown style", spec: "demo-bob:angry", wantUnknown: true},
		{name: "unknown name", spec: "gpt-5", wantUnknown: true},
		{name: "names are case-sensitive", spec: "Claude", wantUnknown: true},
		{name: "empty", spec: "", wantUnknown: true},
		{name: "openrouter spec without model", vars: map[string]string{or: "o"}, spec: "openrouter:", wantUnknown: true},
		{name: "bad character in derived name", vars: map[string]string{or: "o"}, spec: "openrouter:a+b", wantUnknown: true},
		{name: "derived name over 64 characters", vars: map[string]string{or: "o"}, spec: long, wantUnknown: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRegistry(t, tt.vars)
			name, a, info, err := r.Resolve(tt.spec, 1)
			if tt.wantUnknown {
				var ue *registry.UnknownError
				require.ErrorAs(t, err, &ue)
				assert.Nil(t, a)
				return
			}
			assert.Equal(t, tt.wantName, name)
			assert.Equal(t, tt.wantName, info.Name)
			assert.Equal(t, tt.wantProvider, info.Provider)
			assert.Equal(t, tt.wantModel, info.Model)
			assert.Equal(t, tt.wantFallback, info.Fallback)
			if tt.wantUnavail != nil {
				var ue *registry.UnavailableError
				require.ErrorAs(t, err, &ue)
				assert.Equal(t, tt.wantUnavail, ue)
				assert.Contains(t, err.Error(), tt.wantUnavail.Var, "the error names the variable to set")
				assert.False(t, info.Configured)
				assert.Nil(t, a)
				return
			}
			require.NoError(t, err)
			require.NotNil(t, a)
			assert.True(t, info.Configured)
			_, streams := a.(agent.Streamer)
			assert.True(t, streams, "middleware keeps the Streamer capability")
			derived, err := registry.DeriveName(tt.spec)
			require.NoError(t, err)
			assert.Equal(t, tt.wantName, derived)
		})
	}
}

// model is the model field of a request a fake provider received.
func model(r fakeprovider.Request) any {
	var body map[string]any
	r.Decode(&body)
	return body["model"]
}

func anthropicReply(text string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("anthropic-ratelimit-requests-remaining", "41")
		_, _ = io.WriteString(w, `{"type":"message","model":"claude-sonnet-4-5","content":[{"type":"text","text":"`+text+`"}],"usage":{"input_tokens":12,"output_tokens":2}}`)
	}
}

// rescued sends a a call that the OpenRouter fallback (serving
// openAIReply("rescued")) must answer, and returns the reply's Fallback.
func rescued(t *testing.T, a agent.Agent) *agent.Fallback {
	t.Helper()
	resp, err := a.Respond(t.Context(), agent.Request{Prompt: "ping"})
	require.NoError(t, err)
	assert.Equal(t, "rescued", resp.Text)
	require.NotNil(t, resp.Fallback)
	return resp.Fallback
}

// statuses returns the Status of each of r's agents by name.
func statuses(r *registry.Registry) map[string]registry.Status {
	byName := map[string]registry.Status{}
	for _, s := range r.Status() {
		byName[s.Name] = s
	}
	return byName
}

func openAIReply(text string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"model":"anthropic/claude-sonnet-4.5","choices":[{"message":{"content":"`+text+`"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1}}`)
	}
}

func status(code int, body string) http.HandlerFunc { return fakeprovider.Answer(code, nil, body) }

func TestResolvedAgentCallsProvider(t *testing.T) {
	t.Parallel()
	ant := fakeprovider.Serve(t, anthropicReply("pong"))
	r := newRegistry(t, map[string]string{"ANTHROPIC_API_KEY": "sk-ant", "ANTHROPIC_BASE_URL": ant.URL})
	_, a, info, err := r.Resolve("claude", 0)
	require.NoError(t, err)
	assert.Equal(t, ant.URL, info.BaseURL)
	resp, err := a.Respond(t.Context(), agent.Request{Prompt: "ping"})
	require.NoError(t, err)
	assert.Equal(t, "pong", resp.Text)
	assert.Equal(t, "anthropic", resp.Provider)
	assert.InDelta(t, 0.000066, resp.CostUSD, 1e-12)
	reqs := ant.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "/v1/messages", reqs[0].URL.Path)
	assert.Equal(t, "sk-ant", reqs[0].Header.Get("x-api-key"))
	snap := r.Stats().Snapshot("claude")
	assert.EqualValues(t, 1, snap.RequestsTotal)
	assert.Equal(t, agent.QuotaRemaining{Value: 41, Known: true}, snap.QuotaRemaining, "rate-limit headers reach the stats")
}

func TestKeylessAgentUsesOpenRouter(t *testing.T) {
	t.Parallel()
	orf := fakeprovider.Serve(t, openAIReply("via openrouter"))
	r := newRegistry(t, map[string]string{"OPENROUTER_API_KEY": "sk-or", "OPENROUTER_BASE_URL": orf.URL + "/api/v1"})
	_, a, _, err := r.Resolve("claude", 0)
	require.NoError(t, err)
	resp, err := a.Respond(t.Context(), agent.Request{Prompt: "ping"})
	require.NoError(t, err)
	assert.Equal(t, "via openrouter", resp.Text)
	assert.Nil(t, resp.Fallback, "running through OpenRouter is not a fallback")
	reqs := orf.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "/api/v1/chat/completions", reqs[0].URL.Path)
	assert.Equal(t, "Bearer sk-or", reqs[0].Header.Get("Authorization"))
	assert.Equal(t, "anthropic/claude-sonnet-4.5", model(reqs[0]))
}

func TestQuotaExhaustedFallsBackAtOnce(t *testing.T) {
	t.Parallel()
	ant := fakeprovider.Serve(t, status(http.StatusTooManyRequests,
		`{"type":"error","error":{"type":"rate_limit_error","message":"You have exceeded your quota; check your billing details"}}`))
	orf := fakeprovider.Serve(t, openAIReply("rescued"))
	r := newRegistry(t, map[string]string{"ANTHROPIC_API_KEY": "sk-ant", "ANTHROPIC_BASE_URL": ant.URL,
		"OPENROUTER_API_KEY": "sk-or", "OPENROUTER_BASE_URL": orf.URL})
	_, a, _, err := r.Resolve("claude", 0)
	require.NoError(t, err)
	fb := rescued(t, a)
	assert.Equal(t, agent.KindQuotaExhausted, fb.Reason)
	assert.Equal(t, "anthropic", fb.FromProvider)
	assert.Equal(t, "claude-sonnet-4-5", fb.FromModel)
	assert.Equal(t, "openrouter", fb.ToProvider)
	assert.Equal(t, "anthropic/claude-sonnet-4.5", fb.ToModel)
	assert.Len(t, ant.Requests(), 1, "quota exhaustion is never retried")
	snap := r.Stats().Snapshot("claude")
	assert.Equal(t, agent.QuotaRemaining{Value: 0, Known: true}, snap.QuotaRemaining)
	assert.Equal(t, breaker.StateClosed, r.Breakers().Get("claude").State(), "quota does not count against the breaker")
}

func TestServerErrorsOpenBreakerThenFallBack(t *testing.T) {
	t.Parallel()
	ant := fakeprovider.Serve(t, status(http.StatusInternalServerError, `{"type":"error","error":{"type":"api_error","message":"boom"}}`))
	orf := fakeprovider.Serve(t, openAIReply("rescued"))
	r := newRegistry(t, map[string]string{"ANTHROPIC_API_KEY": "sk-ant", "ANTHROPIC_BASE_URL": ant.URL,
		"OPENROUTER_API_KEY": "sk-or", "OPENROUTER_BASE_URL": orf.URL, "ARAGORA_CB_FAILURE_THRESHOLD": "3", "ARAGORA_CB_OPEN_SECONDS": "60"})
	_, a, _, err := r.Resolve("claude", 0)
	require.NoError(t, err)

	// Three attempts, three failures: the circuit opens.
	_, err = a.Respond(t.Context(), agent.Request{Prompt: "ping"})
	require.Error(t, err)
	assert.Equal(t, agent.KindServer, agent.KindOf(err))
	assert.Equal(t, breaker.StateOpen, r.Breakers().Get("claude").State())
	assert.Len(t, ant.Requests(), 3)

	// Open circuit: no request reaches the provider, OpenRouter answers.
	assert.Equal(t, agent.KindCircuitOpen, rescued(t, a).Reason)
	assert.Len(t, ant.Requests(), 3)
}

func TestResolveDirectBypassesMiddleware(t *testing.T) {
	t.Parallel()
	r := newRegistry(t, map[string]string{"ANTHROPIC_API_KEY": "k"})
	_, a, _, err := r.ResolveDirect("claude")
	require.NoError(t, err)
	assert.IsType(t, &anthropic.Agent{}, a)
}

func TestFromEnvErrorsNameTheVariable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		vars    map[string]string
		wantVar string
	}{
		{vars: map[string]string{"ARAGORA_AGENT_MODELS": "claude"}, wantVar: "ARAGORA_AGENT_MODELS"},
		{vars: map[string]string{"ARAGORA_AGENT_MODELS": "gpt-5=x"}, wantVar: "ARAGORA_AGENT_MODELS"},
		{vars: map[string]string{"ARAGORA_AGENT_TIMEOUT_SECONDS": "abc"}, wantVar: "ARAGORA_AGENT_TIMEOUT_SECONDS"},
		{vars: map[string]string{"ARAGORA_AGENT_TIMEOUT_SECONDS": "0"}, wantVar: "ARAGORA_AGENT_TIMEOUT_SECONDS"},
		{vars: map[string]string{"ARAGORA_CB_FAILURE_THRESHOLD": "0"}, wantVar: "ARAGORA_CB_FAILURE_THRESHOLD"},
		{vars: map[string]string{"ARAGORA_CB_FAILURE_THRESHOLD": "abc"}, wantVar: "ARAGORA_CB_FAILURE_THRESHOLD"},
		{vars: map[string]string{"ARAGORA_CB_OPEN_SECONDS": "-1"}, wantVar: "ARAGORA_CB_OPEN_SECONDS"},
		{vars: map[string]string{"ARAGORA_PRICING_FILE": "/nonexistent/prices.json"}, wantVar: "ARAGORA_PRICING_FILE"},
		{vars: map[string]string{"OPENAI_BASE_URL": "api.openai.com/v1"}, wantVar: "OPENAI_BASE_URL"},
		{vars: map[string]string{"GEMINI_BASE_URL": "ftp://x"}, wantVar: "GEMINI_BASE_URL"},
		{vars: map[string]string{"OLLAMA_HOST": "ftp://x"}, wantVar: "OLLAMA_HOST"},
	}
	for _, tt := range tests {
		t.Run(tt.wantVar, func(t *testing.T) {
			t.Parallel()
			_, err := registry.FromEnv(env(tt.vars))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantVar)
			assert.True(t, strings.HasPrefix(err.Error(), "registry: "))
		})
	}
}

func TestFromEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "prices.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"claude-sonnet-4-5":{"input_per_mtok":1,"output_per_mtok":2},"my-model":{"input_per_mtok":0.5,"output_per_mtok":1}}`), 0o600))
	cfg, err := registry.FromEnv(env(map[string]string{
		"ANTHROPIC_API_KEY":             " sk-ant ",
		"OLLAMA_HOST":                   "127.0.0.1",
		"ARAGORA_AGENT_TIMEOUT_SECONDS": "90",
		"ARAGORA_CB_FAILURE_THRESHOLD":  "7",
		"ARAGORA_CB_OPEN_SECONDS":       "45",
		"ARAGORA_PRICING_FILE":          path,
		"ARAGORA_AGENT_MODELS":          "claude=claude-opus-4-1,",
		"MISTRAL_API_KEY":               "",
	}))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"anthropic": "sk-ant"}, cfg.APIKeys)
	assert.Equal(t, "http://127.0.0.1:11434", cfg.OllamaHost)
	assert.Equal(t, 90*time.Second, cfg.AgentTimeout)
	assert.EqualValues(t, 7, cfg.Breaker.MaxFailures)
	assert.Equal(t, 45*time.Second, cfg.Breaker.OpenFor)
	assert.Equal(t, map[string]string{"claude": "claude-opus-4-1"}, cfg.Models)
	assert.Equal(t, 1.0, cfg.Pricing["claude-sonnet-4-5"].InputPerMTok, "the file overrides the built-in price")
	assert.Equal(t, 0.5, cfg.Pricing["my-model"].InputPerMTok)
	assert.Equal(t, 2.5, cfg.Pricing["gpt-4o"].InputPerMTok, "built-in prices remain")
	assert.Equal(t, []string{"demo-analyst", "demo-critic", "demo-judge"}, cfg.DefaultAgents)
}

func TestDefaultAgents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		vars map[string]string
		want []string
	}{
		{name: "no keys", want: []string{"demo-analyst", "demo-critic", "demo-judge"}},
		{name: "one key", vars: map[string]string{"ANTHROPIC_API_KEY": "k"}, want: []string{"demo-analyst", "demo-critic", "demo-judge"}},
		{name: "both keys", vars: map[string]string{"ANTHROPIC_API_KEY": "k", "OPENAI_API_KEY": "k"}, want: []string{"claude", "gpt-4"}},
		{name: "explicit", vars: map[string]string{"ANTHROPIC_API_KEY": "k", "OPENAI_API_KEY": "k", "ARAGORA_DEFAULT_AGENTS": " gemini, demo-x ,"},
			want: []string{"gemini", "demo-x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, registry.DefaultAgents(env(tt.vars)))
			assert.Equal(t, tt.want, newRegistry(t, tt.vars).DefaultAgents())
		})
	}
}

func TestKnown(t *testing.T) {
	t.Parallel()
	r := newRegistry(t, map[string]string{"ANTHROPIC_API_KEY": "k", "OPENROUTER_API_KEY": "o"})
	for _, spec := range []string{"demo-zed", "openrouter:x-ai/grok-4", "demo-analyst:critical", "claude"} {
		_, _, _, err := r.Resolve(spec, 0)
		require.NoError(t, err)
	}
	byName := map[string]registry.Info{}
	for _, info := range r.Known() {
		byName[info.Name] = info
	}
	assert.Equal(t, []string{"claude", "gpt-4", "gemini", "mistral", "grok", "deepseek", "ollama",
		"demo-analyst", "demo-zed", "openrouter-x-ai-grok-4"}, knownNames(r))
	assert.True(t, byName["claude"].Configured)
	assert.Equal(t, "anthropic", byName["claude"].Provider)
	assert.Equal(t, "openrouter", byName["gpt-4"].Provider)
	assert.False(t, byName["ollama"].Configured)
	assert.Nil(t, byName["ollama"].Fallback)
	assert.Equal(t, "demo-critical", byName["demo-analyst"].Model)

	data, err := json.Marshal(byName["claude"])
	require.NoError(t, err)
	assert.JSONEq(t, `{"name":"claude","provider":"anthropic","model":"claude-sonnet-4-5","configured":true,
		"fallback":{"provider":"openrouter","model":"anthropic/claude-sonnet-4.5","active":false}}`, string(data))
}

func TestTargets(t *testing.T) {
	t.Parallel()
	r := newRegistry(t, map[string]string{"ANTHROPIC_API_KEY": "k", "OPENROUTER_API_KEY": "o", "OPENAI_API_KEY": "k",
		"OPENAI_BASE_URL": "http://127.0.0.1:8000/v1", "OLLAMA_HOST": "localhost:11434"})
	got, err := r.Targets()
	require.NoError(t, err)
	assert.Equal(t, []diag.Target{
		{Provider: "anthropic", URL: "https://api.anthropic.com"},
		{Provider: "openai", URL: "http://127.0.0.1:8000/v1"},
		{Provider: "openrouter", URL: "https://openrouter.ai"},
		{Provider: "ollama", URL: "http://localhost:11434"},
	}, got)
	got, err = r.Targets("gemini")
	require.NoError(t, err)
	assert.Equal(t, []diag.Target{{Provider: "gemini", URL: "https://generativelanguage.googleapis.com"}}, got)
	_, err = r.Targets("acme")
	assert.Error(t, err)
}

func TestDemoAgentIsDeterministic(t *testing.T) {
	t.Parallel()
	r := newRegistry(t, nil)
	req := agent.Request{Participant: "demo-analyst", Phase: agent.PhasePropose, Round: 1, Question: "Which database?", Prompt: "p"}
	var texts []string
	for range 2 {
		_, a, _, err := r.Resolve("demo-analyst", 42)
		require.NoError(t, err)
		resp, err := a.Respond(t.Context(), req)
		require.NoError(t, err)
		texts = append(texts, resp.Text)
	}
	assert.Equal(t, texts[0], texts[1])
	assert.EqualValues(t, 2, r.Stats().Snapshot("demo-analyst").RequestsTotal)
}

func TestStatus(t *testing.T) {
	t.Parallel()
	ant := fakeprovider.Serve(t, status(http.StatusPaymentRequired, `{"type":"error","error":{"type":"billing_error","message":"insufficient credits"}}`))
	orf := fakeprovider.Serve(t, openAIReply("rescued"))
	r := newRegistry(t, map[string]string{"ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": ant.URL,
		"OPENROUTER_API_KEY": "o", "OPENROUTER_BASE_URL": orf.URL, "GEMINI_API_KEY": "g"})
	_, a, _, err := r.Resolve("claude", 0)
	require.NoError(t, err)
	_, err = a.Respond(t.Context(), agent.Request{Prompt: "p"})
	require.NoError(t, err)

	byName := statuses(r)
	claude := byName["claude"]
	assert.True(t, claude.Available, "quota exhausted, but the fallback serves")
	assert.Equal(t, breaker.StateClosed, claude.CircuitState)
	assert.Equal(t, agent.QuotaRemaining{Value: 0, Known: true}, claude.QuotaRemaining)
	require.NotNil(t, claude.Fallback)
	assert.True(t, claude.Fallback.Active)
	assert.EqualValues(t, 1, claude.RequestsTotal)
	assert.EqualValues(t, 1, claude.Errors[agent.KindQuotaExhausted])

	data, err := json.Marshal(byName["gemini"])
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	assert.Equal(t, "unknown", m["quota_remaining"])
	assert.Equal(t, "closed", m["circuit_state"])
	assert.Nil(t, m["latency_ms"])
	assert.Equal(t, true, m["available"])
	assert.Equal(t, map[string]any{"provider": "openrouter", "model": "google/gemini-2.5-pro", "active": false}, m["fallback"])

	assert.False(t, byName["ollama"].Available)
	assert.Nil(t, byName["ollama"].Fallback)
}

// TestResolvedAgentsSupportSchema checks that the registry's middleware
// chain lets the engine see which agents take a JSON schema
// (docs/agents.md#structured-replies).
func TestResolvedAgentsSupportSchema(t *testing.T) {
	t.Parallel()
	r := newRegistry(t, map[string]string{"ANTHROPIC_API_KEY": "k", "OPENAI_API_KEY": "k", "GEMINI_API_KEY": "k",
		"DEEPSEEK_API_KEY": "k", "OPENROUTER_API_KEY": "k", "OLLAMA_HOST": "http://127.0.0.1:11434"})
	for spec, want := range map[string]bool{"claude": true, "gpt-4": true, "gemini": true, "deepseek": false,
		"openrouter:meta-llama/llama-3.1-70b-instruct": true, "ollama:qwen2.5:14b": true, "demo-analyst": false} {
		_, a, _, err := r.Resolve(spec, 1)
		require.NoError(t, err, spec)
		assert.Equal(t, want, agent.SupportsSchema(a), spec)
	}
}
