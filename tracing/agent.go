package tracing

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/ratelimit"
)

// GenAI semantic-convention keys (v1.41.0) of the agent call spans.
const (
	AttrGenAIOperation      = attribute.Key("gen_ai.operation.name")
	AttrGenAIProvider       = attribute.Key("gen_ai.provider.name")
	AttrGenAIRequestModel   = attribute.Key("gen_ai.request.model")
	AttrGenAIResponseModel  = attribute.Key("gen_ai.response.model")
	AttrGenAIInputTokens    = attribute.Key("gen_ai.usage.input_tokens")
	AttrGenAIOutputTokens   = attribute.Key("gen_ai.usage.output_tokens")
	AttrGenAIFinishReasons  = attribute.Key("gen_ai.response.finish_reasons")
	AttrGenAIConversationID = attribute.Key("gen_ai.conversation.id")
	AttrGenAIAgentName      = attribute.Key("gen_ai.agent.name")
	AttrGenAIMaxTokens      = attribute.Key("gen_ai.request.max_tokens")
	AttrGenAITemperature    = attribute.Key("gen_ai.request.temperature")
	AttrErrorType           = attribute.Key("error.type")
)

// Span event names of an agent call.
const (
	EventRetry           = "retry"
	EventRateLimitWait   = "rate_limit.wait"
	EventBreakerRejected = "circuit_breaker.rejected"
	EventFallback        = "fallback"
)

// ProviderName returns the gen_ai.provider.name of one of Aragora's
// provider names: the convention's well-known value where there is one
// (mistral → mistral_ai, xai → x_ai, gemini → gcp.gemini), else the name
// itself.
func ProviderName(provider string) string {
	switch provider {
	case "mistral":
		return "mistral_ai"
	case "xai":
		return "x_ai"
	case "gemini":
		return "gcp.gemini"
	}
	return provider
}

// Agent wraps a, the agent of participant name served by provider and
// model, so that each of its calls is a client span "chat <model>" with the
// GenAI attributes: a child of its phase's span when the call belongs to a
// debate run traced by Start, else of ctx's span. The call's context
// carries the span, so the provider's HTTP request (with [Tracer.Client])
// and the retry hook [OnRetry] attach to it. The result keeps a's
// capabilities (agent.Wrap).
func (t *Tracer) Agent(name, provider, model string, a agent.Agent) agent.Agent {
	return t.AgentMiddleware(name, provider, model)(a)
}

// AgentMiddleware is [Tracer.Agent] as an agent.Middleware; put it
// outermost.
func (t *Tracer) AgentMiddleware(name, provider, model string) agent.Middleware {
	if t.off {
		return func(next agent.Agent) agent.Agent { return next }
	}
	pname := ProviderName(provider)
	spanName := "chat"
	if model != "" {
		spanName = "chat " + model
	}
	return func(next agent.Agent) agent.Agent {
		return agent.Wrap(next, func(ctx context.Context, c agent.Call) (agent.Response, error) {
			req := c.Request
			parent, start := ctx, time.Time{}
			r := runOf(ctx)
			if r != nil {
				parent, start = r.phaseCtx(req.Round, req.Phase)
			} else {
				start = t.now()
			}
			_, span := t.t.Start(parent, spanName, trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(start))
			if span.IsRecording() { // an unsampled call builds no attribute
				span.SetAttributes(requestAttrs(name, pname, model, req)...)
			}
			// The call runs under the caller's context (its deadline and
			// cancellation) with the span's values.
			resp, err := c.Next(trace.ContextWithSpan(ctx, span))
			end := t.now()
			if span.IsRecording() {
				recordResult(span, resp, err)
			}
			span.End(trace.WithTimestamp(end))
			if r != nil {
				r.callEnded(req.Round, req.Phase, end)
			}
			return resp, err
		})
	}
}

func requestAttrs(name, pname, model string, req agent.Request) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 12)
	attrs = append(attrs, AttrGenAIOperation.String("chat"), AttrGenAIAgentName.String(name))
	if pname != "" {
		attrs = append(attrs, AttrGenAIProvider.String(pname))
	}
	if model != "" {
		attrs = append(attrs, AttrGenAIRequestModel.String(model))
	}
	if req.DebateID != "" {
		attrs = append(attrs, AttrGenAIConversationID.String(req.DebateID), AttrDebateID.String(req.DebateID))
	}
	if req.Phase != "" {
		attrs = append(attrs, AttrPhase.String(string(req.Phase)), AttrRound.Int(req.Round))
	}
	if req.Target != "" {
		attrs = append(attrs, AttrTarget.String(req.Target))
	}
	if req.MaxTokens > 0 {
		attrs = append(attrs, AttrGenAIMaxTokens.Int(req.MaxTokens), AttrGenAITemperature.Float64(req.Temperature))
	}
	return attrs
}

