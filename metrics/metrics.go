// Package metrics exposes Aragora's Prometheus metrics (docs/operations.md#metrics) on a
// private registry: the Go and process collectors, build info, HTTP,
// debate, agent, circuit-breaker, WebSocket and webhook series. It is the only
// non-cmd package importing client_golang; the server receives its handler
// as a plain http.Handler.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/consensus"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/memory"
	"github.com/aragora/aragora/ratelimit"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/webhook"
)

// MemoryTiers are the continuum memory tiers (label domain of
// aragora_memory_entries).
var MemoryTiers = names(memory.Tiers)

// names returns the names of a closed set, as label values.
func names[T ~string](set []T) []string {
	out := make([]string, len(set))
	for i, v := range set {
		out[i] = string(v)
	}
	return out
}

// SetMemoryEntries sets aragora_memory_entries from per-tier counts.
func (m *Metrics) SetMemoryEntries(counts map[string]int) {
	for _, t := range MemoryTiers {
		m.MemoryEntries.WithLabelValues(t).Set(float64(counts[t]))
	}
}

// ObserveMemoryTransition counts one tier transition.
func (m *Metrics) ObserveMemoryTransition(from, to string) {
	m.MemoryTransitions.WithLabelValues(from, to).Inc()
}

// Config describes the process for build info and pre-initialised labels.
// The zero value is usable.
type Config struct {
	Version, Commit, GoVersion string
	Agents                     []string // configured agent names
	WSMaxConnections           int
	// Redis registers aragora_redis_up; without Redis the series is absent
	// (docs/operations.md#metrics).
	Redis bool
	// DBBackend ("sqlite" or "postgres") pre-initialises aragora_db_up.
	DBBackend string
	// WebhookQueueCapacity is ARAGORA_WEBHOOK_QUEUE_SIZE, the initial
	// aragora_webhook_queue_capacity.
	WebhookQueueCapacity int
}

// Metrics holds every collector. It is safe for concurrent use; create it
// with New. The exported collectors are for the binary's wiring (gauges it
// samples, such as aragora_db_up); record through the methods where one
// exists.
type Metrics struct {
	nomic *nomicCollector

	HTTPRequests      *prometheus.CounterVec
	HTTPDuration      *prometheus.HistogramVec
	DebatesTotal      *prometheus.CounterVec
	ActiveDebates     prometheus.Gauge
	DebatesPending    prometheus.Gauge
	ConsensusReached  *prometheus.CounterVec
	DebateDuration    *prometheus.HistogramVec
	DebateRounds      *prometheus.HistogramVec
	OldestRunning     prometheus.Gauge
	DebatesStale      prometheus.Gauge
	AgentResponse     *prometheus.HistogramVec
	AgentRequests     *prometheus.CounterVec
	AgentErrors       *prometheus.CounterVec
	AgentTokens       *prometheus.CounterVec
	AgentCost         *prometheus.CounterVec
	AgentQuota        *prometheus.GaugeVec
	AgentFallbacks    *prometheus.CounterVec
	CircuitState      *prometheus.GaugeVec
	WSConnections     prometheus.Gauge
	WSMaxConnections  prometheus.Gauge
	WSErrors          *prometheus.CounterVec
	WSMessagesSent    prometheus.Counter
	WSDropped         prometheus.Counter
	RateLimitHits     *prometheus.CounterVec
	RateLimitFallback *prometheus.CounterVec
	AuthFailures      *prometheus.CounterVec
	RedisUp           prometheus.Gauge // registered only with Config.Redis
	DBUp              *prometheus.GaugeVec
	StoreWritable     *prometheus.GaugeVec
	DBPool            *prometheus.GaugeVec
	DBPoolMax         prometheus.Gauge
	// Webhook outbox gauges (store-wide, sampled with SetWebhookQueue)
	// and the delivery outcomes (ObserveWebhook).
	WebhookQueueSize      prometheus.Gauge
	WebhookQueueCapacity  prometheus.Gauge
	WebhookQueueOldestAge prometheus.Gauge
	WebhookDeadLetter     prometheus.Gauge
	WebhookDeliveries     *prometheus.CounterVec
	// OrchestratorOverhead is each round's wall time minus the sum over its
	// phases of each phase's slowest agent call: the orchestration cost.
	OrchestratorOverhead prometheus.Histogram
	// Continuum memory (docs/memory.md): entries per tier (store-wide,
	// sampled with SetMemoryEntries), retrievals and tier transitions of
	// this replica (ObserveMemoryTransition).
	MemoryEntries     *prometheus.GaugeVec
	MemoryRetrievals  prometheus.Counter
	MemoryTransitions *prometheus.CounterVec

	mu     sync.Mutex
	starts map[string]string // debate id → consensus method
}

