package openai_test

import (
	"cmp"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/agenttest"
	"github.com/aragora/aragora/agent/internal/fakeprovider"
	"github.com/aragora/aragora/agent/openai"
	"github.com/aragora/aragora/agent/pricing"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testModel = "gpt-test"

// wire speaks the OpenAI Chat Completions format for agenttest.Conformance.
var wire = agenttest.Wire{
	Reply: fakeprovider.Replies(reply),
	Empty: fakeprovider.JSON(http.StatusOK, map[string]any{"id": "chatcmpl-1", "object": "chat.completion", "model": testModel, "choices": []any{}}),
	Error: func(w http.ResponseWriter, status int, message string, quota bool) {
		e := map[string]any{"message": message, "type": "server_error", "param": nil, "code": nil}
		switch {
		case quota:
			e["type"], e["code"] = "insufficient_quota", "insufficient_quota"
		case status == 429:
			e["type"], e["code"] = "requests", "rate_limit_exceeded"
		case status == 401:
			e["type"], e["code"] = "invalid_request_error", "invalid_api_key"
		case status == 400:
			e["type"] = "invalid_request_error"
		}
		fakeprovider.WriteJSON(w, status, map[string]any{"error": e})
	},
	Stream: func(chunks []string, u agent.Usage) []string {
		return streamEvents(chunks, u)
	},
	DecodeRequest: func(_ *http.Request, body []byte) (agenttest.Sent, error) {
		var req sentRequest
		if err := json.Unmarshal(body, &req); err != nil {
			return agenttest.Sent{}, err
		}
		return fakeprovider.ChatSent(agenttest.Sent{MaxTokens: req.MaxCompletionTokens, Stream: req.Stream, Structured: req.ResponseFormat != nil},
			req.Messages), nil
	},
	Structured: func(w http.ResponseWriter, _, value string, u agent.Usage) {
		fakeprovider.WriteJSON(w, http.StatusOK, reply(value, u))
	},
	RejectSchema: fakeprovider.JSON(http.StatusBadRequest, map[string]any{"error": map[string]any{
		"message": "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.",
		"type":    "invalid_request_error", "param": "response_format", "code": nil}}),
}

type sentRequest struct {
	Model               string                     `json:"model"`
	Messages            []fakeprovider.ChatMessage `json:"messages"`
	MaxTokens           int                        `json:"max_tokens"`
	MaxCompletionTokens int                        `json:"max_completion_tokens"`
	Temperature         *float64                   `json:"temperature"`
	Stream              bool                       `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	ResponseFormat json.RawMessage `json:"response_format"`
}

func reply(text string, u agent.Usage) map[string]any {
	return map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": testModel,
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": text}, "finish_reason": "stop"}},
		"usage":   map[string]any{"prompt_tokens": u.InputTokens, "completion_tokens": u.OutputTokens, "total_tokens": u.Total()},
	}
}

func streamEvents(chunks []string, u agent.Usage) []string {
	events := []string{fakeprovider.SSE(map[string]any{"model": testModel, "choices": []any{map[string]any{"index": 0, "delta": map[string]any{"role": "assistant", "content": ""}, "finish_reason": nil}}})}
	for _, c := range chunks {
		events = append(events, fakeprovider.SSE(map[string]any{"model": testModel, "choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": c}, "finish_reason": nil}}}))
	}
	return append(events,
		fakeprovider.SSE(map[string]any{"model": testModel, "choices": []any{map[string]any{"index": 0, "delta": map[string]any{}, "finish_reason": "stop"}}}),
		fakeprovider.SSE(map[string]any{"model": testModel, "choices": []any{}, "usage": map[string]any{"prompt_tokens": u.InputTokens, "completion_tokens": u.OutputTokens}}),
		"data: [DONE]\n\n")
}

func TestConformance(t *testing.T) {
	t.Parallel()
	agenttest.Conformance(t, adapter(openai.Config{Model: testModel}).Harness(t, wire, "openai", testModel))
}

// adapter builds the adapter of cfg, with the key "k" unless cfg has one.
func adapter(cfg openai.Config) fakeprovider.Adapter[*openai.Agent] {
	return func(baseURL string, client *http.Client) (*openai.Agent, error) {
		cfg.APIKey, cfg.BaseURL, cfg.HTTPClient = cmp.Or(cfg.APIKey, "k"), baseURL, client
		return openai.New(cfg)
	}
}

// last returns the headers, path and body of the last request srv received.
func last(srv *fakeprovider.Server) (http.Header, string, sentRequest) {
	r := srv.Last()
	var body sentRequest
	r.Decode(&body)
	return r.Header, r.URL.Path, body
}

func TestRequestMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		cfg           openai.Config
		req           agent.Request
		wantAuth      string
		wantModel     string
		wantMax       int // max_tokens
		wantMaxCompl  int // max_completion_tokens
		wantTemp      *float64
		wantSystem    bool
		wantStreamOpt bool
	}{
		{
			name:         "openai uses max_completion_tokens and bearer key",
			cfg:          openai.Config{APIKey: "sk-1", Model: "gpt-4o"},
			req:          agent.Request{System: "sys", Prompt: "hi", MaxTokens: 64, Temperature: 0.7},
			wantAuth:     "Bearer sk-1",
			wantModel:    "gpt-4o",
			wantMaxCompl: 64,
			wantTemp:     ptr(0.7),
			wantSystem:   true,
		},
		{
			name:      "openrouter uses max_tokens, config default, no temperature at 0",
			cfg:       openai.Config{Provider: "openrouter", APIKey: "or-1", Model: "anthropic/claude-sonnet-4.5", MaxTokens: 99},
			req:       agent.Request{Prompt: "hi"},
			wantAuth:  "Bearer or-1",
			wantModel: "anthropic/claude-sonnet-4.5",
			wantMax:   99,
		},
		{
			name:      "ollama needs no key and defaults its model",
			cfg:       openai.Config{Provider: "ollama"},
			req:       agent.Request{Prompt: "hi"},
			wantModel: "llama3.1",
			wantMax:   openai.DefaultMaxTokens,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeprovider.ServeJSON(t, reply("ok", agent.Usage{InputTokens: 1, OutputTokens: 1}))
			cfg := tt.cfg
			cfg.BaseURL, cfg.HTTPClient = srv.URL+"/v1/", srv.Client()
			a, err := openai.New(cfg)
			require.NoError(t, err)
			_, err = a.Respond(t.Context(), tt.req)
			require.NoError(t, err)
			h, path, body := last(srv)
			assert.Equal(t, "/v1/chat/completions", path)
			assert.Equal(t, tt.wantAuth, h.Get("Authorization"))
			assert.Equal(t, "application/json", h.Get("Content-Type"))
			assert.Equal(t, tt.wantModel, body.Model)
			assert.Equal(t, tt.wantMax, body.MaxTokens)
			assert.Equal(t, tt.wantMaxCompl, body.MaxCompletionTokens)
			assert.Equal(t, tt.wantTemp, body.Temperature)
			assert.False(t, body.Stream)
			assert.Nil(t, body.StreamOptions)
			var roles []string
			for _, m := range body.Messages {
				roles = append(roles, m.Role)
			}
			if tt.wantSystem {
				assert.Equal(t, []string{"system", "user"}, roles)
			} else {
				assert.Equal(t, []string{"user"}, roles)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestStreamAsksForUsage(t *testing.T) {
	t.Parallel()
	for _, provider := range []string{"openai", "mistral"} {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			srv := fakeprovider.Serve(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = io.WriteString(w, strings.Join(streamEvents([]string{"a", "b"}, agent.Usage{InputTokens: 2, OutputTokens: 3}), ""))
			})
			var got []string
			resp, err := adapter(openai.Config{Provider: provider}).On(t, srv).RespondStream(t.Context(), agent.Request{Prompt: "p"}, func(c string) { got = append(got, c) })
			require.NoError(t, err)
			assert.Equal(t, "ab", resp.Text)
			assert.Equal(t, []string{"a", "b"}, got)
			assert.Equal(t, agent.Usage{InputTokens: 2, OutputTokens: 3}, resp.Usage)
			assert.Equal(t, "stop", resp.FinishReason) // gen_ai.response.finish_reasons
			h, _, body := last(srv)
			assert.True(t, body.Stream)
			assert.Equal(t, "text/event-stream", h.Get("Accept"))
			assert.Equal(t, provider == "openai", body.StreamOptions != nil && body.StreamOptions.IncludeUsage)
		})
	}
}

func TestCostAndModel(t *testing.T) {
	t.Parallel()
	srv := fakeprovider.Serve(t, func(w http.ResponseWriter, _ *http.Request) {
		r := reply("pong", agent.Usage{InputTokens: 1_000_000, OutputTokens: 500_000})
		r["model"] = "gpt-4o-2024-08-06"
		fakeprovider.WriteJSON(w, http.StatusOK, r)
	})
	tests := []struct {
		name    string
		model   string
		pricing pricing.Table
		want    float64
	}{
		{name: "built-in table", model: "gpt-4o", want: 2.5 + 5},
		{name: "override", model: "gpt-4o", pricing: pricing.Table{"gpt-4o": {InputPerMTok: 1, OutputPerMTok: 2}}, want: 2},
		{name: "unknown configured model falls back to the reply's", model: "my-alias", want: 7.5},
		{name: "empty table disables costs", model: "gpt-4o", pricing: pricing.Table{}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, err := adapter(openai.Config{Model: tt.model, Pricing: tt.pricing}).On(t, srv).Respond(t.Context(), agent.Request{Prompt: "p"})
			require.NoError(t, err)
			assert.InDelta(t, tt.want, resp.CostUSD, 1e-9)
			assert.Equal(t, "gpt-4o-2024-08-06", resp.Model)
			assert.Equal(t, "stop", resp.FinishReason)
			assert.Equal(t, "openai", resp.Provider)
			assert.Equal(t, 1, resp.Attempts)
		})
	}
}

func TestErrorMapping(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)
	fakeprovider.ErrorCases(t, "openai", []fakeprovider.ErrorCase{
		{Name: "429 insufficient_quota code", Status: 429, Body: `{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}`,
			Kind: agent.KindQuotaExhausted, Is: agent.ErrQuotaExhausted},
		{Name: "429 with retry-after-ms", Status: 429, Header: map[string]string{"retry-after-ms": "1500"}, Body: `{"error":{"message":"slow down","type":"requests"}}`,
			Kind: agent.KindRateLimited, Is: agent.ErrRateLimited, Retry: 1500 * time.Millisecond, Retryable: true},
		{Name: "429 with HTTP-date Retry-After", Status: 429, Header: map[string]string{"Retry-After": now.Add(9 * time.Second).Format(http.TimeFormat)},
			Body: `{"error":{"message":"slow down"}}`, Kind: agent.KindRateLimited, Is: agent.ErrRateLimited, Retry: 9 * time.Second, Retryable: true},
		{Name: "402", Status: 402, Body: `{"error":{"message":"Insufficient credits","code":402}}`, Kind: agent.KindQuotaExhausted, Is: agent.ErrQuotaExhausted},
		{Name: "403", Status: 403, Body: `{"error":"forbidden"}`, Kind: agent.KindAuth, Is: agent.ErrAuth},
		{Name: "404 model not found", Status: 404, Body: `{"error":"model 'x' not found"}`, Kind: agent.KindOther},
		{Name: "504 plain text", Status: 504, Body: "upstream timed out", Kind: agent.KindServer, Retryable: true},
		{Name: "200 with embedded error (OpenRouter)", Status: 200, Body: `{"error":{"message":"Provider returned error","code":502}}`, Kind: agent.KindServer,
			WantStatus: 502, Retryable: true},
		{Name: "200 with empty text", Status: 200, Body: `{"choices":[{"message":{"content":""}}]}`, Kind: agent.KindInvalidResponse, Is: agent.ErrInvalidResponse},
		{Name: "200 not JSON", Status: 200, Body: `<html>`, Kind: agent.KindInvalidResponse, Is: agent.ErrInvalidResponse},
	}, func(t *testing.T, srv *fakeprovider.Server) error {
		_, err := adapter(openai.Config{Now: func() time.Time { return now }}).On(t, srv).Respond(t.Context(), agent.Request{Prompt: "p"})
		return err
	})
}

func TestStreamEmbeddedError(t *testing.T) {
	t.Parallel()
	srv := fakeprovider.Serve(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, ": OPENROUTER PROCESSING\n\n"+fakeprovider.SSE(map[string]any{"error": map[string]any{"message": "overloaded", "code": 503}}))
	})
	_, err := adapter(openai.Config{Provider: "openrouter", Model: "m"}).On(t, srv).RespondStream(t.Context(), agent.Request{Prompt: "p"}, nil)
	assert.Equal(t, 503, agent.StatusCode(err))
	assert.Equal(t, agent.KindServer, agent.KindOf(err))
}

func TestContentParts(t *testing.T) {
	t.Parallel()
	srv := fakeprovider.Serve(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"model":"magistral","choices":[{"message":{"content":[{"type":"thinking","thinking":[]},{"type":"text","text":"hello"}]}}]}`)
	})
	resp, err := adapter(openai.Config{Provider: "mistral"}).On(t, srv).Respond(t.Context(), agent.Request{Prompt: "p"})
	require.NoError(t, err)
	assert.Equal(t, "hello", resp.Text)
}

