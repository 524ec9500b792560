package agent

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"time"
)

// CallRecord describes one finished call through RecorderMiddleware or
// StatsMiddleware.
type CallRecord struct {
	Provider string // Response.Provider, or the *ProviderError's on failure
	Model    string
	Duration time.Duration
	Err      error // nil on success
	Kind     Kind  // KindOf(Err); "" on success
	Usage    Usage
	CostUSD  float64
	// Fallback is Response.Fallback: set when a fallback agent answered,
	// its Err being the primary's error.
	Fallback *Fallback
	Attempts int // Response.Attempts, or Attempts(Err)
}

// Recorder receives one record per finished call, so that metrics (calls,
// errors by kind, latency, tokens) can be kept without this package
// importing Prometheus. Implementations must be safe for concurrent use and
// must not block.
type Recorder interface {
	RecordCall(name string, c CallRecord)
}

// RecorderMiddleware reports every call of the wrapped agent, named name, to
// r: streams and structural critiques, votes and judgements too. The result
// keeps the wrapped agent's capabilities ([Wrap]).
func RecorderMiddleware(r Recorder, name string) Middleware {
	return observe(r, name, time.Now)
}

func observe(r Recorder, name string, now func() time.Time) Middleware {
	return func(next Agent) Agent {
		info, _ := InfoOf(next)
		if s, ok := r.(*Stats); ok {
			s.describe(name, info)
		}
		return Wrap(next, func(ctx context.Context, call Call) (Response, error) {
			start := now()
			resp, err := call.Next(ctx)
			c := CallRecord{
				Provider: resp.Provider,
				Model:    resp.Model,
				Duration: now().Sub(start),
				Err:      err,
				Kind:     KindOf(err),
				Usage:    resp.Usage,
				CostUSD:  resp.CostUSD,
				Fallback: resp.Fallback,
				Attempts: resp.Attempts,
			}
			if c.Provider == "" && c.Model == "" {
				c.Provider, c.Model = info.Provider, info.Model
			}
			if err != nil {
				c.Attempts = Attempts(err)
				var pe *ProviderError
				if c.Provider == "" && errors.As(err, &pe) {
					c.Provider = pe.Provider
				}
			}
			r.RecordCall(name, c)
			return resp, err
		})
	}
}

// Stats defaults (docs/http-api.md#agents).
const (
	DefaultLatencyWindow  = 15 * time.Minute
	DefaultLatencySamples = 1000
	DefaultQuotaReset     = time.Hour
)

// StatsConfig tunes Stats. The zero value is usable.
type StatsConfig struct {
	// Now is the clock for latencies, error times and quota resets; default
	// time.Now.
	Now func() time.Time
	// LatencyWindow is the age beyond which latency samples are ignored;
	// default 15 min.
	LatencyWindow time.Duration
	// LatencySamples is the number of latest samples kept per agent;
	// default 1000.
	LatencySamples int
	// QuotaReset is how long quota_remaining stays 0 after a
	// quota-exhausted error without a provider reset hint; default 1 h.
	QuotaReset time.Duration
	// OnQuotaExhausted, when set, is called when an agent's quota becomes
	// exhausted (a quota-exhausted error while none was in effect), with
	// the provider and the time quota_remaining returns; outside every
	// lock, on the caller's goroutine, so it must return quickly (the
	// agent.quota_exhausted webhook).
	OnQuotaExhausted func(agent, provider string, resetAt time.Time)
}

func (c StatsConfig) withDefaults() StatsConfig {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.LatencyWindow <= 0 {
		c.LatencyWindow = DefaultLatencyWindow
	}
	if c.LatencySamples <= 0 {
		c.LatencySamples = DefaultLatencySamples
	}
	if c.QuotaReset <= 0 {
		c.QuotaReset = DefaultQuotaReset
	}
	return c
}

// Stats keeps per-agent request counts, errors by kind, the last error,
// latency samples and quota state for GET /api/agents/status (docs/http-api.md#agents).
// It implements Recorder. It is safe for concurrent use. Create it with
// NewStats; the zero value is not usable.
type Stats struct {
	cfg    StatsConfig
	mu     sync.Mutex
	agents map[string]*agentStats
}

type sample struct {
	at time.Time
	d  time.Duration
}

type agentStats struct {
	provider     string // from agent.Describer, else the last call's
	model        string
	requests     int64
	errors       map[Kind]int64
	lastError    *LastError
	samples      []sample // ring buffer
	next         int
	quotaKnown   bool
	quota        int
	quotaResetAt time.Time // set while a quota-exhausted error is in effect
}