// NewRegistry returns a registry holding the Go runtime and process
// collectors (go_*, process_*), as /metrics exposes them: pass it to New
// and serve it with Handler.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// New registers every aragora_* metric on reg, as client_golang's own
// collectors take a Registerer; it panics when one is already registered
// there (prometheus.Registerer.MustRegister). NewRegistry gives the
// registry /metrics serves.
func New(reg prometheus.Registerer, cfg Config) *Metrics {
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m := &Metrics{starts: map[string]string{}, nomic: newNomicCollector()}
	f(m.nomic)
	bi := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "aragora_build_info", Help: "Build information; always 1."}, []string{"version", "commit", "go_version"})
	f(bi)
	bi.WithLabelValues(cfg.Version, cfg.Commit, cfg.GoVersion).Set(1)
	httpBuckets := []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	agentBuckets := []float64{.1, .25, .5, 1, 2.5, 5, 10, 20, 30, 60, 120}
	debateBuckets := []float64{5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600}
	m.HTTPRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aragora_http_requests_total", Help: "HTTP requests."}, []string{"method", "route", "code"})
	m.HTTPDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "aragora_http_request_duration_seconds", Help: "Request latency.", Buckets: httpBuckets}, []string{"method", "route"})
	m.DebatesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aragora_debates_total", Help: "Debates that reached a final status."}, []string{"status"})
	m.ActiveDebates = prometheus.NewGauge(prometheus.GaugeOpts{Name: "aragora_active_debates", Help: "Debates running on this replica."})
	m.DebatesPending = prometheus.NewGauge(prometheus.GaugeOpts{Name: "aragora_debates_pending", Help: "Debates queued on this replica."})
	m.ConsensusReached = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aragora_consensus_reached_total", Help: "Debates ending in consensus."}, []string{"method"})
	m.DebateDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "aragora_debate_duration_seconds", Help: "Debate start to finish.", Buckets: debateBuckets}, []string{"status"})
	m.DebateRounds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "aragora_debate_rounds", Help: "Rounds used.", Buckets: prometheus.LinearBuckets(1, 1, 12)}, []string{"status"})
	m.OldestRunning = prometheus.NewGauge(prometheus.GaugeOpts{Name: "aragora_debate_oldest_running_seconds", Help: "Age of the oldest running debate."})
	m.DebatesStale = prometheus.NewGauge(prometheus.GaugeOpts{Name: "aragora_debates_stale", Help: "Running debates with a stale heartbeat."})
	m.AgentResponse = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "aragora_agent_response_seconds", Help: "Agent call latency.", Buckets: agentBuckets}, []string{"agent", "phase"})
	m.AgentRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aragora_agent_requests_total", Help: "Agent calls."}, []string{"agent", "outcome"})
	m.AgentErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aragora_agent_errors_total", Help: "Agent errors by kind."}, []string{"agent", "kind"})
	m.AgentTokens = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aragora_agent_tokens_total", Help: "Tokens."}, []string{"agent", "direction"})
	m.AgentCost = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aragora_agent_cost_usd_total", Help: "Spend in USD."}, []string{"agent"})
	m.AgentQuota = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "aragora_agent_quota_remaining", Help: "Remaining provider quota while known."}, []string{"agent"})
	m.AgentFallbacks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aragora_agent_fallbacks_total", Help: "OpenRouter fallbacks."}, []string{"agent"})
	m.CircuitState = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "aragora_circuit_breaker_state", Help: "0 closed, 1 half-open, 2 open."}, []string{"agent"})
	m.WSConnections = prometheus.NewGauge(prometheus.GaugeOpts{Name: "aragora_websocket_connections", Help: "Current WebSocket connections."})
	m.WSMaxConnections = prometheus.NewGauge(prometheus.GaugeOpts{Name: "aragora_websocket_max_connections", Help: "WebSocket connection cap."})
	m.WSErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aragora_ws_connection_errors_total", Help: "WebSocket connection errors."}, []string{"reason"})
	m.WSMessagesSent = prometheus.NewCounter(prometheus.CounterOpts{Name: "aragora_ws_messages_sent_total", Help: "Frames sent."})
	m.WSDropped = prometheus.NewCounter(prometheus.CounterOpts{Name: "aragora_ws_dropped_clients_total", Help: "Slow consumers closed."})
	m.RateLimitHits = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aragora_rate_limit_hits_total", Help: "429 responses."}, []string{"route_class"})
	m.RateLimitFallback = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aragora_rate_limit_fallback_total", Help: "Redis limiter failures."}, []string{"mode"})
	m.AuthFailures = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aragora_auth_failures_total", Help: "Failed authentications."}, []string{"reason"})
	m.RedisUp = prometheus.NewGauge(prometheus.GaugeOpts{Name: "aragora_redis_up", Help: "Redis reachable (1/0)."})
	m.DBUp = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "aragora_db_up", Help: "Database reachable (1/0)."}, []string{"backend"})
	m.StoreWritable = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "aragora_store_writable", Help: "The store passed its last write probe (1/0)."}, []string{"backend"})
	m.DBPool = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "aragora_db_pool_connections", Help: "Pool connections."}, []string{"state"})
	m.DBPoolMax = prometheus.NewGauge(prometheus.GaugeOpts{Name: "aragora_db_pool_max_connections", Help: "Pool size cap."})
	m.WebhookQueueSize = prometheus.NewGauge(prometheus.GaugeOpts{Name: "aragora_webhook_queue_size", Help: "Webhook deliveries not yet delivered nor dead-lettered (store-wide)."})
	m.WebhookQueueCapacity = prometheus.NewGauge(prometheus.GaugeOpts{Name: "aragora_webhook_queue_capacity", Help: "ARAGORA_WEBHOOK_QUEUE_SIZE."})
	m.WebhookQueueOldestAge = prometheus.NewGauge(prometheus.GaugeOpts{Name: "aragora_webhook_queue_oldest_age_seconds", Help: "Age of the oldest queued webhook delivery."})
	m.WebhookDeadLetter = prometheus.NewGauge(prometheus.GaugeOpts{Name: "aragora_webhook_dead_letter_size", Help: "Dead-lettered webhook deliveries (store-wide)."})
	m.WebhookDeliveries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aragora_webhook_deliveries_total", Help: "Webhook delivery outcomes."}, []string{"outcome"})
	m.OrchestratorOverhead = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "aragora_orchestrator_overhead_seconds",
		Help:    "Per round: wall time minus the sum over its phases of each phase's slowest agent call.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}})
	m.MemoryEntries = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "aragora_memory_entries", Help: "Continuum memory entries per tier (store-wide)."}, []string{"tier"})
	m.MemoryRetrievals = prometheus.NewCounter(prometheus.CounterOpts{Name: "aragora_memory_retrievals_total", Help: "Continuum memory retrievals."})
	m.MemoryTransitions = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aragora_memory_tier_transitions_total", Help: "Continuum memory tier transitions (to forgotten: deletions)."}, []string{"from", "to"})
	for _, c := range []prometheus.Collector{m.HTTPRequests, m.HTTPDuration, m.DebatesTotal, m.ActiveDebates, m.DebatesPending,
		m.ConsensusReached, m.DebateDuration, m.DebateRounds, m.OldestRunning, m.DebatesStale, m.AgentResponse, m.AgentRequests,
		m.AgentErrors, m.AgentTokens, m.AgentCost, m.AgentQuota, m.AgentFallbacks, m.CircuitState, m.WSConnections,
		m.WSMaxConnections, m.WSErrors, m.WSMessagesSent, m.WSDropped, m.RateLimitHits, m.RateLimitFallback, m.AuthFailures,
		m.DBUp, m.StoreWritable, m.DBPool, m.DBPoolMax, m.OrchestratorOverhead, m.WebhookQueueSize, m.WebhookQueueCapacity, m.WebhookQueueOldestAge,
		m.WebhookDeadLetter, m.WebhookDeliveries, m.MemoryEntries, m.MemoryRetrievals, m.MemoryTransitions} {
		f(c)
	}
	if cfg.Redis {
		f(m.RedisUp)
	}
	for _, t := range MemoryTiers {
		m.MemoryEntries.WithLabelValues(t)
	}
	if cfg.DBBackend != "" {
		m.DBUp.WithLabelValues(cfg.DBBackend)
		m.StoreWritable.WithLabelValues(cfg.DBBackend)
	}
	for _, st := range []string{"in_use", "idle"} {
		m.DBPool.WithLabelValues(st)
	}
	for _, s := range store.TerminalStatuses {
		m.DebatesTotal.WithLabelValues(s.String())
	}
	for _, meth := range consensus.MethodNames {
		m.ConsensusReached.WithLabelValues(meth.String())
	}
	for _, a := range cfg.Agents {
		for _, p := range agent.Phases {
			m.AgentResponse.WithLabelValues(a, string(p))
		}
		for _, o := range []string{"success", "error"} {
			m.AgentRequests.WithLabelValues(a, o)
		}
		for _, k := range agent.Kinds {
			m.AgentErrors.WithLabelValues(a, string(k))
		}
		for _, d := range []string{"input", "output"} {
			m.AgentTokens.WithLabelValues(a, d)
		}
		m.AgentCost.WithLabelValues(a)
		m.AgentFallbacks.WithLabelValues(a)
		m.CircuitState.WithLabelValues(a)
	}
	for _, rc := range ratelimit.Classes {
		m.RateLimitHits.WithLabelValues(string(rc))
	}
	for _, mode := range []string{"local", "fail_open"} {
		m.RateLimitFallback.WithLabelValues(mode)
	}
	for _, r := range []string{"unauthorized", "token_expired", "token_revoked", "invalid_credentials", "rate_limited", "bootstrap_token"} {
		m.AuthFailures.WithLabelValues(r) // the reasons server reports (auth.CodeOf codes)
	}
	for _, r := range []string{"origin", "per_ip_cap", "capacity", "auth", "ping_timeout", "write_error", "protocol"} {
		m.WSErrors.WithLabelValues(r)
	}
	for _, o := range WebhookOutcomes {
		m.WebhookDeliveries.WithLabelValues(o)
	}
	m.WebhookQueueCapacity.Set(float64(cfg.WebhookQueueCapacity))
	m.WSMaxConnections.Set(float64(cfg.WSMaxConnections))
	return m
}

