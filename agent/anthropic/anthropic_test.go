package anthropic_test

import (
	"cmp"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/agenttest"
	"github.com/aragora/aragora/agent/anthropic"
	"github.com/aragora/aragora/agent/internal/fakeprovider"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testModel = "claude-test"

// wire speaks the Anthropic Messages format for agenttest.Conformance.
var wire = agenttest.Wire{
	Reply: fakeprovider.Replies(reply),
	Empty: fakeprovider.JSON(http.StatusOK, map[string]any{"id": "msg_1", "type": "message", "role": "assistant", "model": testModel,
		"content": []any{}, "stop_reason": "end_turn", "usage": map[string]any{"input_tokens": 3, "output_tokens": 0}}),
	Error: func(w http.ResponseWriter, status int, message string, _ bool) {
		typ := map[int]string{400: "invalid_request_error", 401: "authentication_error", 403: "permission_error", 404: "not_found_error",
			429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}[status]
		if typ == "" {
			typ = "api_error"
		}
		fakeprovider.WriteJSON(w, status, map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": message}})
	},
	Stream: func(chunks []string, u agent.Usage) []string {
		return streamEvents(chunks, u)
	},
	DecodeRequest: func(_ *http.Request, body []byte) (agenttest.Sent, error) {
		var req sentRequest
		if err := json.Unmarshal(body, &req); err != nil {
			return agenttest.Sent{}, err
		}
		s := agenttest.Sent{System: req.System, MaxTokens: req.MaxTokens, Stream: req.Stream, Structured: len(req.Tools) > 0}
		if len(req.Messages) > 0 {
			s.Prompt = req.Messages[0].Content
		}
		return s, nil
	},
	Structured: func(w http.ResponseWriter, name, value string, u agent.Usage) {
		fakeprovider.WriteJSON(w, http.StatusOK, toolReply(name, value, u))
	},
	RejectSchema: fakeprovider.JSON(http.StatusBadRequest, map[string]any{"type": "error", "error": map[string]any{"type": "invalid_request_error",
		"message": "tools: this model does not support tool use"}}),
}

// toolReply is a reply to a forced tool call: prose the adapter must
// ignore, then the tool_use block whose input is the structured reply.
func toolReply(name, value string, u agent.Usage) map[string]any {
	return map[string]any{"id": "msg_1", "type": "message", "role": "assistant", "model": testModel,
		"content": []any{
			map[string]any{"type": "text", "text": "Let me weigh them. I vote for alice."},
			map[string]any{"type": "tool_use", "id": "toolu_1", "name": name, "input": json.RawMessage(value)},
		},
		"stop_reason": "tool_use", "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": u.InputTokens, "output_tokens": u.OutputTokens}}
}

type sentRequest struct {
	Model     string `json:"model"`
	MaxTokens int    `json:"max_tokens"`
	System    string `json:"system"`
	Messages  []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	Temperature *float64          `json:"temperature"`
	Stream      bool              `json:"stream"`
	Tools       []json.RawMessage `json:"tools"`
	ToolChoice  json.RawMessage   `json:"tool_choice"`
}

func reply(text string, u agent.Usage) map[string]any {
	return map[string]any{"id": "msg_1", "type": "message", "role": "assistant", "model": testModel,
		"content":     []any{map[string]any{"type": "text", "text": text}},
		"stop_reason": "end_turn", "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": u.InputTokens, "output_tokens": u.OutputTokens}}
}

func streamEvents(chunks []string, u agent.Usage) []string {
	events := []string{
		fakeprovider.Event("message_start", map[string]any{"type": "message_start", "message": map[string]any{"id": "msg_1", "type": "message", "role": "assistant",
			"model": testModel, "content": []any{}, "usage": map[string]any{"input_tokens": u.InputTokens, "output_tokens": 1}}}),
		fakeprovider.Event("content_block_start", map[string]any{"type": "content_block_start", "index": 0, "content_block": map[string]any{"type": "text", "text": ""}}),
		fakeprovider.Event("ping", map[string]any{"type": "ping"}),
	}
	for _, c := range chunks {
		events = append(events, fakeprovider.Event("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0,
			"delta": map[string]any{"type": "text_delta", "text": c}}))
	}
	return append(events,
		fakeprovider.Event("content_block_stop", map[string]any{"type": "content_block_stop", "index": 0}),
		fakeprovider.Event("message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": "end_turn"},
			"usage": map[string]any{"output_tokens": u.OutputTokens}}),
		fakeprovider.Event("message_stop", map[string]any{"type": "message_stop"}))
}

