package service

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	sdktracetest "go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/internal/syncbuf"
	"github.com/aragora/aragora/server/servertest"
	"github.com/aragora/aragora/tracing"
	"github.com/aragora/aragora/tracing/tracingtest"
)

var _ interface {
	Created(context.Context, string)
} = (*tracing.Tracer)(nil)

// TestTracingDebateSpanTree runs a demo debate through the HTTP API of a
// service exporting to a real OTLP/HTTP receiver (protobuf decoded with
// go.opentelemetry.io/proto/otlp) and checks the whole span tree: the
// client's traceparent is the parent of the request's server span, which
// is returned in the response and parents the debate span; every round,
// phase and agent call hangs below it; the agent calls carry the GenAI
// attributes, and their tokens add up to the debate's usage. The log lines
// of the request and of the agent calls carry the trace and span ids.
func TestTracingDebateSpanTree(t *testing.T) {
	t.Parallel()
	rc := tracingtest.NewReceiver()
	defer rc.Close()
	const token = "service-tracing-test-token-0123456789"
	const clientTrace, clientSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	logs := &syncbuf.Buffer{}
	svc, err := Open(context.Background(), Config{DatabaseURL: "memory://", DataDir: t.TempDir(), APIToken: token,
		Stderr: logs, LogFormat: "json", Tracing: tracing.Config{Endpoint: rc.URL, ServiceName: "aragora-test"}})
	require.NoError(t, err)
	require.NotNil(t, svc.Tracer())
	svc.Start()
	ts := httptest.NewServer(svc.Handler())
	closed := false
	closeAll := func() {
		if closed {
			return
		}
		closed = true
		ts.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = svc.Shutdown(ctx)
		require.NoError(t, svc.Close()) // flushes the spans
	}
	defer closeAll()

	do := func(method, path, body string, hdr map[string]string) (*http.Response, []byte) {
		req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := ts.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, b
	}
	resp, body := do(http.MethodPost, "/api/debates", `{"topic":"Should the billing service move to Postgres?","rounds":2,"min_rounds":2}`,
		map[string]string{"traceparent": "00-" + clientTrace + "-" + clientSpan + "-01"})
	id := servertest.CreatedID(t, resp.StatusCode, body)
	back := resp.Header.Get("traceparent")
	require.Regexp(t, `^00-`+clientTrace+`-[0-9a-f]{16}-01$`, back, "the response returns the request's span")
	var final struct {
		Status     string `json:"status"`
		RoundsUsed int    `json:"rounds_used"`
		Tokens     struct {
			Input  int64 `json:"input"`
			Output int64 `json:"output"`
		} `json:"tokens"`
	}
	require.Eventually(t, func() bool {
		_, b := do(http.MethodGet, "/api/debates/"+id, "", nil)
		_ = json.Unmarshal(b, &final)
		return final.Status != "" && final.Status != "pending" && final.Status != "running"
	}, 60*time.Second, 20*time.Millisecond)
	closeAll()
	require.NoError(t, rc.Err())

	spans := rc.Spans()
	var inTrace []tracingtest.Span
	for _, s := range spans {
		if s.TraceID() == clientTrace {
			inTrace = append(inTrace, s)
		}
	}
	tree := tracingtest.Tree(spans, clientTrace)
	t.Logf("span tree of the debate:\n%s", tree)
	byID := map[string]tracingtest.Span{}
	for _, s := range inTrace {
		byID[s.SpanID()] = s
	}
	named := func(prefix string) []tracingtest.Span {
		var out []tracingtest.Span
		for _, s := range inTrace {
			if strings.HasPrefix(s.Name, prefix) {
				out = append(out, s)
			}
		}
		return out
	}

	servers := named("POST /api/debates")
	require.Len(t, servers, 1, tree)
	srv := servers[0]
	assert.Equal(t, clientSpan, srv.ParentID(), "the client's traceparent is the server span's parent")
	assert.Equal(t, tracepb.Span_SPAN_KIND_SERVER, srv.Kind)
	assert.Equal(t, "/api/debates", srv.Attr("http.route"))
	assert.Equal(t, "00-"+clientTrace+"-"+srv.SpanID()+"-01", back)
	assert.Equal(t, "aragora-test", srv.Resource["service.name"])

	debates := named("debate")
	require.Len(t, debates, 1, tree)
	deb := debates[0]
	assert.Equal(t, srv.SpanID(), deb.ParentID(), "the debate is a child of the request that created it")
	assert.Equal(t, id, deb.Attr("aragora.debate.id"))
	assert.Equal(t, final.Status, deb.Attr("aragora.debate.status"))
	assert.Equal(t, int64(final.RoundsUsed), deb.Attr("aragora.debate.rounds_used"))

	rounds := named("round ")
	require.Equal(t, 2, final.RoundsUsed)
	require.Len(t, rounds, final.RoundsUsed, tree)
	for _, r := range rounds {
		assert.Equal(t, deb.SpanID(), r.ParentID(), r.Name)
	}
	phases := named("phase ")
	require.NotEmpty(t, phases)
	phaseNames := map[string]bool{}
	for _, p := range phases {
		parent, ok := byID[p.ParentID()]
		require.True(t, ok, "phase %s has a parent in the trace", p.Name)
		assert.True(t, strings.HasPrefix(parent.Name, "round ") || parent.Name == "debate", "%s under %s", p.Name, parent.Name)
		assert.Equal(t, parent.Attr("aragora.debate.round"), p.Attr("aragora.debate.round"), p.Name)
		phaseNames[p.Name] = true
	}
	for _, want := range []string{"phase propose", "phase revise", "phase critique", "phase vote"} {
		assert.True(t, phaseNames[want], "%s in\n%s", want, tree)
	}
	calls := named("chat ")
	require.NotEmpty(t, calls)
	var in, out int64
	for _, c := range calls {
		parent, ok := byID[c.ParentID()]
		require.True(t, ok, "call %s has a parent", c.Name)
		assert.Equal(t, "phase "+c.Attr("aragora.debate.phase").(string), parent.Name)
		assert.Equal(t, tracepb.Span_SPAN_KIND_CLIENT, c.Kind)
		assert.Equal(t, "chat", c.Attr("gen_ai.operation.name"))
		assert.Equal(t, "demo", c.Attr("gen_ai.provider.name"))
		model, _ := c.Attr("gen_ai.request.model").(string)
		assert.True(t, strings.HasPrefix(model, "demo-"), model)
		assert.Equal(t, "chat "+model, c.Name)
		assert.Equal(t, model, c.Attr("gen_ai.response.model"))
		assert.Equal(t, []any{"stop"}, c.Attr("gen_ai.response.finish_reasons"))
		assert.Equal(t, id, c.Attr("gen_ai.conversation.id"))
		assert.NotEmpty(t, c.Attr("gen_ai.agent.name"))
		assert.Nil(t, c.Attr("error.type"))
		ti, _ := c.Attr("gen_ai.usage.input_tokens").(int64)
		to, _ := c.Attr("gen_ai.usage.output_tokens").(int64)
		assert.Positive(t, ti)
		assert.Positive(t, to)
		in += ti
		out += to
		assert.GreaterOrEqual(t, c.StartTimeUnixNano, parent.StartTimeUnixNano, "a call starts inside its phase")
	}
	assert.Equal(t, final.Tokens.Input, in, "input tokens of the calls = the debate's")
	assert.Equal(t, final.Tokens.Output, out, "output tokens of the calls = the debate's")
	assert.Equal(t, final.Tokens.Input, deb.Attr("aragora.usage.input_tokens"))
	assert.Len(t, inTrace, 2+len(rounds)+len(phases)+len(calls), "no other span in the trace:\n%s", tree)

	// Log lines of the traced request and of its debate's agent calls carry
	// the ids.
	var sawRequest, sawStart, sawCall bool
	for _, line := range strings.Split(logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		switch {
		case rec["message"] == "request" && rec["method"] == "POST" && rec["route"] == "/api/debates":
			sawRequest = true
			assert.Equal(t, clientTrace, rec["trace_id"])
			assert.Equal(t, srv.SpanID(), rec["span_id"])
		case rec["message"] == "debate_start" && rec["debate_id"] == id:
			sawStart = true
			assert.Equal(t, clientTrace, rec["trace_id"])
			assert.Equal(t, deb.SpanID(), rec["span_id"])
		case rec["message"] == "agent_call" && rec["debate_id"] == id:
			sawCall = true
			assert.Equal(t, clientTrace, rec["trace_id"])
			if sid, _ := rec["span_id"].(string); assert.Contains(t, byID, sid) {
				assert.True(t, strings.HasPrefix(byID[sid].Name, "chat "), byID[sid].Name)
			}
		}
	}
	assert.True(t, sawRequest, "request log line in\n%s", logs.String())
	assert.True(t, sawStart, "debate_start log line")
	assert.True(t, sawCall, "agent_call log line")
}