// WebhookOutcomes are the outcome labels of aragora_webhook_deliveries_total.
var WebhookOutcomes = []string{string(webhook.OutcomeSuccess), string(webhook.OutcomeRetry),
	string(webhook.OutcomeDeadLetter), string(webhook.OutcomeOverflow)}

// ObserveWebhook counts one webhook delivery outcome (one of
// WebhookOutcomes; others are ignored).
func (m *Metrics) ObserveWebhook(outcome string) {
	for _, o := range WebhookOutcomes {
		if o == outcome {
			m.WebhookDeliveries.WithLabelValues(o).Inc()
			return
		}
	}
}

// SetWebhookQueue sets the store-wide outbox gauges.
func (m *Metrics) SetWebhookQueue(size, capacity int, oldestAge time.Duration, deadLetter int) {
	m.WebhookQueueSize.Set(float64(size))
	m.WebhookQueueCapacity.Set(float64(capacity))
	m.WebhookQueueOldestAge.Set(oldestAge.Seconds())
	m.WebhookDeadLetter.Set(float64(deadLetter))
}

// ObserveRound records a round's orchestration overhead (debate.Config.OnRound).
func (m *Metrics) ObserveRound(rt debate.RoundTiming) {
	m.OrchestratorOverhead.Observe(rt.Overhead.Seconds())
}