// NewStats returns empty Stats.
func NewStats(cfg StatsConfig) *Stats {
	return &Stats{cfg: cfg.withDefaults(), agents: make(map[string]*agentStats)}
}

// StatsMiddleware records every call of the wrapped agent in s under name,
// timing it with s's clock. Put it outermost, so that a call rescued by a
// fallback counts as a success and a call that failed after retries counts
// once. Every capability is recorded, and the result keeps the wrapped
// agent's capabilities ([Wrap]).
func StatsMiddleware(s *Stats, name string) Middleware {
	return observe(s, name, s.cfg.Now)
}

func (s *Stats) agent(name string) *agentStats {
	a, ok := s.agents[name]
	if !ok {
		a = &agentStats{errors: make(map[Kind]int64)}
		s.agents[name] = a
	}
	return a
}

// RecordCall records one call of agent name: a request, its latency, and
// on failure its error kind and message. A call rescued by a fallback
// counts the primary's error (c.Fallback.Err), as its agent_error does. A
// quota-exhausted error sets the remaining quota to 0 until the provider's
// reset hint (RetryAfter), else for QuotaReset.
func (s *Stats) RecordCall(name string, c CallRecord) {
	if resetAt, ok := s.record(name, c); ok && s.cfg.OnQuotaExhausted != nil {
		s.cfg.OnQuotaExhausted(name, c.Provider, resetAt)
	}
}

// record is RecordCall under the lock; exhausted reports a quota that has
// just become exhausted, until resetAt.
func (s *Stats) record(name string, c CallRecord) (resetAt time.Time, exhausted bool) {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.agent(name)
	a.requests++
	if a.provider == "" && a.model == "" {
		a.provider, a.model = c.Provider, c.Model
	}
	smp := sample{at: now, d: c.Duration}
	if len(a.samples) < s.cfg.LatencySamples {
		a.samples = append(a.samples, smp)
	} else {
		a.samples[a.next] = smp
		a.next = (a.next + 1) % len(a.samples)
	}
	err, kind := c.Err, c.Kind
	if err == nil && c.Fallback != nil && c.Fallback.Err != nil {
		err, kind = c.Fallback.Err, c.Fallback.Reason
	}
	if err == nil {
		return time.Time{}, false
	}
	if kind == "" {
		kind = KindOf(err)
	}
	a.errors[kind]++
	a.lastError = &LastError{Kind: kind, Message: err.Error(), At: now}
	if kind == KindQuotaExhausted {
		reset := RetryAfter(err)
		if reset <= 0 {
			reset = s.cfg.QuotaReset
		}
		exhausted = !a.quotaResetAt.After(now) // none in effect until now
		a.quotaResetAt = now.Add(reset)
		return a.quotaResetAt, exhausted
	}
	return time.Time{}, false
}

// describe records what agent name says of itself (agent.Describer).
func (s *Stats) describe(name string, info Info) {
	if info == (Info{}) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.agent(name)
	a.provider, a.model = info.Provider, info.Model
}

// QuotaReport is what a provider said about its remaining quota, from
// rate-limit headers such as x-ratelimit-remaining-requests.
type QuotaReport struct {
	// Remaining is the number of requests left in the current window.
	Remaining int
	// ResetAt is when the window resets; zero when unknown.
	ResetAt time.Time
}

// ReportQuota records the provider quota last reported for agent name. A
// positive Remaining ends a quota-exhausted period early; a Remaining of 0
// with a ResetAt starts one until ResetAt.
func (s *Stats) ReportQuota(name string, q QuotaReport) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.agent(name)
	a.quotaKnown, a.quota = true, max(q.Remaining, 0)
	switch {
	case q.Remaining > 0:
		a.quotaResetAt = time.Time{}
	case !q.ResetAt.IsZero():
		a.quotaResetAt = q.ResetAt
	}
}

// QuotaReporter returns a function that reports agent name's quota to s,
// for a provider adapter's quota callback.
func (s *Stats) QuotaReporter(name string) func(QuotaReport) {
	return func(q QuotaReport) { s.ReportQuota(name, q) }
}