func recordResult(span trace.Span, resp agent.Response, err error) {
	attrs := make([]attribute.KeyValue, 0, 8)
	if resp.Model != "" {
		attrs = append(attrs, AttrGenAIResponseModel.String(resp.Model))
	}
	if resp.FinishReason != "" {
		attrs = append(attrs, AttrGenAIFinishReasons.StringSlice([]string{resp.FinishReason}))
	}
	if err == nil || resp.Usage != (agent.Usage{}) {
		attrs = append(attrs, AttrGenAIInputTokens.Int(resp.Usage.InputTokens), AttrGenAIOutputTokens.Int(resp.Usage.OutputTokens))
	}
	if resp.CostUSD > 0 {
		attrs = append(attrs, AttrCostUSD.Float64(resp.CostUSD))
	}
	attempts := resp.Attempts
	if err != nil {
		attempts = max(attempts, agent.Attempts(err))
	}
	if attempts > 0 {
		attrs = append(attrs, AttrAttempts.Int(attempts))
	}
	if fb := resp.Fallback; fb != nil {
		if fb.Reason == agent.KindCircuitOpen {
			span.AddEvent(EventBreakerRejected)
		}
		span.AddEvent(EventFallback, trace.WithAttributes(AttrErrorType.String(string(fb.Reason)),
			attribute.String("aragora.fallback.from_provider", fb.FromProvider), attribute.String("aragora.fallback.from_model", fb.FromModel),
			attribute.String("aragora.fallback.to_provider", fb.ToProvider), attribute.String("aragora.fallback.to_model", fb.ToModel)))
		if fb.ToProvider != "" {
			attrs = append(attrs, AttrGenAIProvider.String(ProviderName(fb.ToProvider)))
		}
	}
	if err != nil {
		kind := agent.KindOf(err)
		if kind == agent.KindCircuitOpen {
			span.AddEvent(EventBreakerRejected)
		}
		attrs = append(attrs, errorType(string(kind)))
		span.SetStatus(codes.Error, err.Error())
	}
	span.SetAttributes(attrs...)
}

func errorType(kind string) attribute.KeyValue { return AttrErrorType.String(kind) }

// OnRetry is the agent.RetryConfig.OnRetry hook of traced agents: it adds
// an event to the span of ctx (the agent call's) for each retry —
// rate_limit.wait when the provider refused for its rate limit (the wait
// honours its Retry-After), circuit_breaker.rejected then retry when the
// circuit refused the attempt, retry otherwise — with the failed attempt,
// its error.type and the wait.
func OnRetry(ctx context.Context, attempt int, err error, wait time.Duration) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	kind := agent.KindOf(err)
	attrs := trace.WithAttributes(AttrAttempt.Int(attempt), AttrErrorType.String(string(kind)), AttrWait.Float64(wait.Seconds()))
	switch {
	case kind == agent.KindRateLimited:
		span.AddEvent(EventRateLimitWait, attrs)
	case kind == agent.KindCircuitOpen:
		span.AddEvent(EventBreakerRejected, attrs)
		span.AddEvent(EventRetry, attrs)
	default:
		span.AddEvent(EventRetry, attrs)
	}
}

// Limiter wraps a ratelimit.Limiter (the one of ratelimit.Middleware) so
// that each wait it imposes on a traced call (of a millisecond or more, or
// refused) is a rate_limit.wait event of the call's span, with the time
// waited.
func (t *Tracer) Limiter(l ratelimit.Limiter) ratelimit.Limiter {
	return limiterFunc(func(ctx context.Context) error {
		start := t.now()
		err := l.Wait(ctx)
		waited := t.now().Sub(start)
		if span := trace.SpanFromContext(ctx); span.IsRecording() && (err != nil || waited >= time.Millisecond) {
			attrs := []attribute.KeyValue{AttrWait.Float64(waited.Seconds())}
			if err != nil {
				attrs = append(attrs, AttrErrorType.String(string(agent.KindRateLimited)))
			}
			span.AddEvent(EventRateLimitWait, trace.WithAttributes(attrs...))
		}
		return err
	})
}

type limiterFunc func(ctx context.Context) error

func (f limiterFunc) Wait(ctx context.Context) error { return f(ctx) }
