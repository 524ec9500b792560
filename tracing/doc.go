// Package tracing turns Aragora's debates and HTTP requests into
// OpenTelemetry traces (docs/observability.md#traces). It is an adapter,
// like metrics: the engine (agent, consensus, debate) knows nothing of
// OpenTelemetry, and this package turns what the engine already reports
// into spans — the lifecycle's run hooks ([Tracer.Created],
// [Tracer.Start]), the debate's events ([Tracer.Observer]) and agent
// middleware ([Tracer.Agent], [OnRetry]).
//
// # Span tree
//
// One debate created through the HTTP API is one trace:
//
//	POST /api/debates                     server span (otelhttp), the client's traceparent honoured
//	└── debate                            aragora.debate.id, status, rounds, tokens
//	    ├── round 1
//	    │   ├── phase propose
//	    │   │   └── chat demo-balanced    one client span per agent call, GenAI attributes
//	    │   │       └── HTTP POST         the provider request (otelhttp transport), traceparent sent
//	    │   ├── phase critique
//	    │   └── phase vote
//	    ├── round 2 …
//	    └── phase synthesize              (methods that synthesise, after the last round)
//
// The debate runs after POST returns: its span is a child of the request's
// server span (same trace id), started when the run begins. A debate run
// by another process, or resumed after a restart, starts a trace of its
// own. Agent call spans follow the OpenTelemetry GenAI semantic
// conventions v1.41.0 (gen_ai.operation.name, gen_ai.provider.name,
// gen_ai.request.model, gen_ai.response.model, gen_ai.usage.*,
// gen_ai.response.finish_reasons, error.type); retries, rate-limit waits,
// circuit-breaker rejections and fallbacks are span events. Nothing of a
// trace enters a receipt.
//
// # Configuration
//
// [FromEnv] reads the standard OTEL_* variables; [NewProvider] builds an
// SDK TracerProvider exporting with OTLP (http/protobuf or grpc). Tracing
// is off unless an OTLP endpoint is set; a program may pass any
// trace.TracerProvider to [New] instead.
package tracing