func TestConformance(t *testing.T) {
	t.Parallel()
	agenttest.Conformance(t, adapter(anthropic.Config{Model: testModel}).Harness(t, wire, "anthropic", testModel))
}

// adapter builds the adapter of cfg, with the key "sk-ant-test" unless cfg has one.
func adapter(cfg anthropic.Config) fakeprovider.Adapter[*anthropic.Agent] {
	return func(baseURL string, client *http.Client) (*anthropic.Agent, error) {
		cfg.APIKey, cfg.BaseURL, cfg.HTTPClient = cmp.Or(cfg.APIKey, "sk-ant-test"), baseURL, client
		return anthropic.New(cfg)
	}
}

func TestRequestMapping(t *testing.T) {
	t.Parallel()
	srv := fakeprovider.ServeJSON(t, reply("pong", agent.Usage{InputTokens: 12, OutputTokens: 2}))
	tests := []struct {
		name     string
		req      agent.Request
		wantMax  int
		wantTemp *float64
	}{
		{name: "request values", req: agent.Request{System: "be brief", Prompt: "ping", MaxTokens: 64, Temperature: 0.4}, wantMax: 64, wantTemp: ptr(0.4)},
		{name: "defaults and clamped temperature", req: agent.Request{Prompt: "ping", Temperature: 1.5}, wantMax: anthropic.DefaultMaxTokens, wantTemp: ptr(1.0)},
		{name: "no temperature", req: agent.Request{Prompt: "ping"}, wantMax: anthropic.DefaultMaxTokens},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := adapter(anthropic.Config{APIKey: "sk-ant-1"}).On(t, srv)
			resp, err := a.Respond(t.Context(), tt.req)
			require.NoError(t, err)
			assert.Equal(t, "pong", resp.Text)
			assert.Equal(t, agent.Usage{InputTokens: 12, OutputTokens: 2}, resp.Usage)
			assert.InDelta(t, 0.000066, resp.CostUSD, 1e-12, "docs/http-api.md#diagnostics example: 12 in, 2 out at $3/$15")
			sent := srv.Last()
			var body sentRequest
			sent.Decode(&body)
			assert.Equal(t, "/v1/messages", sent.URL.Path)
			assert.Equal(t, "sk-ant-1", sent.Header.Get("x-api-key"))
			assert.Equal(t, "2023-06-01", sent.Header.Get("anthropic-version"))
			assert.Empty(t, sent.Header.Get("Authorization"))
			assert.Equal(t, anthropic.DefaultModel, body.Model)
			assert.Equal(t, tt.req.System, body.System)
			require.Len(t, body.Messages, 1)
			assert.Equal(t, "user", body.Messages[0].Role)
			assert.Equal(t, "ping", body.Messages[0].Content)
			assert.Equal(t, tt.wantMax, body.MaxTokens)
			assert.Equal(t, tt.wantTemp, body.Temperature)
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestUsageWithCache(t *testing.T) {
	t.Parallel()
	srv := fakeprovider.Serve(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"type":"message","model":"claude-sonnet-4-5-20250929","content":[{"type":"thinking","thinking":"hm"},{"type":"text","text":"a"},{"type":"text","text":"b"}],`+
			`"stop_reason":"end_turn","usage":{"input_tokens":10,"cache_creation_input_tokens":5,"cache_read_input_tokens":20,"output_tokens":7}}`)
	})
	resp, err := adapter(anthropic.Config{}).On(t, srv).Respond(t.Context(), agent.Request{Prompt: "p"})
	require.NoError(t, err)
	assert.Equal(t, "ab", resp.Text)
	assert.Equal(t, agent.Usage{InputTokens: 35, OutputTokens: 7}, resp.Usage)
	assert.Equal(t, "claude-sonnet-4-5-20250929", resp.Model)
	assert.Equal(t, "end_turn", resp.FinishReason) // gen_ai.response.finish_reasons
}

func TestErrorMapping(t *testing.T) {
	t.Parallel()
	fakeprovider.ErrorCases(t, "anthropic", []fakeprovider.ErrorCase{
		{Name: "529 overloaded", Status: 529, Body: `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
			Kind: agent.KindServer, Overloaded: true, Retryable: true},
		{Name: "429 rate limit with Retry-After", Status: 429, Header: map[string]string{"retry-after": "12"},
			Body: `{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}`,
			Kind: agent.KindRateLimited, Is: agent.ErrRateLimited, Retry: 12 * time.Second, Retryable: true},
		{Name: "400 credit balance is quota", Status: 400,
			Body: `{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."}}`,
			Kind: agent.KindQuotaExhausted, Is: agent.ErrQuotaExhausted},
		{Name: "401", Status: 401, Body: `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`,
			Kind: agent.KindAuth, Is: agent.ErrAuth},
		{Name: "400 other", Status: 400, Body: `{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: too large"}}`,
			Kind: agent.KindOther},
	}, func(t *testing.T, srv *fakeprovider.Server) error {
		_, err := adapter(anthropic.Config{}).On(t, srv).Respond(t.Context(), agent.Request{Prompt: "p"})
		return err
	})
}

func TestStreamErrorEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		errType        string
		wantStatus     int
		wantKind       agent.Kind
		wantOverloaded bool
	}{
		{name: "overloaded", errType: "overloaded_error", wantStatus: 529, wantKind: agent.KindServer, wantOverloaded: true},
		{name: "api error", errType: "api_error", wantStatus: 500, wantKind: agent.KindServer},
		{name: "rate limit", errType: "rate_limit_error", wantStatus: 429, wantKind: agent.KindRateLimited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeprovider.Serve(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				events := streamEvents([]string{"part"}, agent.Usage{})[:4]
				events = append(events, fakeprovider.Event("error", map[string]any{"type": "error", "error": map[string]any{"type": tt.errType, "message": "boom"}}))
				_, _ = io.WriteString(w, strings.Join(events, ""))
			})
			var chunks []string
			_, err := adapter(anthropic.Config{}).On(t, srv).RespondStream(t.Context(), agent.Request{Prompt: "p"}, func(c string) { chunks = append(chunks, c) })
			var pe *agent.ProviderError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tt.wantStatus, pe.StatusCode)
			assert.Equal(t, tt.wantOverloaded, pe.Overloaded)
			assert.Equal(t, tt.wantKind, agent.KindOf(err))
			assert.Equal(t, []string{"part"}, chunks)
		})
	}
}

func TestStreamUsage(t *testing.T) {
	t.Parallel()
	srv := fakeprovider.Serve(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, strings.Join(streamEvents([]string{"x", "y"}, agent.Usage{InputTokens: 40, OutputTokens: 9}), ""))
	})
	resp, err := adapter(anthropic.Config{Model: "claude-sonnet-4-5"}).On(t, srv).RespondStream(t.Context(), agent.Request{Prompt: "p"}, nil)
	require.NoError(t, err)
	assert.Equal(t, "xy", resp.Text)
	assert.Equal(t, agent.Usage{InputTokens: 40, OutputTokens: 9}, resp.Usage)
	assert.Equal(t, "end_turn", resp.FinishReason)
	assert.InDelta(t, (40*3+9*15)/1e6, resp.CostUSD, 1e-12)
}

func TestQuotaHeaders(t *testing.T) {
	t.Parallel()
	srv := fakeprovider.Serve(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("anthropic-ratelimit-requests-remaining", "3")
		w.Header().Set("anthropic-ratelimit-requests-reset", "2024-01-15T10:30:00Z")
		fakeprovider.WriteJSON(w, http.StatusOK, reply("ok", agent.Usage{}))
	})
	var n int
	var reset time.Time
	a := adapter(anthropic.Config{OnQuota: func(r int, at time.Time) { n, reset = r, at }}).On(t, srv)
	_, err := a.Respond(t.Context(), agent.Request{Prompt: "p"})
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.Equal(t, time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC), reset.UTC())
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	_, err := anthropic.New(anthropic.Config{})
	require.Error(t, err, "the key is required")
	_, err = anthropic.New(anthropic.Config{APIKey: "k", BaseURL: "not a url"})
	require.Error(t, err)
	a, err := anthropic.New(anthropic.Config{APIKey: "k"})
	require.NoError(t, err)
	assert.Equal(t, anthropic.DefaultBaseURL, a.BaseURL())
	assert.Equal(t, anthropic.DefaultModel, a.Model())
	assert.Equal(t, "anthropic", a.Provider())
}

