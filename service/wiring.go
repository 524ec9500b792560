package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aragora/aragora/agent/diag"
	"github.com/aragora/aragora/agent/registry"
	"github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/breaker"
	"github.com/aragora/aragora/internal/tick"
	"github.com/aragora/aragora/metrics"
	"github.com/aragora/aragora/ratelimit"
	"github.com/aragora/aragora/ratelimit/redislimit"
	"github.com/aragora/aragora/server"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/redisstore"
)

// breakerView exposes the registry's circuits to the server (docs/http-api.md#agents).
type breakerView struct{ reg *registry.Registry }

// Circuits implements server.BreakerView: every circuit used so far plus
// one per configured provider agent.
func (b breakerView) Circuits() map[string]breaker.Snapshot {
	out := map[string]breaker.Snapshot{}
	for _, info := range b.reg.Known() {
		if info.Configured && info.Provider != registry.ProviderDemo {
			out[info.Name] = b.reg.Breakers().Get(info.Name).Snapshot()
		}
	}
	for name, s := range b.reg.Breakers().Snapshot() {
		out[name] = s
	}
	return out
}

// Reset implements server.BreakerView; a name the registry does not know
// is not found.
func (b breakerView) Reset(name string) (breaker.State, bool) {
	known := slices.Contains(b.reg.Breakers().Names(), name)
	for _, info := range b.reg.Known() {
		known = known || info.Name == name
	}
	if !known {
		return breaker.StateClosed, false
	}
	return b.reg.Breakers().Reset(name), true
}

// agentTestResult is the body of POST /api/debug/agent-test (docs/http-api.md#diagnostics).
type agentTestResult struct {
	Agent        string      `json:"agent"`
	Provider     string      `json:"provider"`
	Model        string      `json:"model"`
	OK           bool        `json:"ok"`
	LatencyMS    int64       `json:"latency_ms"`
	Response     string      `json:"response"`
	Tokens       diag.Tokens `json:"tokens"`
	CostUSD      float64     `json:"cost_usd"`
	CircuitState string      `json:"circuit_state"`
	Error        *diag.Error `json:"error"`
}

// agentTest runs the debug agent test straight against the provider,
// bypassing breaker and fallback (docs/http-api.md#diagnostics).
func agentTest(reg *registry.Registry, timeout time.Duration) func(context.Context, server.AgentTestRequest) (any, error) {
	return func(ctx context.Context, req server.AgentTestRequest) (any, error) {
		name, a, info, err := reg.ResolveDirect(req.Agent)
		if err != nil {
			return nil, mapAgentErr(err)
		}
		res := diag.TestAgent(ctx, a, req.Prompt, req.MaxTokens, timeout)
		out := agentTestResult{Agent: name, Provider: info.Provider, Model: info.Model, OK: res.OK, LatencyMS: res.LatencyMS,
			Response: res.Response, Tokens: res.Tokens, CostUSD: res.CostUSD, CircuitState: breaker.StateClosed.String(), Error: res.Error}
		if res.Model != "" {
			out.Model = res.Model
		}
		if slices.Contains(reg.Breakers().Names(), name) {
			out.CircuitState = reg.Breakers().Get(name).State().String()
		}
		return out, nil
	}
}

// connectivity runs the connectivity check of docs/http-api.md#diagnostics.
func connectivity(reg *registry.Registry) func(context.Context, []string) (any, error) {
	return func(ctx context.Context, providers []string) (any, error) {
		targets, err := reg.Targets(providers...)
		if err != nil {
			return nil, &server.Error{Status: http.StatusBadRequest, Code: "validation_failed", Message: err.Error(),
				Details: map[string]any{"fields": map[string]string{"providers": err.Error()}}}
		}
		rep := diag.Connectivity(ctx, targets)
		if rep.Results == nil {
			rep.Results = []diag.TargetResult{}
		}
		return rep, nil
	}
}

// agentStatus returns GET /api/agents/status as the server's []any.
func agentStatus(reg *registry.Registry) func() []any {
	return func() []any {
		st := reg.Status()
		out := make([]any, 0, len(st))
		for _, s := range st {
			out = append(out, s)
		}
		return out
	}
}

// circuitStateValue is the aragora_circuit_breaker_state value of s.
func circuitStateValue(s breaker.State) float64 {
	switch s {
	case breaker.StateHalfOpen:
		return 1
	case breaker.StateOpen:
		return 2
	}
	return 0
}

