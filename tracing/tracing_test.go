package tracing_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/breaker"
	"github.com/aragora/aragora/tracing"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newTracer(t *testing.T) (*tracing.Tracer, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tracing.New(tp), exp
}

func attrs(kvs []attribute.KeyValue) map[string]attribute.Value {
	out := map[string]attribute.Value{}
	for _, kv := range kvs {
		out[string(kv.Key)] = kv.Value
	}
	return out
}

func TestFromEnv(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    tracing.Config
		enabled bool
		bad     string
	}{
		{name: "unset is off", env: nil, want: tracing.Config{}},
		{name: "endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318", "OTEL_SERVICE_NAME": "deb"},
			want: tracing.Config{Endpoint: "http://localhost:4318", ServiceName: "deb"}, enabled: true},
		{name: "traces endpoint and grpc", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			want: tracing.Config{TracesEndpoint: "http://c:4317", Protocol: "grpc"}, enabled: true},
		{name: "traces protocol wins", env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"},
			want: tracing.Config{Protocol: "http/protobuf"}},
		{name: "disabled", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318", "OTEL_SDK_DISABLED": "true"},
			want: tracing.Config{Endpoint: "http://localhost:4318", Disabled: true}},
		{name: "sampler", env: map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"},
			want: tracing.Config{Sampler: "parentbased_traceidratio", SamplerArg: "0.25"}},
		{name: "bad protocol", env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, bad: "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{name: "bad endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "localhost:4318"}, bad: "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{name: "bad sampler", env: map[string]string{"OTEL_TRACES_SAMPLER": "sometimes"}, bad: "OTEL_TRACES_SAMPLER"},
		{name: "bad ratio", env: map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"}, bad: "OTEL_TRACES_SAMPLER_ARG"},
		{name: "bad disabled", env: map[string]string{"OTEL_SDK_DISABLED": "yes"}, bad: "OTEL_SDK_DISABLED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := tracing.FromEnv(func(k string) string { return tc.env[k] })
			if tc.bad != "" {
				require.ErrorIs(t, err, tracing.ErrConfig)
				assert.Contains(t, err.Error(), tc.bad)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, c)
			assert.Equal(t, tc.enabled, c.Enabled())
		})
	}
}

func TestNewProviderOffWithoutEndpoint(t *testing.T) {
	t.Parallel()
	tp, err := tracing.NewProvider(context.Background(), tracing.Config{})
	require.NoError(t, err)
	assert.Nil(t, tp)
	_, err = tracing.NewProvider(context.Background(), tracing.Config{Protocol: "thrift"})
	require.ErrorIs(t, err, tracing.ErrConfig)
}