var voteSchema = &agent.Schema{Name: "vote", Description: "Your vote.",
	JSON: json.RawMessage(`{"type":"object","properties":{"choice":{"type":"string","enum":["alice","bob"]}},"required":["choice"],"additionalProperties":false}`)}

// TestStructuredWire checks the exact tools and tool_choice of a
// structured request, that the reply is the tool_use input alone (the
// prose beside it is not parsed), streamed too, and that a request
// without a Schema carries neither (docs/agents.md#structured-replies).
func TestStructuredWire(t *testing.T) {
	t.Parallel()
	const value = `{"choice":"bob"}`
	srv := fakeprovider.Serve(t, func(w http.ResponseWriter, r *http.Request) {
		var body map[string]json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		switch {
		case body["tools"] == nil:
			fakeprovider.WriteJSON(w, http.StatusOK, reply("I vote for alice.", agent.Usage{}))
		case string(body["stream"]) == "true":
			w.Header().Set("Content-Type", "text/event-stream")
			for _, ev := range []string{
				fakeprovider.Event("message_start", map[string]any{"type": "message_start", "message": map[string]any{"id": "msg_1", "type": "message",
					"role": "assistant", "model": testModel, "content": []any{}, "usage": map[string]any{"input_tokens": 4, "output_tokens": 1}}}),
				fakeprovider.Event("content_block_start", map[string]any{"type": "content_block_start", "index": 0,
					"content_block": map[string]any{"type": "tool_use", "id": "toolu_1", "name": "vote", "input": map[string]any{}}}),
				fakeprovider.Event("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0,
					"delta": map[string]any{"type": "input_json_delta", "partial_json": `{"choi`}}),
				fakeprovider.Event("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0,
					"delta": map[string]any{"type": "input_json_delta", "partial_json": `ce":"bob"}`}}),
				fakeprovider.Event("content_block_stop", map[string]any{"type": "content_block_stop", "index": 0}),
				fakeprovider.Event("message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": "tool_use"},
					"usage": map[string]any{"output_tokens": 9}}),
				fakeprovider.Event("message_stop", map[string]any{"type": "message_stop"}),
			} {
				_, _ = io.WriteString(w, ev)
			}
		default:
			fakeprovider.WriteJSON(w, http.StatusOK, toolReply("vote", value, agent.Usage{InputTokens: 4, OutputTokens: 9}))
		}
	})
	a := adapter(anthropic.Config{Model: testModel}).On(t, srv)
	assert.True(t, a.SupportsSchema())
	req := agent.Request{Phase: agent.PhaseVote, Prompt: "Vote.", Schema: voteSchema}

	resp, err := a.Respond(t.Context(), req)
	require.NoError(t, err)
	assert.True(t, resp.Structured)
	assert.JSONEq(t, value, resp.Text, "the tool_use input, without the prose beside it")

	var chunks []string
	resp, err = a.RespondStream(t.Context(), req, func(c string) { chunks = append(chunks, c) })
	require.NoError(t, err)
	assert.True(t, resp.Structured)
	assert.Equal(t, value, resp.Text)
	assert.Equal(t, []string{`{"choi`, `ce":"bob"}`}, chunks)
	assert.Equal(t, agent.Usage{InputTokens: 4, OutputTokens: 9}, resp.Usage)

	req.Schema = nil
	resp, err = a.Respond(t.Context(), req)
	require.NoError(t, err)
	assert.False(t, resp.Structured)
	assert.Equal(t, "I vote for alice.", resp.Text)

	bodies := srv.Fields()
	require.Len(t, bodies, 3)
	for _, b := range bodies[:2] {
		assert.JSONEq(t, `[{"name":"vote","description":"Your vote.","input_schema":`+string(voteSchema.JSON)+`}]`, string(b["tools"]))
		assert.JSONEq(t, `{"type":"tool","name":"vote"}`, string(b["tool_choice"]))
	}
	assert.NotContains(t, bodies[2], "tools")
	assert.NotContains(t, bodies[2], "tool_choice")
}