// watchCircuits logs, counts and broadcasts every circuit change (docs/http-api.md#agents).
// srv is read at each change: the listener is registered before the
// server exists.
func watchCircuits(reg *registry.Registry, m *metrics.Metrics, log *slog.Logger, srv *atomic.Pointer[server.Server]) {
	reg.Breakers().OnStateChange(func(name string, from, to breaker.State) {
		failures := reg.Breakers().Get(name).Snapshot().ConsecutiveFailures
		attrs := []any{"agent", name, "from", from.String(), "to", to.String(), "consecutive_failures", failures}
		if to == breaker.StateOpen {
			log.Warn("circuit_breaker_state_change", attrs...)
		} else {
			log.Info("circuit_breaker_state_change", attrs...)
		}
		if m != nil {
			m.CircuitState.WithLabelValues(name).Set(circuitStateValue(to))
		}
		if s := srv.Load(); s != nil {
			s.Control("circuit_state_changed", "", map[string]string{"agent": name, "from": from.String(), "to": to.String()})
		}
	})
}

// principalKey is the rate-limit key of the authenticated caller (docs/http-api.md#rate-limits),
// "" for anonymous requests, which are keyed by client IP.
func principalKey(r *http.Request) string {
	p := server.PrincipalFrom(r.Context())
	if p == nil {
		return ""
	}
	switch p.Type {
	case auth.PrincipalService:
		return "service"
	case auth.PrincipalLocal:
		return "local"
	case auth.PrincipalAPIKey:
		return "key:" + p.ID
	}
	return "user:" + p.ID
}

// rateLimits builds the HTTP rate-limit policy: in memory by default, a
// Redis GCRA behind a local fallback with RedisRateLimit.
func rateLimits(cfg ratelimit.Config, rdb redis.UniversalClient, m *metrics.Metrics, lg *logs) (*ratelimit.Policy, string, *ratelimit.Memory, error) {
	cfg.KeyFunc = principalKey
	cfg.Logger = lg.logger("aragora.ratelimit")
	if m != nil {
		cfg.OnLimited = func(class string) { m.RateLimitHits.WithLabelValues(class).Inc() }
	}
	mem := ratelimit.NewMemory(ratelimit.MemoryConfig{})
	var keyed ratelimit.Keyed = mem
	backend := "memory"
	if rdb != nil {
		fc := ratelimit.FallbackConfig{FailOpen: cfg.FailOpen, Logger: lg.logger("aragora.ratelimit")}
		if m != nil {
			fc.OnFallback = func(mode string) { m.RateLimitFallback.WithLabelValues(mode).Inc() }
		}
		keyed = ratelimit.NewFallback(redislimit.NewFromClient(rdb, redislimit.Config{}), keyed, fc)
		backend = "redis"
	}
	p, err := ratelimit.NewPolicy(keyed, cfg)
	if err != nil {
		return nil, "", nil, err
	}
	return p, backend, mem, nil
}

// redisFanout adapts redisstore to server.Fanout.
type redisFanout struct{ rs *redisstore.Store }

// Publish implements server.Fanout.
func (f redisFanout) Publish(ctx context.Context, e store.Event) error {
	return f.rs.Publish(ctx, e.DebateID, e)
}

// subscribeWait bounds how long a WebSocket waits for Redis to confirm a
// subscription before it falls back to polling the store.
const subscribeWait = 2 * time.Second

// Subscribe implements server.Fanout. ctx bounds the subscription's life;
// when Redis does not confirm within subscribeWait the call fails (the
// server then polls) and the late subscription is closed.
func (f redisFanout) Subscribe(ctx context.Context, debateID string) (<-chan store.Event, func(), error) {
	type result struct {
		sub *redisstore.Subscription
		err error
	}
	done := make(chan result, 1)
	go func() {
		sub, err := f.rs.Subscribe(ctx, debateID)
		done <- result{sub, err}
	}()
	t := time.NewTimer(subscribeWait)
	defer t.Stop()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, nil, r.err
		}
		return r.sub.C, func() { _ = r.sub.Close() }, nil
	case <-t.C:
		go func() {
			if r := <-done; r.sub != nil {
				_ = r.sub.Close()
			}
		}()
		return nil, nil, fmt.Errorf("fanout: subscribe %s: no confirmation within %s", debateID, subscribeWait)
	}
}

