package tracing

import (
	"context"
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Handler wraps h so that each request is a server span (otelhttp): a
// child of the client's W3C traceparent when it sends one, named after the
// method until [NameRoute] names it after the route. The response carries
// the server span's traceparent, so a client learns the trace of its
// request (and of the debate it created). Requests for which skip (nil:
// none) returns true are served untraced: health probes and metrics
// scrapes, say.
func (t *Tracer) Handler(h http.Handler, skip func(*http.Request) bool) http.Handler {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sc := trace.SpanContextFromContext(r.Context()); sc.IsValid() {
			t.prop.Inject(r.Context(), propagation.HeaderCarrier(w.Header()))
		}
		h.ServeHTTP(w, r)
	})
	opts := []otelhttp.Option{otelhttp.WithTracerProvider(t.tp), otelhttp.WithPropagators(t.prop),
		otelhttp.WithMeterProvider(noop.NewMeterProvider())}
	if skip != nil {
		opts = append(opts, otelhttp.WithFilter(func(r *http.Request) bool { return !skip(r) }))
	}
	return otelhttp.NewHandler(inner, "http.server", append(opts,
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			if r.Pattern != "" {
				return r.Pattern
			}
			return r.Method
		}))...)
}

// NameRoute names the request span of ctx after its route pattern ("POST
// /api/debates") and sets http.route: the server's OnRoute hook.
func NameRoute(ctx context.Context, pattern string) {
	span := trace.SpanFromContext(ctx)
	if pattern == "" || !span.IsRecording() {
		return
	}
	span.SetName(pattern)
	route := pattern
	for i := 0; i < len(pattern); i++ {
		if pattern[i] == ' ' {
			route = pattern[i+1:]
			break
		}
	}
	span.SetAttributes(semconv.HTTPRoute(route))
}

// Transport wraps base (nil: http.DefaultTransport) so that each outgoing
// request is a client span, a child of the span of its context (an agent
// call's), and carries that span's traceparent.
func (t *Tracer) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return otelhttp.NewTransport(base, otelhttp.WithTracerProvider(t.tp), otelhttp.WithPropagators(t.prop),
		otelhttp.WithMeterProvider(noop.NewMeterProvider()))
}

// Client returns a copy of c (nil: a default client) whose transport is
// wrapped with [Tracer.Transport]: the providers' HTTP client.
func (t *Tracer) Client(c *http.Client) *http.Client {
	var cp http.Client
	if c != nil {
		cp = *c
	}
	cp.Transport = t.Transport(cp.Transport)
	return &cp
}
