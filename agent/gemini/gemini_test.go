package gemini_test

import (
	"cmp"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/agenttest"
	"github.com/aragora/aragora/agent/gemini"
	"github.com/aragora/aragora/agent/internal/fakeprovider"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testModel = "gemini-test"

var statusNames = map[int]string{400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 402: "FAILED_PRECONDITION", 403: "PERMISSION_DENIED",
	404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}

// wire speaks the Gemini generateContent format for agenttest.Conformance.
var wire = agenttest.Wire{
	Reply: func(w http.ResponseWriter, text string, u agent.Usage) {
		fakeprovider.WriteJSON(w, http.StatusOK, reply(text, "STOP", &u))
	},
	Empty: fakeprovider.JSON(http.StatusOK, map[string]any{"usageMetadata": map[string]any{"promptTokenCount": 4}, "modelVersion": testModel}),
	Error: func(w http.ResponseWriter, status int, message string, _ bool) {
		fakeprovider.WriteJSON(w, status, map[string]any{"error": map[string]any{"code": status, "message": message, "status": statusNames[status]}})
	},
	Stream: func(chunks []string, u agent.Usage) []string {
		var events []string
		for _, c := range chunks {
			events = append(events, sse(reply(c, "", nil)))
		}
		return append(events, sse(reply("", "STOP", &u)))
	},
	DecodeRequest: func(r *http.Request, body []byte) (agenttest.Sent, error) {
		var req sentRequest
		if err := json.Unmarshal(body, &req); err != nil {
			return agenttest.Sent{}, err
		}
		s := agenttest.Sent{MaxTokens: req.GenerationConfig.MaxOutputTokens, Stream: strings.HasSuffix(r.URL.Path, ":streamGenerateContent"),
			Structured: req.GenerationConfig.ResponseSchema != nil}
		if req.SystemInstruction != nil && len(req.SystemInstruction.Parts) > 0 {
			s.System = req.SystemInstruction.Parts[0].Text
		}
		if len(req.Contents) > 0 && len(req.Contents[0].Parts) > 0 {
			s.Prompt = req.Contents[0].Parts[0].Text
		}
		return s, nil
	},
	QuotaStatuses: []int{429, 402},
	Structured: func(w http.ResponseWriter, _, value string, u agent.Usage) {
		fakeprovider.WriteJSON(w, http.StatusOK, reply(value, "STOP", &u))
	},
	RejectSchema: fakeprovider.JSON(http.StatusBadRequest, map[string]any{"error": map[string]any{"code": 400, "status": "INVALID_ARGUMENT",
		"message": "Invalid JSON payload received. Unknown name \"responseSchema\" at 'generation_config': Cannot find field."}}),
}

type sentContent struct {
	Role  string `json:"role"`
	Parts []struct {
		Text string `json:"text"`
	} `json:"parts"`
}

type sentRequest struct {
	SystemInstruction *sentContent  `json:"systemInstruction"`
	Contents          []sentContent `json:"contents"`
	GenerationConfig  struct {
		MaxOutputTokens  int             `json:"maxOutputTokens"`
		Temperature      *float64        `json:"temperature"`
		ResponseMimeType string          `json:"responseMimeType"`
		ResponseSchema   json.RawMessage `json:"responseSchema"`
	} `json:"generationConfig"`
}

func reply(text, finish string, u *agent.Usage) map[string]any {
	cand := map[string]any{"content": map[string]any{"role": "model", "parts": []any{map[string]any{"text": text}}}, "index": 0}
	if finish != "" {
		cand["finishReason"] = finish
	}
	r := map[string]any{"candidates": []any{cand}, "modelVersion": testModel}
	if u != nil {
		r["usageMetadata"] = map[string]any{"promptTokenCount": u.InputTokens, "candidatesTokenCount": u.OutputTokens, "totalTokenCount": u.Total()}
	}
	return r
}

// sse writes an event with CRLF line ends, which the adapter must read
// like LF ones.
func sse(v any) string {
	b, _ := json.Marshal(v)
	return "data: " + string(b) + "\r\n\r\n"
}

func TestConformance(t *testing.T) {
	t.Parallel()
	agenttest.Conformance(t, adapter(gemini.Config{Model: testModel}).Harness(t, wire, "gemini", testModel))
}

// adapter builds the adapter of cfg, with the key "k" unless cfg has one.
func adapter(cfg gemini.Config) fakeprovider.Adapter[*gemini.Agent] {
	return func(baseURL string, client *http.Client) (*gemini.Agent, error) {
		cfg.APIKey, cfg.BaseURL, cfg.HTTPClient = cmp.Or(cfg.APIKey, "k"), baseURL, client
		return gemini.New(cfg)
	}
}

func TestRequestMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		cfg        gemini.Config
		stream     bool
		wantPath   string
		wantQuery  string
		wantHeader string
	}{
		{name: "header key", cfg: gemini.Config{APIKey: "gk"}, wantPath: "/v1beta/models/gemini-2.5-pro:generateContent", wantHeader: "gk"},
		{name: "query key, models/ prefix", cfg: gemini.Config{APIKey: "gk", KeyInQuery: true, Model: "models/gemini-2.5-flash"},
			wantPath: "/v1beta/models/gemini-2.5-flash:generateContent", wantQuery: "key=gk"},
		{name: "stream", cfg: gemini.Config{APIKey: "gk", APIVersion: "v1"}, stream: true,
			wantPath: "/v1/models/gemini-2.5-pro:streamGenerateContent", wantQuery: "alt=sse", wantHeader: "gk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeprovider.Serve(t, func(w http.ResponseWriter, _ *http.Request) {
				if tt.stream {
					_, _ = io.WriteString(w, sse(reply("hi", "STOP", &agent.Usage{InputTokens: 1, OutputTokens: 1})))
					return
				}
				fakeprovider.WriteJSON(w, http.StatusOK, reply("hi", "STOP", &agent.Usage{InputTokens: 1, OutputTokens: 1}))
			})
			cfg := tt.cfg
			cfg.BaseURL, cfg.HTTPClient = srv.URL+"/", srv.Client()
			a, err := gemini.New(cfg)
			require.NoError(t, err)
			req := agent.Request{System: "sys", Prompt: "ping", MaxTokens: 77, Temperature: 0.3}
			if tt.stream {
				_, err = a.RespondStream(t.Context(), req, nil)
			} else {
				_, err = a.Respond(t.Context(), req)
			}
			require.NoError(t, err)
			sent := srv.Last()
			var body sentRequest
			sent.Decode(&body)
			assert.Equal(t, tt.wantPath, sent.URL.Path)
			assert.Equal(t, tt.wantQuery, sent.URL.RawQuery)
			assert.Equal(t, tt.wantHeader, sent.Header.Get("x-goog-api-key"))
			require.NotNil(t, body.SystemInstruction)
			assert.Equal(t, "sys", body.SystemInstruction.Parts[0].Text)
			require.Len(t, body.Contents, 1)
			assert.Equal(t, "user", body.Contents[0].Role)
			assert.Equal(t, "ping", body.Contents[0].Parts[0].Text)
			assert.Equal(t, 77, body.GenerationConfig.MaxOutputTokens)
			assert.Equal(t, ptr(0.3), body.GenerationConfig.Temperature)
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestUsageThoughtsAndCost(t *testing.T) {
	t.Parallel()
	srv := fakeprovider.Serve(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"candidates":[{"content":{"role":"model","parts":[{"text":"plan","thought":true},{"text":"answer"}]},"finishReason":"STOP"}],`+
			`"usageMetadata":{"promptTokenCount":1000000,"candidatesTokenCount":100000,"thoughtsTokenCount":100000},"modelVersion":"gemini-2.5-pro"}`)
	})
	resp, err := adapter(gemini.Config{}).On(t, srv).Respond(t.Context(), agent.Request{Prompt: "p"})
	require.NoError(t, err)
	assert.Equal(t, "answer", resp.Text)
	assert.Equal(t, agent.Usage{InputTokens: 1_000_000, OutputTokens: 200_000}, resp.Usage)
	assert.Equal(t, "STOP", resp.FinishReason) // gen_ai.response.finish_reasons
	assert.InDelta(t, 1.25+2.0, resp.CostUSD, 1e-9)
}

func TestErrorMapping(t *testing.T) {
	t.Parallel()
	fakeprovider.ErrorCases(t, "gemini", []fakeprovider.ErrorCase{
		{Name: "invalid key is auth", Status: 400, Body: `{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT",` +
			`"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}`, Kind: agent.KindAuth},
		{Name: "quota with RetryInfo", Status: 429, Body: `{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details.",` +
			`"status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"37s"}]}}`,
			Kind: agent.KindQuotaExhausted, Retry: 37 * time.Second},
		{Name: "plain 429 is rate limited", Status: 429, Body: `{"error":{"code":429,"message":"Too many requests","status":"RESOURCE_EXHAUSTED"}}`,
			Kind: agent.KindRateLimited, Retryable: true},
		{Name: "400 other", Status: 400, Body: `{"error":{"code":400,"message":"bad","status":"INVALID_ARGUMENT"}}`, Kind: agent.KindOther},
		{Name: "blocked prompt", Status: 200, Body: `{"promptFeedback":{"blockReason":"SAFETY"}}`, Kind: agent.KindInvalidResponse},
		{Name: "all thinking, no text", Status: 200, Body: `{"candidates":[{"content":{"role":"model"},"finishReason":"MAX_TOKENS"}]}`, Kind: agent.KindInvalidResponse},
	}, func(t *testing.T, srv *fakeprovider.Server) error {
		_, err := adapter(gemini.Config{}).On(t, srv).Respond(t.Context(), agent.Request{Prompt: "p"})
		return err
	})
}