// runningDebates lists every running debate of the store (for the
// store-wide gauges), at most 2,000.
func runningDebates(ctx context.Context, st store.DebateStore) ([]*store.Debate, error) {
	var out []*store.Debate
	f := store.Filter{Statuses: []store.Status{store.StatusRunning}, Limit: 200}
	for page := 0; page < 10; page++ {
		ds, err := st.ListDebates(ctx, f)
		if err != nil {
			return out, err
		}
		out = append(out, ds...)
		if len(ds) < f.Limit {
			break
		}
		last := ds[len(ds)-1]
		f.Cursor = &store.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	return out, nil
}

// gauges samples the gauges Prometheus cannot compute from events:
// database and Redis reachability and the store's write probe every 10 s, the store-wide debate ages
// every 60 s (docs/operations.md#metrics).
type gauges struct {
	m          *metrics.Metrics
	be         *Backends
	rs         *redisstore.Store // nil without Redis
	staleAfter time.Duration
	now        func() time.Time
}

func (g gauges) sampleDB(ctx context.Context) {
	up, writable := 1.0, 1.0
	if p, ok := g.be.Store.(store.Pinger); ok {
		up = upWithin(ctx, 2*time.Second, p.Ping)
	}
	g.m.DBUp.WithLabelValues(g.be.Kind).Set(up)
	if wp, ok := g.be.Store.(store.WriteProber); ok {
		writable = upWithin(ctx, 2*time.Second, wp.ProbeWrite)
	}
	g.m.StoreWritable.WithLabelValues(g.be.Kind).Set(writable)
	if g.be.poolMax > 0 {
		g.m.DBPoolMax.Set(float64(g.be.poolMax))
	}
	if g.be.poolStats != nil {
		inUse, idle := g.be.poolStats()
		g.m.DBPool.WithLabelValues("in_use").Set(float64(inUse))
		g.m.DBPool.WithLabelValues("idle").Set(float64(idle))
	}
	if g.rs != nil {
		g.m.RedisUp.Set(upWithin(ctx, time.Second, g.rs.Ping))
	}
}

// upWithin runs check within limit: 1 when it succeeds, else 0.
func upWithin(ctx context.Context, limit time.Duration, check func(context.Context) error) float64 {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	if check(ctx) != nil {
		return 0
	}
	return 1
}

func (g gauges) sampleDebates(ctx context.Context) {
	ds, err := runningDebates(ctx, g.be.Store)
	if err != nil {
		return
	}
	now := g.now()
	var oldest time.Duration
	stale := 0
	for _, d := range ds {
		start := d.StartedAt
		if start.IsZero() {
			start = d.CreatedAt
		}
		oldest = max(oldest, now.Sub(start))
		if now.Sub(d.UpdatedAt) > g.staleAfter {
			stale++
		}
	}
	g.m.OldestRunning.Set(oldest.Seconds())
	g.m.DebatesStale.Set(float64(stale))
}

// run samples until ctx ends.
func (g gauges) run(ctx context.Context) {
	g.sampleDB(ctx)
	g.sampleDebates(ctx)
	tick.Both(ctx, tick.Job{Period: 10 * time.Second, Run: func() { g.sampleDB(ctx) }},
		tick.Job{Period: 60 * time.Second, Run: func() { g.sampleDebates(ctx) }})
}

// scrapeSampler refreshes the per-replica gauges at each scrape: running
// and queued debates, circuit states and known quotas.
func scrapeSampler(m *metrics.Metrics, reg *registry.Registry, srv *atomic.Pointer[server.Server], next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s := srv.Load(); s != nil {
			active, pending := s.Counts()
			m.ActiveDebates.Set(float64(active))
			m.DebatesPending.Set(float64(pending))
		}
		for _, st := range reg.Status() {
			if st.QuotaRemaining.Known {
				m.AgentQuota.WithLabelValues(st.Name).Set(float64(st.QuotaRemaining.Value))
			} else {
				m.AgentQuota.DeleteLabelValues(st.Name)
			}
		}
		for name, snap := range reg.Breakers().Snapshot() {
			m.CircuitState.WithLabelValues(name).Set(circuitStateValue(snap.State))
		}
		next.ServeHTTP(w, r)
	})
}

// migratedFlag reports readiness's "store migrated" (docs/http-api.md#health-and-metrics): at once
// with ARAGORA_AUTO_MIGRATE, else once `aragora migrate` has run, polled
// every 5 s until ctx ends.
func migratedFlag(ctx context.Context, be *Backends, auto bool) func(context.Context) bool {
	var ok atomic.Bool
	if auto || be.migrator == nil {
		ok.Store(true)
	} else {
		check := func() bool {
			ms, err := be.migrator.pending(ctx)
			return err == nil && len(ms) == 0
		}
		if check() {
			ok.Store(true)
		} else {
			go tick.Every(ctx, 5*time.Second, func() bool {
				if check() {
					ok.Store(true)
					return false
				}
				return true
			})
		}
	}
	return func(context.Context) bool { return ok.Load() }
}