func TestQuotaHeaders(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		header    map[string]string
		wantN     int
		wantReset time.Time
		wantCall  bool
	}{
		{name: "openai", header: map[string]string{"x-ratelimit-remaining-requests": "42", "x-ratelimit-reset-requests": "6m0s"},
			wantN: 42, wantReset: now.Add(6 * time.Minute), wantCall: true},
		{name: "openrouter unix ms", header: map[string]string{"X-RateLimit-Remaining": "7", "X-RateLimit-Reset": "1705312860000"},
			wantN: 7, wantReset: time.UnixMilli(1705312860000), wantCall: true},
		{name: "none"},
		{name: "garbage", header: map[string]string{"x-ratelimit-remaining-requests": "many"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeprovider.Serve(t, func(w http.ResponseWriter, _ *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				fakeprovider.WriteJSON(w, http.StatusOK, reply("ok", agent.Usage{}))
			})
			var (
				called bool
				n      int
				reset  time.Time
			)
			a := adapter(openai.Config{Now: func() time.Time { return now },
				OnQuota: func(r int, at time.Time) { called, n, reset = true, r, at }}).On(t, srv)
			_, err := a.Respond(t.Context(), agent.Request{Prompt: "p"})
			require.NoError(t, err)
			assert.Equal(t, tt.wantCall, called)
			assert.Equal(t, tt.wantN, n)
			assert.True(t, tt.wantReset.Equal(reset), "reset %v, want %v", reset, tt.wantReset)
		})
	}
}

