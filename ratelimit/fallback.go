package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Fallback modes, the values of the mode label of
// aragora_rate_limit_fallback_total (docs/operations.md#metrics).
const (
	ModeLocal    = "local"
	ModeFailOpen = "fail_open"
)

// FallbackConfig tunes a [Fallback]. The zero value is usable.
type FallbackConfig struct {
	// Timeout bounds each primary call; a slower call counts as a failure
	// and the fallback decides. Default 100 ms.
	Timeout time.Duration
	// FailOpen allows every event while the primary is failing, instead of
	// letting the local limiter decide (ARAGORA_RATE_LIMIT_FAIL_OPEN).
	FailOpen bool
	// MaxFailures is the number of consecutive primary failures after
	// which the primary is skipped for SkipFor; default 3.
	MaxFailures int
	// SkipFor is how long the primary is skipped; then one call probes it.
	// Default 30 s.
	SkipFor time.Duration
	// Now is the clock for SkipFor; default time.Now. (Timeout uses the
	// context's real-time deadline.)
	Now func() time.Time
	// Logger receives one record per state transition: WARN
	// rate_limit_backend_down, INFO rate_limit_backend_recovered. Nil
	// discards.
	Logger *slog.Logger
	// OnFallback, if set, is called once per decision not made by the
	// primary, with ModeLocal or ModeFailOpen (for
	// aragora_rate_limit_fallback_total). It must be fast and safe for
	// concurrent use.
	OnFallback func(mode string)
}