// Names returns the agents seen so far, sorted.
func (s *Stats) Names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.agents))
	for n := range s.agents {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// LastError is the last error of an agent.
type LastError struct {
	Kind    Kind      `json:"kind"`
	Message string    `json:"message"`
	At      time.Time `json:"at"`
}

// Latency holds latency percentiles in milliseconds.
type Latency struct {
	P50 int64 `json:"p50"`
	P95 int64 `json:"p95"`
}

// ErrorCounts counts errors by kind. Its JSON form has "total" and one key
// per kind of Kinds, zeros included.
type ErrorCounts map[Kind]int64

// Total returns the sum of the counts.
func (e ErrorCounts) Total() int64 {
	var t int64
	for _, n := range e {
		t += n
	}
	return t
}

// MarshalJSON writes {"total":…, "timeout":…, …} with every kind present.
func (e ErrorCounts) MarshalJSON() ([]byte, error) {
	m := make(map[string]int64, len(Kinds)+1)
	for _, k := range Kinds {
		m[string(k)] = e[k]
	}
	m["total"] = e.Total()
	return json.Marshal(m)
}

// QuotaRemaining is an agent's remaining provider quota. Its JSON form is
// the number, or the string "unknown" when Known is false (docs/http-api.md#agents).
type QuotaRemaining struct {
	Value int
	Known bool
}

// MarshalJSON writes Value, or "unknown".
func (q QuotaRemaining) MarshalJSON() ([]byte, error) {
	if !q.Known {
		return []byte(`"unknown"`), nil
	}
	return json.Marshal(q.Value)
}

// StatsSnapshot is one agent's statistics, with the JSON names of
// GET /api/agents/status (docs/http-api.md#agents); the server adds the fields Stats
// cannot know (provider, model, configured, available, circuit_state,
// fallback).
type StatsSnapshot struct {
	Name string `json:"name"`
	// Provider and Model are what the agent says of itself
	// (agent.Describer, read when StatsMiddleware wrapped it), else those
	// of its first recorded call; "" when unknown. They are not in the
	// JSON form: the status endpoint takes them from the agent registry.
	Provider      string      `json:"-"`
	Model         string      `json:"-"`
	RequestsTotal int64       `json:"requests_total"`
	Errors        ErrorCounts `json:"errors"`
	LastError     *LastError  `json:"last_error"`
	// Latency is nil without samples in the window.
	Latency *Latency `json:"latency_ms"`
	// QuotaRemaining is 0 while a quota-exhausted error is in effect, else
	// the last value the provider reported, else unknown.
	QuotaRemaining QuotaRemaining `json:"quota_remaining"`
	// QuotaResetAt is when a quota-exhausted period ends; nil outside one.
	QuotaResetAt *time.Time `json:"quota_reset_at"`
}

// QuotaExhausted reports whether a quota-exhausted error is in effect.
func (s StatsSnapshot) QuotaExhausted() bool { return s.QuotaResetAt != nil }

// Snapshot returns agent name's statistics; an agent never seen has zero
// counts, no latency and an unknown quota.
func (s *Stats) Snapshot(name string) StatsSnapshot {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := StatsSnapshot{Name: name, Errors: ErrorCounts{}}
	a, ok := s.agents[name]
	if !ok {
		return out
	}
	out.Provider, out.Model = a.provider, a.model
	out.RequestsTotal = a.requests
	for k, n := range a.errors {
		out.Errors[k] = n
	}
	if a.lastError != nil {
		le := *a.lastError
		out.LastError = &le
	}
	var ds []time.Duration
	for _, smp := range a.samples {
		if now.Sub(smp.at) <= s.cfg.LatencyWindow {
			ds = append(ds, smp.d)
		}
	}
	if len(ds) > 0 {
		slices.Sort(ds)
		out.Latency = &Latency{P50: percentile(ds, 50).Milliseconds(), P95: percentile(ds, 95).Milliseconds()}
	}
	switch {
	case !a.quotaResetAt.IsZero() && now.Before(a.quotaResetAt):
		at := a.quotaResetAt
		out.QuotaResetAt = &at
		out.QuotaRemaining = QuotaRemaining{Value: 0, Known: true}
	case !a.quotaResetAt.IsZero():
		// The exhausted period is over; the old report is stale.
		a.quotaResetAt, a.quotaKnown = time.Time{}, false
	case a.quotaKnown:
		out.QuotaRemaining = QuotaRemaining{Value: a.quota, Known: true}
	}
	return out
}

// percentile returns the nearest-rank p-th percentile of sorted ds.
func percentile(ds []time.Duration, p int) time.Duration {
	rank := (p*len(ds) + 99) / 100 // ceil(p/100 · n)
	return ds[max(rank, 1)-1]
}