// TestTracingProviderRequests: with tracing on, a provider agent's HTTP
// requests carry the traceparent of a client span below the agent call's
// span (the composition wraps the providers' client), and the retry after
// the provider's 429 is a rate_limit.wait event of the call.
func TestTracingProviderRequests(t *testing.T) {
	t.Parallel()
	rc := tracingtest.NewReceiver()
	defer rc.Close()
	var (
		mu      sync.Mutex
		parents []string
	)
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		parents = append(parents, r.Header.Get("traceparent"))
		n := len(parents)
		mu.Unlock()
		_, _ = io.Copy(io.Discard, r.Body)
		if n == 1 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, `{"error":{"message":"slow down"}}`, http.StatusTooManyRequests)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"model":"gpt-test-0601","choices":[{"message":{"content":"Adopt it."},"finish_reason":"stop"}],"usage":{"prompt_tokens":11,"completion_tokens":3}}`)
	}))
	defer fake.Close()
	vars := map[string]string{"ARAGORA_DATABASE_URL": "memory://", "ARAGORA_DATA_DIR": t.TempDir(), "OPENAI_API_KEY": "sk-test",
		"OPENAI_BASE_URL": fake.URL + "/v1", "OTEL_EXPORTER_OTLP_ENDPOINT": rc.URL}
	cfg, err := ConfigFromEnv(func(k string) string { return vars[k] })
	require.NoError(t, err)
	cfg.Stderr = io.Discard
	cfg.Agents.Retry.BaseDelay = time.Millisecond
	svc, err := Open(context.Background(), cfg)
	require.NoError(t, err)
	la, err := svc.Agents().Resolve("gpt-4", 1)
	require.NoError(t, err)
	tr := svc.Tracer()
	ctx, root := tr.TracerProvider().Tracer("test").Start(context.Background(), "caller")
	resp, err := tr.Agent(la.Name, la.Provider, la.Model, la.Agent).Respond(ctx, agent.Request{Prompt: "Adopt Postgres?", Phase: agent.PhasePropose, Round: 1})
	root.End()
	require.NoError(t, err)
	assert.Equal(t, "Adopt it.", resp.Text)
	require.NoError(t, svc.Close())
	require.NoError(t, rc.Err())

	trace := root.SpanContext().TraceID().String()
	spans := rc.Spans()
	t.Logf("spans:\n%s", tracingtest.Tree(spans, trace))
	var call tracingtest.Span
	https := map[string]tracingtest.Span{}
	for _, s := range spans {
		switch {
		case strings.HasPrefix(s.Name, "chat "):
			call = s
		case strings.HasPrefix(s.Name, "HTTP ") || s.Kind == tracepb.Span_SPAN_KIND_CLIENT && s.Attr("http.request.method") != nil:
			https[s.SpanID()] = s
		}
	}
	require.NotNil(t, call.Span, "the agent call span")
	assert.Equal(t, "chat "+la.Model, call.Name)
	assert.Equal(t, root.SpanContext().SpanID().String(), call.ParentID())
	assert.Equal(t, "openai", call.Attr("gen_ai.provider.name"))
	assert.Equal(t, "gpt-test-0601", call.Attr("gen_ai.response.model"))
	assert.Equal(t, []any{"stop"}, call.Attr("gen_ai.response.finish_reasons"))
	assert.Equal(t, int64(11), call.Attr("gen_ai.usage.input_tokens"))
	assert.Equal(t, int64(2), call.Attr("aragora.agent.attempts"))
	if ev := call.Event("rate_limit.wait"); assert.NotNil(t, ev) {
		assert.Equal(t, "rate_limited", tracingtest.EventAttr(ev, "error.type"))
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, parents, 2, "a 429, then the answer")
	require.Len(t, https, 2)
	for _, tp := range parents {
		parts := strings.Split(tp, "-")
		require.Len(t, parts, 4, "traceparent %q", tp)
		assert.Equal(t, trace, parts[1])
		h, ok := https[parts[2]]
		require.True(t, ok, "the request's parent %s is an HTTP client span", parts[2])
		assert.Equal(t, call.SpanID(), h.ParentID(), "below the agent call")
	}
}

// TestTracingOwnProvider: a library user's TracerProvider receives the
// service's spans, and Close leaves it to its owner (still open after).
// Without one and without an endpoint there is no tracer at all.
func TestTracingOwnProvider(t *testing.T) {
	t.Parallel()
	exp := sdktracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer func() { require.NoError(t, tp.Shutdown(context.Background())) }()
	svc, err := Open(context.Background(), Config{DatabaseURL: "memory://", DataDir: t.TempDir(), Stderr: io.Discard, TracerProvider: tp})
	require.NoError(t, err)
	w := httptest.NewRecorder()
	svc.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/health", nil))
	require.Equal(t, http.StatusOK, w.Code)
	assert.Empty(t, w.Header().Get("traceparent"), "health probes are not traced")
	w = httptest.NewRecorder()
	svc.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/openapi.json", nil))
	require.Equal(t, http.StatusOK, w.Code)
	require.NoError(t, svc.Close())
	spans := exp.GetSpans()
	require.Len(t, spans, 1)
	assert.Equal(t, "GET /api/openapi.json", spans[0].Name)
	assert.Equal(t, "00-"+spans[0].SpanContext.TraceID().String()+"-"+spans[0].SpanContext.SpanID().String()+"-01", w.Header().Get("traceparent"))
	_, span := tp.Tracer("after").Start(context.Background(), "after close")
	span.End()
	assert.Len(t, exp.GetSpans(), 2, "the provider is still open")

	off, err := Open(context.Background(), Config{DatabaseURL: "memory://", DataDir: t.TempDir(), Stderr: io.Discard})
	require.NoError(t, err)
	defer off.Close()
	assert.Nil(t, off.Tracer())
	w = httptest.NewRecorder()
	off.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/health", nil))
	assert.Empty(t, w.Header().Get("traceparent"))
}

// TestTracingWebSocket: a WebSocket upgrade still works through the
// tracing middleware (its span lasts as long as the connection).
func TestTracingWebSocket(t *testing.T) {
	t.Parallel()
	exp := sdktracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer func() { require.NoError(t, tp.Shutdown(context.Background())) }()
	const token = "service-tracing-ws-token-0123456789"
	svc, err := Open(context.Background(), Config{DatabaseURL: "memory://", DataDir: t.TempDir(), Stderr: io.Discard, APIToken: token, TracerProvider: tp})
	require.NoError(t, err)
	defer svc.Close()
	ts := httptest.NewServer(svc.Handler())
	defer ts.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	require.NoError(t, err)
	assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	assert.NotEmpty(t, resp.Header.Get("traceparent"))
	require.NoError(t, c.Close(websocket.StatusNormalClosure, ""))
	shut, cancelShut := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelShut()
	_ = svc.Shutdown(shut)
}
