package gemini_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/agenttest"
	"github.com/aragora/aragora/agent/gemini"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testModel = "gemini-test"

var statusNames = map[int]string{400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 402: "FAILED_PRECONDITION", 403: "PERMISSION_DENIED",
	404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}

// wire speaks the Gemini generateContent format for agenttest.Conformance.
var wire = agenttest.Wire{
	Reply: func(w http.ResponseWriter, text string, u agent.Usage) {
		writeJSON(w, http.StatusOK, reply(text, "STOP", &u))
	},
	Empty: func(w http.ResponseWriter) {
		writeJSON(w, http.StatusOK, map[string]any{"usageMetadata": map[string]any{"promptTokenCount": 4}, "modelVersion": testModel})
	},
	Error: func(w http.ResponseWriter, status int, message string, _ bool) {
		writeJSON(w, status, map[string]any{"error": map[string]any{"code": status, "message": message, "status": statusNames[status]}})
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
		writeJSON(w, http.StatusOK, reply(value, "STOP", &u))
	},
	RejectSchema: func(w http.ResponseWriter) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{"code": 400, "status": "INVALID_ARGUMENT",
			"message": "Invalid JSON payload received. Unknown name \"responseSchema\" at 'generation_config': Cannot find field."}})
	},
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

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func sse(v any) string {
	b, _ := json.Marshal(v)
	return "data: " + string(b) + "\r\n\r\n"
}

func TestConformance(t *testing.T) {
	t.Parallel()
	agenttest.Conformance(t, agenttest.Harness{
		NewAgent: func(baseURL string, client *http.Client) agent.Agent {
			a, err := gemini.New(gemini.Config{APIKey: "gm-test", Model: testModel, BaseURL: baseURL, HTTPClient: client})
			require.NoError(t, err)
			return a
		},
		Wire:     wire,
		Provider: "gemini",
		Model:    testModel,
	})
}

type recorded struct {
	mu    sync.Mutex
	req   *http.Request
	body  sentRequest
	calls int
}

