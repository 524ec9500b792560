package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
)

// DefaultFallbackProvider is the provider a fallback answers from unless
// FallbackConfig.ToProvider says otherwise.
const DefaultFallbackProvider = "openrouter"

// FallbackConfig configures FallbackMiddleware. Agent is required; the other fields
// have defaults.
type FallbackConfig struct {
	// Agent answers when the primary fails with one of Kinds, typically an
	// OpenRouter agent with a mapped model. When nil, FallbackMiddleware does nothing.
	Agent Agent
	// FromProvider and FromModel describe the primary. When FromProvider is
	// empty, the Provider of the primary's *ProviderError is used.
	FromProvider string
	FromModel    string
	// ToProvider names the fallback's provider; default "openrouter".
	ToProvider string
	// ToModel names the fallback's model; default the model the fallback's
	// Response reports.
	ToModel string
	// Kinds are the error kinds that trigger the fallback; default
	// quota_exhausted, circuit_open and auth (docs/agents.md#middleware).
	Kinds []Kind
}

// FallbackKinds are the default FallbackConfig.Kinds.
func FallbackKinds() []Kind { return []Kind{KindQuotaExhausted, KindCircuitOpen, KindAuth} }

// FallbackMiddleware sends a call to cfg.Agent, with the same request, when the
// wrapped agent fails with one of cfg.Kinds, and records the switch in
// Response.Fallback (the primary's kind as Reason and its error as Err), so
// the orchestrator can emit agent_error (recoverable) then agent_fallback.
// The reply is still the participant's. Response.Attempts adds the
// primary's attempts (Attempts of its error, at least 1) to the fallback's.
//
// When the fallback fails too, the error wraps both, the primary's first,
// so KindOf reports the primary's kind. It never falls back once ctx is
// done, nor after a stream has delivered its first chunk. The result keeps
// the wrapped agent's capabilities ([Wrap]): a stream falls back to a
// stream when cfg.Agent can stream (else to its Respond), and a structural
// critique, vote or judgement falls back only to an agent with that
// capability (else the primary's error stands). A structural call's
// Fallback record does not reach the debate, whose Critique, Vote and
// Judge return no Response.
func FallbackMiddleware(cfg FallbackConfig) Middleware {
	if cfg.ToProvider == "" {
		cfg.ToProvider = DefaultFallbackProvider
	}
	if len(cfg.Kinds) == 0 {
		cfg.Kinds = FallbackKinds()
	}
	return func(next Agent) Agent {
		if cfg.Agent == nil {
			return next
		}
		return Wrap(next, func(ctx context.Context, c Call) (Response, error) {
			var delivered atomic.Bool
			fc := c
			if onChunk := c.OnChunk; onChunk != nil {
				c.OnChunk = func(s string) { delivered.Store(true); onChunk(s) }
			}
			resp, err := c.Next(ctx)
			kind := KindOf(err)
			if err == nil || !slices.Contains(cfg.Kinds, kind) || delivered.Load() || ctx.Err() != nil || !fc.Supported(cfg.Agent) {
				return resp, err
			}
			fresp, ferr := fc.On(ctx, cfg.Agent)
			if ferr != nil {
				return fresp, fmt.Errorf("%w; fallback to %s failed: %w", err, cfg.ToProvider, ferr)
			}
			fb := &Fallback{
				FromProvider: cfg.FromProvider,
				FromModel:    cfg.FromModel,
				ToProvider:   cfg.ToProvider,
				ToModel:      cfg.ToModel,
				Reason:       kind,
				Err:          err,
			}
			var pe *ProviderError
			if fb.FromProvider == "" && errors.As(err, &pe) {
				fb.FromProvider = pe.Provider
			}
			if fb.ToModel == "" {
				fb.ToModel = fresp.Model
			}
			fresp.Fallback = fb
			fresp.Attempts = max(Attempts(err), 1) + max(fresp.Attempts, 1)
			return fresp, nil
		})
	}
}
