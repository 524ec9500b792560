package service

import (
	"context"
	"log/slog"
	"time"

	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/internal/tick"
	"github.com/aragora/aragora/lifecycle"
	"github.com/aragora/aragora/memory"
	"github.com/aragora/aragora/metrics"
)

// MemoryConfig configures the continuum memory (docs/memory.md).
type MemoryConfig struct {
	// Enabled turns the memory on for the server and the CLI
	// (ARAGORA_MEMORY_ENABLED, default true).
	Enabled bool
	// TopK is the entries retrieved per debate (ARAGORA_MEMORY_TOP_K,
	// default 5).
	TopK int
	// TokenBudget caps the retrieved content per debate, in tokens
	// (ARAGORA_MEMORY_TOKEN_BUDGET, default 400).
	TokenBudget int
	// CleanupInterval is how often `aragora serve` forgets stale, expired
	// and over-capacity entries (ARAGORA_MEMORY_CLEANUP_INTERVAL, default
	// 1h).
	CleanupInterval time.Duration
}

// readMemory reads the memory variables.
func readMemory(r *envReader) MemoryConfig {
	return MemoryConfig{
		Enabled:         r.boolean("ARAGORA_MEMORY_ENABLED", true),
		TopK:            r.integer("ARAGORA_MEMORY_TOP_K", memory.DefaultLimit, 1),
		TokenBudget:     r.integer("ARAGORA_MEMORY_TOKEN_BUDGET", memory.DefaultTokenBudget, 1),
		CleanupInterval: r.duration("ARAGORA_MEMORY_CLEANUP_INTERVAL", time.Hour),
	}
}

// OpenMemory returns the continuum memory over the store of b, or nil when
// cfg.Memory is disabled or the store keeps no memory. m, when set,
// receives the memory metrics.
func OpenMemory(cfg Config, b *Backends, m *metrics.Metrics) (*memory.Continuum, error) {
	mc := cfg.Memory
	if !mc.Enabled || b == nil {
		return nil, nil
	}
	st, ok := b.Store.(memory.Store)
	if !ok {
		return nil, nil
	}
	mcfg := memory.Config{Store: st, Limit: mc.TopK, TokenBudget: mc.TokenBudget}
	if m != nil {
		mcfg.OnTransition = func(from, to memory.Tier) { m.ObserveMemoryTransition(string(from), string(to)) }
		mcfg.OnRetrieve = func(int) { m.MemoryRetrievals.Inc() }
	}
	return memory.New(mcfg)
}

// WithMemory wraps a debate factory (nil: debate.New) so that every
// debate it builds consults and teaches mem (nil: unchanged).
func WithMemory(mem *memory.Continuum, next lifecycle.Factory) lifecycle.Factory {
	if next == nil {
		next = debate.New
	}
	if mem == nil {
		return next
	}
	return func(dc debate.Config, ps ...debate.Participant) (*debate.Orchestrator, error) {
		dc.Memory = mem
		return next(dc, ps...)
	}
}

// runMemoryCleanup forgets stale entries every interval until ctx ends,
// and samples aragora_memory_entries after each pass (and at the start).
func runMemoryCleanup(ctx context.Context, mem *memory.Continuum, interval time.Duration, m *metrics.Metrics, log *slog.Logger) {
	sample := func() {
		if m == nil {
			return
		}
		st, err := mem.Stats(ctx)
		if err != nil {
			return
		}
		counts := map[string]int{}
		for _, t := range st.Tiers {
			counts[string(t.Tier)] = t.Count
		}
		m.SetMemoryEntries(counts)
	}
	sample()
	tick.Both(ctx, tick.Job{Period: interval, Run: func() {
		rep, err := mem.Cleanup(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("memory_cleanup_failed", "error", err)
		case rep.Deleted > 0:
			log.Info("memory_cleanup", "deleted", rep.Deleted, "reasons", rep.Reasons)
		}
		sample()
	}}, tick.Job{Period: time.Minute, Run: sample})
}