// TestAgentSpanRetryEvents: a call that is refused for the provider's
// rate limit, then fails with a 503, then succeeds is one client span with
// a rate_limit.wait and a retry event (the waits as Retry decided them) and
// the GenAI attributes of the reply.
func TestAgentSpanRetryEvents(t *testing.T) {
	t.Parallel()
	tr, exp := newTracer(t)
	n := 0
	flaky := agent.Func(func(ctx context.Context, req agent.Request) (agent.Response, error) {
		n++
		switch n {
		case 1:
			return agent.Response{}, &agent.ProviderError{Provider: "openai", StatusCode: 429, RetryAfter: 2 * time.Second, Err: errors.New("slow down")}
		case 2:
			return agent.Response{}, &agent.ProviderError{Provider: "openai", StatusCode: 503, Err: errors.New("unavailable")}
		}
		return agent.Response{Text: "ok", Model: "gpt-x-2026", Usage: agent.Usage{InputTokens: 12, OutputTokens: 3}, FinishReason: "stop"}, nil
	})
	retry := agent.Retry(agent.RetryConfig{OnRetry: tracing.OnRetry, Rand: func() float64 { return 0 },
		Sleep: func(context.Context, time.Duration) error { return nil }})
	a := agent.Chain(flaky, tr.AgentMiddleware("alice", "openai", "gpt-x"), retry)
	_, err := a.Respond(context.Background(), agent.Request{DebateID: "deb-1", Phase: agent.PhasePropose, Round: 1, MaxTokens: 100})
	require.NoError(t, err)

	spans := exp.GetSpans()
	require.Len(t, spans, 1)
	s := spans[0]
	assert.Equal(t, "chat gpt-x", s.Name)
	at := attrs(s.Attributes)
	assert.Equal(t, "chat", at["gen_ai.operation.name"].AsString())
	assert.Equal(t, "openai", at["gen_ai.provider.name"].AsString())
	assert.Equal(t, "gpt-x", at["gen_ai.request.model"].AsString())
	assert.Equal(t, "gpt-x-2026", at["gen_ai.response.model"].AsString())
	assert.Equal(t, int64(12), at["gen_ai.usage.input_tokens"].AsInt64())
	assert.Equal(t, int64(3), at["gen_ai.usage.output_tokens"].AsInt64())
	assert.Equal(t, []string{"stop"}, at["gen_ai.response.finish_reasons"].AsStringSlice())
	assert.Equal(t, int64(3), at["aragora.agent.attempts"].AsInt64())
	require.Len(t, s.Events, 2)
	assert.Equal(t, tracing.EventRateLimitWait, s.Events[0].Name)
	ev := attrs(s.Events[0].Attributes)
	assert.Equal(t, "rate_limited", ev["error.type"].AsString())
	assert.Equal(t, 2.0, ev["aragora.retry.wait_seconds"].AsFloat64())
	assert.Equal(t, tracing.EventRetry, s.Events[1].Name)
	assert.Equal(t, "server", attrs(s.Events[1].Attributes)["error.type"].AsString())
}

// TestAgentSpanBreakerRejected: a call refused by an open circuit is an
// error span with error.type circuit_open and a circuit_breaker.rejected
// event; a fallback that rescues a call is an event naming both sides.
func TestAgentSpanBreakerRejected(t *testing.T) {
	t.Parallel()
	tr, exp := newTracer(t)
	open := agent.Func(func(context.Context, agent.Request) (agent.Response, error) {
		return agent.Response{}, breaker.ErrOpen
	})
	_, err := tr.Agent("bob", "mistral", "m-large", open).Respond(context.Background(), agent.Request{})
	require.ErrorIs(t, err, breaker.ErrOpen)
	rescued := agent.Func(func(context.Context, agent.Request) (agent.Response, error) {
		return agent.Response{Text: "ok", Fallback: &agent.Fallback{FromProvider: "mistral", FromModel: "m-large", ToProvider: "openrouter",
			ToModel: "m-small", Reason: agent.KindCircuitOpen}}, nil
	})
	_, err = tr.Agent("bob", "mistral", "m-large", rescued).Respond(context.Background(), agent.Request{})
	require.NoError(t, err)

	spans := exp.GetSpans()
	require.Len(t, spans, 2)
	failed := spans[0]
	assert.Equal(t, codes.Error, failed.Status.Code)
	assert.Equal(t, "circuit_open", attrs(failed.Attributes)["error.type"].AsString())
	assert.Equal(t, "mistral_ai", attrs(failed.Attributes)["gen_ai.provider.name"].AsString())
	require.Len(t, failed.Events, 1)
	assert.Equal(t, tracing.EventBreakerRejected, failed.Events[0].Name)
	ok := spans[1]
	assert.Equal(t, codes.Unset, ok.Status.Code)
	require.Len(t, ok.Events, 2)
	assert.Equal(t, tracing.EventBreakerRejected, ok.Events[0].Name)
	assert.Equal(t, tracing.EventFallback, ok.Events[1].Name)
	assert.Equal(t, "m-small", attrs(ok.Events[1].Attributes)["aragora.fallback.to_model"].AsString())
	assert.Equal(t, "openrouter", attrs(ok.Attributes)["gen_ai.provider.name"].AsString())
}