func (c FallbackConfig) withDefaults() FallbackConfig {
	if c.Timeout <= 0 {
		c.Timeout = 100 * time.Millisecond
	}
	if c.MaxFailures <= 0 {
		c.MaxFailures = 3
	}
	if c.SkipFor <= 0 {
		c.SkipFor = 30 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// BackendStatus describes a [Fallback]'s primary limiter.
type BackendStatus struct {
	// Up is false from the first failed primary call until a primary call
	// succeeds again.
	Up bool
	// FallbackActive reports that decisions are currently made without
	// the primary (it failed last, or it is being skipped).
	FallbackActive bool
	// FailOpen reports the configured mode.
	FailOpen bool
	// Skipping reports that the primary is not called until SkipUntil.
	Skipping  bool
	SkipUntil time.Time // zero unless Skipping
	// DownSince is when the current outage began; zero when Up.
	DownSince time.Time
	// ConsecutiveFailures counts primary failures since the last success.
	ConsecutiveFailures int
	// LastError is the message of the last primary failure ("" if none).
	LastError string
	// Counters since the Fallback was created.
	PrimaryDecisions  uint64
	PrimaryFailures   uint64 // errors and timeouts
	LocalDecisions    uint64
	FailOpenDecisions uint64
}

// StatusReporter is implemented by limiters that depend on a shared
// backend, such as [*Fallback]. [Policy] reports its state as "redis" in
// the status endpoints.
type StatusReporter interface {
	Status() BackendStatus
}

// Fallback is a [Keyed] limiter that asks a primary (shared) limiter and,
// when that fails or takes longer than Timeout, lets a local limiter decide
// or, with FailOpen, allows the event; callers never see the primary's
// errors. After MaxFailures consecutive failures the primary is skipped for
// SkipFor, then a single call probes it; a success restores it. Fallback is
// safe for concurrent use. Each primary call runs in its own goroutine,
// which ends when the primary returns (it gets a context with the Timeout).
// Create it with [NewFallback]; the zero value is not usable.
type Fallback struct {
	primary Keyed
	local   Keyed
	cfg     FallbackConfig

	mu sync.Mutex
	st BackendStatus
	// probing is set while one call probes a skipped primary.
	probing bool
	// downs counts the primary's up→down transitions. A call that began
	// before the latest one and succeeds afterwards (its reply was already
	// on the wire when the primary went away) must not declare the primary
	// recovered: only a call begun while it was down, a probe, may.
	downs uint64
}

var (
	_ Keyed          = (*Fallback)(nil)
	_ Peeker         = (*Fallback)(nil)
	_ StatusReporter = (*Fallback)(nil)
)

// NewFallback returns a Fallback over primary; local decides when primary
// cannot (nil means a new [Memory] with cfg.Now).
func NewFallback(primary, local Keyed, cfg FallbackConfig) *Fallback {
	cfg = cfg.withDefaults()
	if local == nil {
		local = NewMemory(MemoryConfig{Now: cfg.Now})
	}
	return &Fallback{primary: primary, local: local, cfg: cfg,
		st: BackendStatus{Up: true, FailOpen: cfg.FailOpen}}
}

// Allow implements [Keyed]. It returns an error only for an invalid l.
func (f *Fallback) Allow(ctx context.Context, key string, l Limit) (Decision, error) {
	return f.do(ctx, key, l, false)
}

// Peek implements [Peeker] when the primary and local limiters do;
// otherwise it reports a full budget.
func (f *Fallback) Peek(ctx context.Context, key string, l Limit) (Decision, error) {
	return f.do(ctx, key, l, true)
}

// Status returns the primary's state and the counters.
func (f *Fallback) Status() BackendStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.st
	st.FallbackActive = !st.Up || st.Skipping
	return st
}

// Local returns the local limiter.
func (f *Fallback) Local() Keyed { return f.local }

func (f *Fallback) do(ctx context.Context, key string, l Limit, peek bool) (Decision, error) {
	if err := l.Validate(); err != nil {
		return Decision{}, err
	}
	ok, downs := f.tryPrimary()
	if !ok {
		return f.fallback(ctx, key, l, peek)
	}
	d, err := f.callPrimary(ctx, key, l, peek)
	if err == nil {
		f.succeeded(downs)
		return d, nil
	}
	if ctx.Err() != nil {
		// The caller gave up: not the primary's failure.
		f.mu.Lock()
		f.probing = false
		f.mu.Unlock()
	} else {
		f.failed(err)
	}
	return f.fallback(context.WithoutCancel(ctx), key, l, peek)
}

// tryPrimary reports whether this call may use the primary, and the
// down-transition count when it starts.
func (f *Fallback) tryPrimary() (bool, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.st.Skipping {
		return true, f.downs
	}
	if f.probing || f.cfg.Now().Before(f.st.SkipUntil) {
		return false, f.downs
	}
	f.probing = true
	return true, f.downs
}

type primaryResult struct {
	d   Decision
	err error
}

func (f *Fallback) callPrimary(ctx context.Context, key string, l Limit, peek bool) (Decision, error) {
	var p Peeker
	if peek {
		var ok bool
		if p, ok = f.primary.(Peeker); !ok {
			return Decision{Allowed: true, Limit: l.Rate, Remaining: l.EffectiveBurst()}, nil
		}
	}
	cctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	ch := make(chan primaryResult, 1)
	go func() {
		var r primaryResult
		if peek {
			r.d, r.err = p.Peek(cctx, key, l)
		} else {
			r.d, r.err = f.primary.Allow(cctx, key, l)
		}
		ch <- r
	}()
	select {
	case r := <-ch:
		return r.d, r.err
	case <-cctx.Done():
		return Decision{}, fmt.Errorf("ratelimit: primary limiter: %w", cctx.Err())
	}
}

func (f *Fallback) succeeded(downs uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st.PrimaryDecisions++
	if f.st.Up {
		f.st.ConsecutiveFailures = 0
		return
	}
	if downs != f.downs {
		return // a stale reply from before the primary went down
	}
	f.probing = false
	down := f.cfg.Now().Sub(f.st.DownSince)
	f.st.Up, f.st.Skipping, f.st.SkipUntil, f.st.DownSince = true, false, time.Time{}, time.Time{}
	f.st.ConsecutiveFailures = 0
	f.cfg.Logger.Info("rate_limit_backend_recovered", "down_ms", down.Milliseconds())
}

func (f *Fallback) failed(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.cfg.Now()
	f.st.PrimaryFailures++
	f.st.ConsecutiveFailures++
	f.st.LastError = err.Error()
	mode := ModeLocal
	if f.cfg.FailOpen {
		mode = ModeFailOpen
	}
	if f.st.Up {
		f.st.Up, f.st.DownSince = false, now
		f.downs++
		f.cfg.Logger.Warn("rate_limit_backend_down", "mode", mode, "error", err.Error(),
			"timeout", errors.Is(err, context.DeadlineExceeded))
	}
	if f.probing || f.st.ConsecutiveFailures >= f.cfg.MaxFailures {
		if !f.st.Skipping {
			f.cfg.Logger.Warn("rate_limit_backend_skipped", "mode", mode,
				"consecutive_failures", f.st.ConsecutiveFailures, "skip_seconds", f.cfg.SkipFor.Seconds())
		}
		f.st.Skipping, f.st.SkipUntil = true, now.Add(f.cfg.SkipFor)
		f.probing = false
	}
}

func (f *Fallback) fallback(ctx context.Context, key string, l Limit, peek bool) (Decision, error) {
	if f.cfg.FailOpen {
		if !peek {
			f.count(ModeFailOpen)
		}
		return Decision{Allowed: true, Limit: l.Rate, Remaining: l.EffectiveBurst()}, nil
	}
	if !peek {
		f.count(ModeLocal)
		return f.local.Allow(ctx, key, l)
	}
	if p, ok := f.local.(Peeker); ok {
		return p.Peek(ctx, key, l)
	}
	return Decision{Allowed: true, Limit: l.Rate, Remaining: l.EffectiveBurst()}, nil
}

func (f *Fallback) count(mode string) {
	f.mu.Lock()
	if mode == ModeFailOpen {
		f.st.FailOpenDecisions++
	} else {
		f.st.LocalDecisions++
	}
	f.mu.Unlock()
	if f.cfg.OnFallback != nil {
		f.cfg.OnFallback(mode)
	}
}