// metricAgents are the agent names whose label sets metrics initialises:
// every configured agent of the registry and the default agents.
func metricAgents(reg *registry.Registry) []string {
	var out []string
	for _, info := range reg.Known() {
		if info.Configured && info.Provider != registry.ProviderDemo {
			out = append(out, info.Name)
		}
	}
	for _, spec := range reg.DefaultAgents() {
		if name, err := reg.DeriveName(spec); err == nil && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// OpenAuth builds the authentication core over the opened store, with the
// key ring encrypted under c.JWTSecret (see EnsureJWTSecret).
func OpenAuth(ctx context.Context, c Config, be *Backends) (*auth.Service, auth.Store, error) {
	as, ok := be.Store.(auth.Store)
	if !ok {
		return nil, nil, fmt.Errorf("auth: the %s store does not persist users", be.Kind)
	}
	c = c.withDefaults()
	svc, err := auth.New(ctx, as, []byte(c.JWTSecret), auth.Config{AccessTTL: c.AccessTTL, RefreshTTL: c.RefreshTTL})
	if err != nil {
		return nil, nil, err
	}
	return svc, as, nil
}

// revocationEpochKey is the Redis cache entry bumped on every revocation;
// replicas watching it reload the store's revocations within 1 s.
const revocationEpochKey = "auth:revocation_epoch"

// revocationBroadcaster caches revoked token ids in Redis and signals the
// other replicas to reload (docs/http-api.md#administration). The store stays the durable
// record: flushing Redis only triggers another reload.
type revocationBroadcaster struct {
	rs  *redisstore.Store
	svc *auth.Service
	log *slog.Logger
}

// revoked implements server.Config.Revoked.
func (b revocationBroadcaster) revoked(ctx context.Context, tokenID string, exp time.Time) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	now := time.Now()
	if tokenID != "" {
		if exp.IsZero() {
			exp = now.Add(720 * time.Hour)
		}
		if err := b.rs.Revoke(ctx, tokenID, exp, now); err != nil {
			b.log.Warn("revocation_broadcast_failed", "error", err.Error())
		}
	}
	epoch := []byte(strconv.FormatInt(now.UnixNano(), 36))
	if err := b.rs.SetCache(ctx, revocationEpochKey, epoch, 24*time.Hour); err != nil {
		b.log.Warn("revocation_broadcast_failed", "error", err.Error())
	}
}

// denied implements auth.Authenticator.Denied; a Redis error is
// not a denial (the store's deny-list still applies).
func (b revocationBroadcaster) denied(ctx context.Context, tokenID string) bool {
	ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	ok, err := b.rs.IsRevoked(ctx, tokenID)
	return err == nil && ok
}

// watch reloads revocations and the key ring whenever the epoch changes
// (including when Redis was flushed), polling every 500 ms until ctx ends.
// Its first read reloads too: a revocation made after the auth service
// loaded the store but before that read would otherwise be taken as the
// baseline and missed until the periodic reload.
func (b revocationBroadcaster) watch(ctx context.Context) {
	var last string
	first := true
	tick.Every(ctx, 500*time.Millisecond, func() bool {
		gctx, cancel := context.WithTimeout(ctx, time.Second)
		v, err := b.rs.GetCache(gctx, revocationEpochKey)
		cancel()
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return true
		}
		cur := string(v)
		if !first && cur == last {
			return true
		}
		last, first = cur, false
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := b.svc.ReloadRevocations(rctx); err != nil {
			b.log.Warn("revocation_reload_failed", "error", err.Error())
		}
		if err := b.svc.KeyRing().Reload(rctx); err != nil {
			b.log.Warn("key_ring_reload_failed", "error", err.Error())
		}
		cancel()
		return true
	})
}

// agentTestResult charges its usage to the caller (server.UsageReporter).
func (r agentTestResult) UsageRecord() store.UsageRecord {
	return store.UsageRecord{Provider: r.Provider, Model: r.Model, TokensIn: int64(r.Tokens.Input),
		TokensOut: int64(r.Tokens.Output), CostUSD: r.CostUSD}
}

// authenticator builds serve's request authenticator (JWTs, API keys, the
// service token, the local operator) and, when Redis is configured, the
// revocation broadcaster that feeds it; the caller runs the broadcaster's
// watch until shutdown.
func authenticator(c Config, svc *auth.Service, rs *redisstore.Store, log *slog.Logger) (*auth.Authenticator, *revocationBroadcaster) {
	authn := &auth.Authenticator{Service: svc, ServiceToken: c.APIToken, LocalAdmin: c.LocalAdmin}
	if rs == nil {
		return authn, nil
	}
	b := &revocationBroadcaster{rs: rs, svc: svc, log: log}
	authn.Denied = b.denied
	return authn, b
}