func TestReplyTooLarge(t *testing.T) {
	t.Parallel()
	srv := fakeprovider.Serve(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"choices":[{"message":{"content":"`)
		chunk := strings.Repeat("x", 1<<20)
		for range 9 {
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
		_, _ = io.WriteString(w, `"}}]}`)
	})
	_, err := adapter(openai.Config{}).On(t, srv).Respond(t.Context(), agent.Request{Prompt: "p"})
	assert.ErrorIs(t, err, agent.ErrInvalidResponse)
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  openai.Config
		ok   bool
	}{
		{name: "openai needs a key", cfg: openai.Config{}},
		{name: "openai with key", cfg: openai.Config{APIKey: "k"}, ok: true},
		{name: "openrouter needs a model", cfg: openai.Config{Provider: "openrouter", APIKey: "k"}},
		{name: "vllm needs a base URL", cfg: openai.Config{Provider: "vllm", Model: "m"}},
		{name: "vllm complete", cfg: openai.Config{Provider: "vllm", Model: "m", BaseURL: "http://127.0.0.1:8000/v1"}, ok: true},
		{name: "unknown provider", cfg: openai.Config{Provider: "acme", APIKey: "k"}},
		{name: "relative base URL", cfg: openai.Config{APIKey: "k", BaseURL: "api.openai.com"}},
		{name: "ftp base URL", cfg: openai.Config{APIKey: "k", BaseURL: "ftp://x/v1"}},
		{name: "negative max tokens", cfg: openai.Config{APIKey: "k", MaxTokens: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, err := openai.New(tt.cfg)
			if tt.ok {
				require.NoError(t, err)
				assert.NotNil(t, a)
			} else {
				assert.Error(t, err)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	a, err := openai.New(openai.Config{Provider: "xai", APIKey: "k"})
	require.NoError(t, err)
	assert.Equal(t, "xai", a.Provider())
	assert.Equal(t, "grok-4", a.Model())
	assert.Equal(t, "https://api.x.ai/v1", a.BaseURL())
}

// voteSchema is the schema of the structured-reply tests.
var voteSchema = &agent.Schema{Name: "vote", Description: "Your vote.",
	JSON: json.RawMessage(`{"type":"object","properties":{"choice":{"type":"string","enum":["alice","bob"]}},"required":["choice"],"additionalProperties":false}`)}

// TestStructuredWire checks the exact response_format each OpenAI-format
// provider is sent, and that a JSON reply comes back as the Response text,
// marked Structured (docs/agents.md#structured-replies).
func TestStructuredWire(t *testing.T) {
	t.Parallel()
	for _, provider := range []string{openai.ProviderOpenAI, openai.ProviderOpenRouter, openai.ProviderMistral,
		openai.ProviderXAI, openai.ProviderDeepSeek, openai.ProviderOllama, openai.ProviderVLLM} {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			const value = `{"choice":"bob"}`
			srv := fakeprovider.ServeJSON(t, reply(value, agent.Usage{InputTokens: 1, OutputTokens: 2}))
			a := adapter(openai.Config{Provider: provider, Model: "m"}).On(t, srv)
			supports := provider != openai.ProviderDeepSeek
			assert.Equal(t, supports, a.SupportsSchema())
			assert.Equal(t, supports, openai.SchemaProvider(provider))

			req := agent.Request{Phase: agent.PhaseVote, Prompt: "Vote.", Schema: voteSchema}
			resp, err := a.Respond(t.Context(), req)
			require.NoError(t, err)
			assert.Equal(t, value, resp.Text)
			assert.Equal(t, supports, resp.Structured)
			req.Schema = nil
			resp, err = a.Respond(t.Context(), req)
			require.NoError(t, err)
			assert.False(t, resp.Structured)

			bodies := srv.Fields()
			require.Len(t, bodies, 2)
			if supports {
				assert.JSONEq(t, `{"type":"json_schema","json_schema":{"name":"vote","schema":`+string(voteSchema.JSON)+`,"strict":true}}`,
					string(bodies[0]["response_format"]))
			} else {
				assert.NotContains(t, bodies[0], "response_format", "DeepSeek takes no JSON schema")
			}
			assert.NotContains(t, bodies[1], "response_format", "no Schema, no response_format")
		})
	}
}

// TestStructuredRejectedPerModel checks that a rejection is remembered for
// the adapter's model only: another adapter instance still asks.
func TestStructuredRejectedPerModel(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	withSchema := map[string]int{}
	srv := fakeprovider.Serve(t, func(w http.ResponseWriter, r *http.Request) {
		var body sentRequest
		_ = json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		if body.ResponseFormat != nil {
			withSchema[body.Model]++
		}
		mu.Unlock()
		if body.ResponseFormat != nil && body.Model == "old" {
			wire.RejectSchema(w)
			return
		}
		fakeprovider.WriteJSON(w, http.StatusOK, reply(`{"choice":"bob"}`, agent.Usage{}))
	})
	build := func(model string) *openai.Agent {
		return adapter(openai.Config{Provider: openai.ProviderOpenRouter, Model: model}).On(t, srv)
	}
	old, cur := build("old"), build("new")
	req := agent.Request{Phase: agent.PhaseVote, Prompt: "Vote.", Schema: voteSchema}
	for range 3 {
		resp, err := old.Respond(t.Context(), req)
		require.NoError(t, err)
		assert.False(t, resp.Structured)
		resp, err = cur.Respond(t.Context(), req)
		require.NoError(t, err)
		assert.True(t, resp.Structured)
	}
	assert.False(t, old.SupportsSchema())
	assert.True(t, cur.SupportsSchema())
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, map[string]int{"old": 1, "new": 3}, withSchema)
}

// TestStructuredStream checks a streamed structured reply: the request
// carries response_format and stream, and the streamed JSON is the text.
func TestStructuredStream(t *testing.T) {
	t.Parallel()
	chunks := []string{`{"choi`, `ce":"bob"}`}
	srv := fakeprovider.Serve(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, ev := range streamEvents(chunks, agent.Usage{InputTokens: 2, OutputTokens: 3}) {
			_, _ = io.WriteString(w, ev)
		}
	})
	var seen []string
	resp, err := adapter(openai.Config{Model: "m"}).On(t, srv).RespondStream(t.Context(), agent.Request{Phase: agent.PhaseVote, Prompt: "Vote.", Schema: voteSchema},
		func(c string) { seen = append(seen, c) })
	require.NoError(t, err)
	assert.True(t, resp.Structured)
	assert.Equal(t, `{"choice":"bob"}`, resp.Text)
	assert.Equal(t, chunks, seen)
	_, _, body := last(srv)
	assert.True(t, body.Stream)
	assert.JSONEq(t, `{"type":"json_schema","json_schema":{"name":"vote","schema":`+string(voteSchema.JSON)+`,"strict":true}}`,
		string(body.ResponseFormat))
}