type sleepLimiter struct{ d time.Duration }

func (l sleepLimiter) Wait(ctx context.Context) error {
	select {
	case <-time.After(l.d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestLimiterWaitEvent(t *testing.T) {
	t.Parallel()
	tr, exp := newTracer(t)
	ctx, span := tr.TracerProvider().Tracer("test").Start(context.Background(), "call")
	require.NoError(t, tr.Limiter(sleepLimiter{2 * time.Millisecond}).Wait(ctx))
	span.End()
	spans := exp.GetSpans()
	require.Len(t, spans, 1)
	require.Len(t, spans[0].Events, 1)
	assert.Equal(t, tracing.EventRateLimitWait, spans[0].Events[0].Name)
}

// TestHandlerTraceparent: the server span is a child of the client's
// traceparent, is named after the route, and is returned in the response.
func TestHandlerTraceparent(t *testing.T) {
	t.Parallel()
	tr, exp := newTracer(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/things/{id}", func(w http.ResponseWriter, r *http.Request) {
		tracing.NameRoute(r.Context(), "GET /api/things/{id}")
		w.WriteHeader(http.StatusNoContent)
	})
	h := tr.Handler(mux, func(r *http.Request) bool { return r.URL.Path == "/healthz" })
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	probe := httptest.NewRecorder()
	h.ServeHTTP(probe, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	assert.Empty(t, probe.Header().Get("traceparent"), "skipped: untraced")
	req := httptest.NewRequest(http.MethodGet, "/api/things/7", nil)
	req.Header.Set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	require.Equal(t, http.StatusNoContent, w.Code)
	spans := exp.GetSpans()
	require.Len(t, spans, 1)
	s := spans[0]
	assert.Equal(t, "GET /api/things/{id}", s.Name)
	assert.Equal(t, "0af7651916cd43dd8448eb211c80319c", s.SpanContext.TraceID().String())
	assert.Equal(t, "b7ad6b7169203331", s.Parent.SpanID().String())
	assert.Equal(t, "/api/things/{id}", attrs(s.Attributes)["http.route"].AsString())
	assert.Equal(t, "00-0af7651916cd43dd8448eb211c80319c-"+s.SpanContext.SpanID().String()+"-01", w.Header().Get("traceparent"))
}

func TestLogHandler(t *testing.T) {
	t.Parallel()
	tr, _ := newTracer(t)
	var buf bytes.Buffer
	log := slog.New(tracing.LogHandler(slog.NewJSONHandler(&buf, nil))).With("logger", "x")
	ctx, span := tr.TracerProvider().Tracer("test").Start(context.Background(), "op")
	log.InfoContext(ctx, "traced")
	log.Info("untraced")
	span.End()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2)
	assert.Contains(t, lines[0], `"trace_id":"`+span.SpanContext().TraceID().String()+`"`)
	assert.Contains(t, lines[0], `"span_id":"`+span.SpanContext().SpanID().String()+`"`)
	assert.NotContains(t, lines[1], "trace_id")
}

// TestNewProviderProtocols: both OTLP transports build a provider from
// an endpoint (the exporters connect lazily), and shut down cleanly.
func TestNewProviderProtocols(t *testing.T) {
	t.Parallel()
	for _, c := range []tracing.Config{
		{Endpoint: "http://127.0.0.1:1", ServiceName: "x"},
		{TracesEndpoint: "http://127.0.0.1:1/v1/traces"},
		{Endpoint: "http://127.0.0.1:1", Protocol: tracing.ProtocolGRPC, Sampler: "always_off"},
	} {
		tp, err := tracing.NewProvider(context.Background(), c)
		require.NoError(t, err)
		require.NotNil(t, tp)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		require.NoError(t, tp.Shutdown(ctx))
		cancel()
	}
}