func TestStreamEmbeddedError(t *testing.T) {
	t.Parallel()
	srv := fakeprovider.Serve(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, sse(reply("a", "", nil))+sse(map[string]any{"error": map[string]any{"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}))
	})
	_, err := adapter(gemini.Config{}).On(t, srv).RespondStream(t.Context(), agent.Request{Prompt: "p"}, nil)
	assert.Equal(t, 503, agent.StatusCode(err))
	assert.Equal(t, agent.KindServer, agent.KindOf(err))
}

func TestKeyRedactedFromConnectionErrors(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	base, client := srv.URL, srv.Client()
	srv.Close()
	a, err := gemini.New(gemini.Config{APIKey: "secret-key-123", KeyInQuery: true, BaseURL: base, HTTPClient: client})
	require.NoError(t, err)
	_, err = a.Respond(t.Context(), agent.Request{Prompt: "p"})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "secret-key-123")
	assert.Equal(t, agent.KindServer, agent.KindOf(err))
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	_, err := gemini.New(gemini.Config{})
	require.Error(t, err, "the key is required")
	_, err = gemini.New(gemini.Config{APIKey: "k", BaseURL: "generativelanguage.googleapis.com"})
	require.Error(t, err)
	a, err := gemini.New(gemini.Config{APIKey: "k"})
	require.NoError(t, err)
	assert.Equal(t, gemini.DefaultModel, a.Model())
	assert.Equal(t, gemini.DefaultBaseURL, a.BaseURL())
	assert.Equal(t, "gemini", a.Provider())
}

// TestStructuredWire checks the exact generationConfig of a structured
// request (responseMimeType and the schema in Gemini's OpenAPI subset) and
// that the JSON reply comes back as the Response text, marked Structured
// (docs/agents.md#structured-replies).
func TestStructuredWire(t *testing.T) {
	t.Parallel()
	const value = `{"choice":"bob","confidence":0.5}`
	srv := fakeprovider.ServeJSON(t, reply(value, "STOP", &agent.Usage{InputTokens: 3, OutputTokens: 5}))
	a := adapter(gemini.Config{Model: testModel}).On(t, srv)
	assert.True(t, a.SupportsSchema())
	schema := &agent.Schema{Name: "vote", JSON: json.RawMessage(`{"type":"object","additionalProperties":false,` +
		`"properties":{"choice":{"type":"string","enum":["alice","bob"],"description":"who"},"confidence":{"type":"number"},` +
		`"tags":{"type":"array","items":{"type":"string"}}},"required":["choice","confidence","tags"]}`)}
	req := agent.Request{Phase: agent.PhaseVote, Prompt: "Vote.", MaxTokens: 300, Schema: schema}
	resp, err := a.Respond(t.Context(), req)
	require.NoError(t, err)
	assert.True(t, resp.Structured)
	assert.Equal(t, value, resp.Text)
	req.Schema = nil
	resp, err = a.Respond(t.Context(), req)
	require.NoError(t, err)
	assert.False(t, resp.Structured)

	bodies := srv.Fields()
	require.Len(t, bodies, 2)
	assert.JSONEq(t, `{"maxOutputTokens":300,"responseMimeType":"application/json","responseSchema":{"type":"OBJECT",`+
		`"properties":{"choice":{"type":"STRING","enum":["alice","bob"],"description":"who"},"confidence":{"type":"NUMBER"},`+
		`"tags":{"type":"ARRAY","items":{"type":"STRING"}}},"required":["choice","confidence","tags"],`+
		`"propertyOrdering":["choice","confidence","tags"]}}`, string(bodies[0]["generationConfig"]))
	assert.JSONEq(t, `{"maxOutputTokens":300}`, string(bodies[1]["generationConfig"]))
}

func TestResponseSchemaBadInput(t *testing.T) {
	t.Parallel()
	for _, in := range []string{``, `null`, `[]`, `"x"`, `{`} {
		_, ok := gemini.ResponseSchema(json.RawMessage(in))
		assert.False(t, ok, "%q", in)
	}
	deep := strings.Repeat(`{"type":"array","items":`, 100) + `{"type":"string"}` + strings.Repeat(`}`, 100)
	out, ok := gemini.ResponseSchema(json.RawMessage(deep))
	require.True(t, ok)
	assert.Equal(t, "ARRAY", out["type"])
}