// Handler serves the exposition of g (the Prometheus text format),
// such as the registry of NewRegistry.
func Handler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}

// ObserveRequest records one HTTP request.
func (m *Metrics) ObserveRequest(method, route string, status int, d time.Duration) {
	m.HTTPRequests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.HTTPDuration.WithLabelValues(method, route).Observe(d.Seconds())
}

// Observer returns a debate.Observer that counts debates, their duration,
// rounds and consensus from the event stream. Agent calls are counted by
// AgentMiddleware, which sees every call (critiques, votes and judgements
// included), not only those the events time.
func (m *Metrics) Observer() debate.Observer { return debate.ObserverFunc(m.onEvent) }

func (m *Metrics) onEvent(e debate.Event) {
	if e.Replayed {
		return
	}
	switch d := e.Data.(type) {
	case debate.DebateStartData:
		m.mu.Lock()
		m.starts[e.DebateID] = d.Consensus.Method.String()
		m.mu.Unlock()
	case debate.DebateEndData:
		m.DebatesTotal.WithLabelValues(d.Status.String()).Inc()
		m.DebateDuration.WithLabelValues(d.Status.String()).Observe(d.DurationSeconds)
		m.DebateRounds.WithLabelValues(d.Status.String()).Observe(float64(d.RoundsUsed))
		m.mu.Lock()
		method := m.starts[e.DebateID]
		delete(m.starts, e.DebateID)
		m.mu.Unlock()
		if d.Status == store.StatusConsensusReached && method != "" {
			m.ConsensusReached.WithLabelValues(method).Inc()
		}
	}
}

// WS adapts the WebSocket gauges and counters to server.WSObserver.
type WS struct{ M *Metrics }

// Connections sets the connection gauge.
func (w WS) Connections(n int) { w.M.WSConnections.Set(float64(n)) }

// ConnectionError counts a connection error by reason.
func (w WS) ConnectionError(reason string) { w.M.WSErrors.WithLabelValues(reason).Inc() }

// MessageSent counts a frame.
func (w WS) MessageSent() { w.M.WSMessagesSent.Inc() }

// DroppedClient counts a slow consumer.
func (w WS) DroppedClient() { w.M.WSDropped.Inc() }