func serve(t *testing.T, handle http.HandlerFunc) (*recorded, *httptest.Server) {
	t.Helper()
	rec := &recorded{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.req, rec.body = r.Clone(r.Context()), sentRequest{}
		_ = json.Unmarshal(data, &rec.body)
		rec.calls++
		rec.mu.Unlock()
		handle(w, r)
	}))
	t.Cleanup(srv.Close)
	return rec, srv
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
			rec, srv := serve(t, func(w http.ResponseWriter, _ *http.Request) {
				if tt.stream {
					_, _ = io.WriteString(w, sse(reply("hi", "STOP", &agent.Usage{InputTokens: 1, OutputTokens: 1})))
					return
				}
				writeJSON(w, http.StatusOK, reply("hi", "STOP", &agent.Usage{InputTokens: 1, OutputTokens: 1}))
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
			rec.mu.Lock()
			defer rec.mu.Unlock()
			assert.Equal(t, tt.wantPath, rec.req.URL.Path)
			assert.Equal(t, tt.wantQuery, rec.req.URL.RawQuery)
			assert.Equal(t, tt.wantHeader, rec.req.Header.Get("x-goog-api-key"))
			require.NotNil(t, rec.body.SystemInstruction)
			assert.Equal(t, "sys", rec.body.SystemInstruction.Parts[0].Text)
			require.Len(t, rec.body.Contents, 1)
			assert.Equal(t, "user", rec.body.Contents[0].Role)
			assert.Equal(t, "ping", rec.body.Contents[0].Parts[0].Text)
			assert.Equal(t, 77, rec.body.GenerationConfig.MaxOutputTokens)
			assert.Equal(t, ptr(0.3), rec.body.GenerationConfig.Temperature)
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestUsageThoughtsAndCost(t *testing.T) {
	t.Parallel()
	_, srv := serve(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"candidates":[{"content":{"role":"model","parts":[{"text":"plan","thought":true},{"text":"answer"}]},"finishReason":"STOP"}],`+
			`"usageMetadata":{"promptTokenCount":1000000,"candidatesTokenCount":100000,"thoughtsTokenCount":100000},"modelVersion":"gemini-2.5-pro"}`)
	})
	a, err := gemini.New(gemini.Config{APIKey: "k", BaseURL: srv.URL, HTTPClient: srv.Client()})
	require.NoError(t, err)
	resp, err := a.Respond(t.Context(), agent.Request{Prompt: "p"})
	require.NoError(t, err)
	assert.Equal(t, "answer", resp.Text)
	assert.Equal(t, agent.Usage{InputTokens: 1_000_000, OutputTokens: 200_000}, resp.Usage)
	assert.Equal(t, "STOP", resp.FinishReason) // gen_ai.response.finish_reasons
	assert.InDelta(t, 1.25+2.0, resp.CostUSD, 1e-9)
}

func TestErrorMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		status    int
		body      string
		wantKind  agent.Kind
		wantRetry time.Duration
	}{
		{name: "invalid key is auth", status: 400, body: `{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT",` +
			`"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}`, wantKind: agent.KindAuth},
		{name: "quota with RetryInfo", status: 429, body: `{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details.",` +
			`"status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"37s"}]}}`,
			wantKind: agent.KindQuotaExhausted, wantRetry: 37 * time.Second},
		{name: "plain 429 is rate limited", status: 429, body: `{"error":{"code":429,"message":"Too many requests","status":"RESOURCE_EXHAUSTED"}}`,
			wantKind: agent.KindRateLimited},
		{name: "400 other", status: 400, body: `{"error":{"code":400,"message":"bad","status":"INVALID_ARGUMENT"}}`, wantKind: agent.KindOther},
		{name: "blocked prompt", status: 200, body: `{"promptFeedback":{"blockReason":"SAFETY"}}`, wantKind: agent.KindInvalidResponse},
		{name: "all thinking, no text", status: 200, body: `{"candidates":[{"content":{"role":"model"},"finishReason":"MAX_TOKENS"}]}`, wantKind: agent.KindInvalidResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, srv := serve(t, func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			})
			a, err := gemini.New(gemini.Config{APIKey: "k", BaseURL: srv.URL, HTTPClient: srv.Client()})
			require.NoError(t, err)
			_, err = a.Respond(t.Context(), agent.Request{Prompt: "p"})
			require.Error(t, err)
			assert.Equal(t, tt.wantKind, agent.KindOf(err))
			var pe *agent.ProviderError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tt.status, pe.StatusCode)
			assert.Equal(t, tt.wantRetry, pe.RetryAfter)
		})
	}
}

func TestStreamEmbeddedError(t *testing.T) {
	t.Parallel()
	_, srv := serve(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, sse(reply("a", "", nil))+sse(map[string]any{"error": map[string]any{"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}))
	})
	a, err := gemini.New(gemini.Config{APIKey: "k", BaseURL: srv.URL, HTTPClient: srv.Client()})
	require.NoError(t, err)
	_, err = a.RespondStream(t.Context(), agent.Request{Prompt: "p"}, nil)
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
	var mu sync.Mutex
	var configs []json.RawMessage
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		configs = append(configs, body["generationConfig"])
		mu.Unlock()
		writeJSON(w, http.StatusOK, reply(value, "STOP", &agent.Usage{InputTokens: 3, OutputTokens: 5}))
	}))
	t.Cleanup(srv.Close)
	a, err := gemini.New(gemini.Config{APIKey: "k", Model: testModel, BaseURL: srv.URL, HTTPClient: srv.Client()})
	require.NoError(t, err)
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

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, configs, 2)
	assert.JSONEq(t, `{"maxOutputTokens":300,"responseMimeType":"application/json","responseSchema":{"type":"OBJECT",`+
		`"properties":{"choice":{"type":"STRING","enum":["alice","bob"],"description":"who"},"confidence":{"type":"NUMBER"},`+
		`"tags":{"type":"ARRAY","items":{"type":"STRING"}}},"required":["choice","confidence","tags"],`+
		`"propertyOrdering":["choice","confidence","tags"]}}`, string(configs[0]))
	assert.JSONEq(t, `{"maxOutputTokens":300}`, string(configs[1]))
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
