package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/breaker"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/lifecycle"
	"github.com/aragora/aragora/nomic"
	"github.com/aragora/aragora/ratelimit"
	"github.com/aragora/aragora/store"
)

// BreakerView exposes the agent circuit breakers (docs/http-api.md#agents).
type BreakerView interface {
	// Circuits returns every breaker keyed by agent name.
	Circuits() map[string]breaker.Snapshot
	// Reset replaces name's breaker with a closed one and returns its
	// previous state; ok is false for an unknown agent.
	Reset(name string) (previous breaker.State, ok bool)
}

// Fanout publishes a debate's durable events to every replica and
// delivers those of debates other replicas run (docs/websocket.md#resume). cmd adapts
// store/redisstore to it. Implementations must be safe for concurrent use.
type Fanout interface {
	// Publish sends e to the subscribers of its debate on every replica.
	// Events of one debate are published one after another, in seq order.
	Publish(ctx context.Context, e store.Event) error
	// Subscribe delivers debateID's events published from now on until
	// ctx ends or cancel is called; the channel is closed then. Delivery
	// is at most once: the server fills gaps from the store by seq.
	Subscribe(ctx context.Context, debateID string) (events <-chan store.Event, cancel func(), err error)
}

// RateLimiter is the HTTP rate limiter of the API (docs/http-api.md#rate-limits).
// *ratelimit.Policy implements it; the class of each route is the one the
// route table gives it.
type RateLimiter interface {
	// Handler limits next, a route of class.
	Handler(class ratelimit.Class, next http.Handler) http.Handler
	// Status is the body of GET /api/rate-limits/status for r's caller.
	Status(r *http.Request) ratelimit.StatusSnapshot
	// ConfigSnapshot is the body of GET /api/rate-limits/config.
	ConfigSnapshot() ratelimit.ConfigSnapshot
	// SystemSnapshot is the body of GET /api/system/rate-limits.
	SystemSnapshot() ratelimit.SystemSnapshot
	// SetEmergency switches emergency mode at run time and returns the
	// previous state (POST /api/admin/rate-limits/emergency).
	SetEmergency(on bool) (previous bool)
}

var _ RateLimiter = (*ratelimit.Policy)(nil)

// Config tunes a Server. The zero value works: development mode, nobody
// authenticated, ten concurrent debates, metrics off.
type Config struct {
	Version string // reported by /api/health; default "0.0.0"
	Env     string // development (default), staging or production

	// Auth authenticates requests; default an auth.Authenticator that
	// accepts no credential (every header-less request is anonymous).
	Auth Authenticator
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// OriginPatterns are the browser origins (host patterns as
	// websocket.AcceptOptions takes them) allowed besides the request's own host.
	OriginPatterns []string

	MaxBodyBytes int64 // default 1 MiB

	// Lifecycle tunes how debates are run: defaults, limits, leases,
	// receipts, the debate logger (aragora.debate.orchestrator). The server
	// adds its own observers (the WebSocket hub, the fan-out) and its
	// finished hook to it.
	Lifecycle lifecycle.Config

	// WebSocket.
	WSMaxConnections int           // default 1000
	WSMaxPerIP       int           // default 20
	WSSendBuffer     int           // default 256
	WSHeartbeat      time.Duration // default 15s
	WSListenerUp     func() bool   // reports the WS listener serving; nil: true

	// Fanout carries durable debate events between replicas (Redis
	// pub/sub, docs/websocket.md#resume); nil: a replica not running a debate polls
	// the store every 500 ms for its events.
	Fanout Fanout

	// Routes are extra API routes (see Route).
	Routes []Route

	// Operations seams; nil means empty answers.
	Redis        store.Pinger // nil: redis "disabled"
	Migrated     func(ctx context.Context) bool
	Breakers     BreakerView
	AgentStatus  func() []any
	AgentTest    func(ctx context.Context, req AgentTestRequest) (any, error)
	Connectivity func(ctx context.Context, providers []string) (any, error)
	// RateLimiter limits every API route of a limited class and serves
	// the rate-limit views and the emergency switch
	// (docs/http-api.md#rate-limits); nil: nothing is limited, the views
	// report a disabled limiter and the emergency switch is not served.
	RateLimiter RateLimiter
	// MetricsHandler serves /metrics and /api/metrics; nil: 404.
	MetricsHandler http.Handler
	// RequestObserver records each request for metrics.
	RequestObserver func(method, route string, status int, d time.Duration)
	// OnRoute, when set, is told each request's route pattern as soon as
	// it is resolved ("POST /api/debates"; "" when no route matches), with
	// the request's context: tracing names the request's span after it.
	OnRoute func(ctx context.Context, pattern string)
	// AuthFailed counts authentication failures by reason.
	AuthFailed func(reason string)
	// WSObserver receives WebSocket metrics events.
	WSObserver WSObserver

	// Accounts is the authentication core behind /api/auth, the admin
	// token controls and the audit log (docs/http-api.md#accounts, docs/http-api.md#administration); nil: those routes
	// answer 404 not_found. Its store also serves users, API keys and
	// the audit log, through AccountStore.
	Accounts *auth.Service
	// AccountStore is the store Accounts persists to; nil: s.st when it
	// implements auth.Store. Audit entries go to it.
	AccountStore auth.Store
	// Usage records and aggregates token usage for /api/billing/usage;
	// nil: the debate store when it implements store.UsageStore.
	Usage store.UsageStore
	// Bootstrap is the one-time token that registers the first user.
	Bootstrap *auth.Bootstrap
	// OpenRegistration is ARAGORA_OPEN_REGISTRATION.
	OpenRegistration bool
	// Revoked is told about every revocation made through this server
	// (a token id deny-listed with its expiry, or "" after a token
	// version, generation or key-ring change) so that cmd can broadcast
	// it to the other replicas (Redis).
	Revoked func(ctx context.Context, tokenID string, expiresAt time.Time)
	// CleanupRateLimits drops idle rate-limit buckets and returns how
	// many (POST /api/admin/cleanup-caches); nil: 0.
	CleanupRateLimits func() int
	// SystemBreakers returns breakers beyond the agents' (webhooks,
	// Redis) keyed "kind:name"; nil: none.
	SystemBreakers func() map[string]breaker.Snapshot
	// Webhooks serves /api/webhooks (docs/webhooks.md); nil: no such
	// routes (404).
	Webhooks Webhooks
	// Memory serves /api/memory (docs/memory.md); nil: no such routes.
	Memory Memory
	// Nomic serves /api/nomic/metrics and /api/admin/nomic/* from the
	// loop's state in the store (docs/nomic.md); nil: no such routes (404).
	Nomic *nomic.Control

	MemoryProfiling bool   // enables /api/debug/memory-dump
	MemoryDumpPath  string // default /tmp/aragora_memory_dump.json

	// Receipts renders stored receipts as markdown or html; nil: the
	// exports of docs/receipts.md, rendered from the stored JSON, so every
	// finished debate has them whichever process ran it.
	Receipts ReceiptRenderer

	// Loggers; nil means discard. API gets aragora.api records, Auth
	// aragora.auth, WS aragora.websocket.
	Logger     *slog.Logger
	AuthLogger *slog.Logger
	WSLogger   *slog.Logger

	Now func() time.Time // default time.Now
}

func (c Config) production() bool { return c.Env == "production" || c.Env == "staging" }

func (c Config) withDefaults() Config {
	if c.Version == "" {
		c.Version = "0.0.0"
	}
	if c.Env == "" {
		c.Env = "development"
	}
	if c.Auth == nil {
		c.Auth = &auth.Authenticator{}
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Receipts == nil {
		c.Receipts = receiptExports{}
	}
	if c.WSMaxConnections <= 0 {
		c.WSMaxConnections = 1000
	}
	if c.WSMaxPerIP <= 0 {
		c.WSMaxPerIP = 20
	}
	if c.WSSendBuffer <= 0 {
		c.WSSendBuffer = 256
	}
	if c.WSHeartbeat <= 0 {
		c.WSHeartbeat = 15 * time.Second
	}
	if c.MemoryDumpPath == "" {
		c.MemoryDumpPath = "/tmp/aragora_memory_dump.json"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports contradictory settings.
func (c Config) Validate() error {
	for _, r := range c.Routes {
		if r.Handler == nil || r.Pattern == "" {
			return fmt.Errorf("server: route %q: a pattern and a handler are required", r.Pattern)
		}
		if r.Role != auth.Public && !r.Role.Valid() {
			return fmt.Errorf("server: route %q: role %q: want public, viewer, member, admin or owner", r.Pattern, r.Role)
		}
	}
	switch c.Env {
	case "", "development", "staging", "production":
	default:
		return fmt.Errorf("server: unknown env %q (want development, staging or production)", c.Env)
	}
	if t := c.Lifecycle.Defaults.ConsensusThreshold; t < 0 || t > 1 {
		return fmt.Errorf("server: consensus threshold %v out of range (0, 1]", t)
	}
	return nil
}

func discard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return l
}

// Server is the Aragora API. It is safe for concurrent use. Create it with
// New; it starts background goroutines (debate workers, the sweeper,
// WebSocket heartbeats) that Shutdown stops.
type Server struct {
	cfg  Config
	st   store.DebateStore
	lc   *lifecycle.Manager
	auth Authenticator

	log, authLog, wsLog, debLog *slog.Logger

	api, ws *http.ServeMux
	apiH    http.Handler
	wsH     http.Handler

	started  time.Time
	draining atomic.Bool
	hub      *hub
	health   *healthCache
	probe    *probeCache
	dumping  atomic.Bool
	idem     idemTable
	roles    auth.RouteTable
	accounts *auth.Service
	errs     *errorRing
	bg       context.CancelFunc
	bgDone   chan struct{}
}

// New returns the server of the debates in st, resolving agents with
// agents. The caller owns the listeners: serve Handler on the API port and
// WSHandler on the WebSocket port. Call Start to begin the sweeper, and
// Shutdown to drain.
func New(st store.DebateStore, agents lifecycle.Agents, cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if st == nil {
		return nil, fmt.Errorf("server: a store is required")
	}
	cfg = cfg.withDefaults()
	s := &Server{
		cfg: cfg, st: st, auth: cfg.Auth,
		log: discard(cfg.Logger), authLog: discard(cfg.AuthLogger), wsLog: discard(cfg.WSLogger),
		debLog: discard(cfg.Lifecycle.Logger), api: http.NewServeMux(), ws: http.NewServeMux(),
		started: cfg.Now(), bgDone: make(chan struct{}), idem: idemTable{m: map[string]*idemRecord{}},
	}
	s.hub = newHub(s)
	s.health = &healthCache{}
	s.probe = &probeCache{}
	s.errs = newErrorRing(errorRingSize)
	lc := cfg.Lifecycle
	if lc.Now == nil {
		lc.Now = cfg.Now
	}
	lc.Observers = append(append([]debate.Observer(nil), lc.Observers...), hubObserver{s: s})
	if cfg.Fanout != nil {
		lc.Observers = append(lc.Observers, fanoutObserver{f: cfg.Fanout, log: s.wsLog})
	}
	onFinished := lc.OnFinished
	lc.OnFinished = func(d *store.Debate) {
		s.hub.settle(d.ID, d.LastSeq)
		s.hub.control("debate_finished", d.ID, s.lc.Object(d, false))
		if onFinished != nil {
			onFinished(d)
		}
	}
	m, err := lifecycle.New(st, agents, lc)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.lc = m
	s.accounts = cfg.Accounts
	if err := s.routes(); err != nil {
		return nil, err
	}
	s.apiH = s.wrap("api", s.api)
	s.wsH = s.wrap("ws", s.ws)
	return s, nil
}

func (s *Server) now() time.Time { return s.cfg.Now() }

// Lifecycle returns the manager that runs this server's debates.
func (s *Server) Lifecycle() *lifecycle.Manager { return s.lc }

// agentTimeout bounds the debug agent test: the lifecycle's agent
// timeout, default 60 s.
func (s *Server) agentTimeout() time.Duration {
	if t := s.cfg.Lifecycle.AgentTimeout; t > 0 {
		return t
	}
	return 60 * time.Second
}

// Handler returns the API listener's handler.
func (s *Server) Handler() http.Handler { return s.apiH }

// WSHandler returns the WebSocket listener's handler.
func (s *Server) WSHandler() http.Handler { return s.wsH }

// ServeHTTP serves the API listener's routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.apiH.ServeHTTP(w, r) }

// Draining reports whether Drain has been called.
func (s *Server) Draining() bool { return s.draining.Load() }

// Drain turns readiness to 503 draining; new debates are stored pending for
// the next process or a peer (docs/operations.md#stop-drain-and-restart step 1).
func (s *Server) Drain() {
	s.draining.Store(true)
	s.lc.Drain()
}

func (s *Server) limited(class ratelimit.Class, h http.Handler) http.Handler {
	if s.cfg.RateLimiter == nil || class == ratelimit.ClassExempt {
		return h
	}
	return s.cfg.RateLimiter.Handler(class, h)
}

// Route is an API route an embedding program adds (Config.Routes): it is
// served like the built-in ones, with the correlation id, the request log
// line and metrics, authentication, the role check and the rate limit of
// its class.
type Route struct {
	// Pattern is an http.ServeMux pattern with a method: "GET /api/hello".
	// It must not conflict with a built-in route.
	Pattern string
	// Role is the lowest role allowed, or auth.Public.
	Role auth.Role
	// Class is the rate-limit class: ratelimit.ClassGeneral,
	// ClassDebateCreate, ClassAuth, or ClassExempt ("") for none.
	Class ratelimit.Class
	// Handler serves the route. PrincipalFrom and CorrelationID read the
	// caller and the correlation id from the request's context.
	Handler http.Handler
}

// route is one API route: its pattern, lowest role ([auth.Public] for
// public routes), rate-limit class and handler.
type route struct {
	pattern string
	role    auth.Role
	class   ratelimit.Class
	h       http.HandlerFunc
}

// apiRoutes lists every route of the API listener; its roles are the one
// role table of docs/http-api.md#authentication, docs/http-api.md#roles, docs/http-api.md#debates, docs/http-api.md#accounts, docs/http-api.md#administration,
// and its classes the one route-class table of docs/http-api.md#rate-limits.
func (s *Server) apiRoutes() []route {
	const (
		pub    = auth.Public
		viewer = auth.RoleViewer
		member = auth.RoleMember
		admin  = auth.RoleAdmin
		// Route classes; exempt routes (health, metrics, WebSocket
		// upgrades) are never limited.
		exempt   = ratelimit.ClassExempt
		general  = ratelimit.ClassGeneral
		creating = ratelimit.ClassDebateCreate
		authn    = ratelimit.ClassAuth
	)
	rs := []route{
		// Health and metrics (docs/http-api.md#health-and-metrics): public, never rate limited.
		{"GET /api/health", pub, exempt, s.handleHealth},
		{"GET /healthz", pub, exempt, s.handleHealth},
		{"GET /api/health/ready", pub, exempt, s.handleReady},
		{"GET /readyz", pub, exempt, s.handleReady},
		{"GET /livez", pub, exempt, s.handleLive},
		{"GET /api/openapi.json", pub, general, s.handleOpenAPI},

		// Debates (docs/http-api.md#debates).
		{"POST /api/debates", member, creating, s.handleCreate},
		{"GET /api/debates", viewer, general, s.handleList},
		{"GET /api/debates/{id}", viewer, general, s.handleGet},
		{"GET /api/debates/{id}/events", viewer, general, s.handleEvents},
		{"GET /api/debates/{id}/receipt", viewer, general, s.handleReceipt},
		{"GET /api/receipts/public-key", pub, general, s.handleReceiptPublicKey},
		{"POST /api/debates/{id}/cancel", member, general, s.handleCancel},

		// Agents, diagnostics and operational views (docs/http-api.md#agents).
		{"GET /api/agents/status", pub, general, s.handleAgentStatus},
		{"GET /api/agents/circuit-breakers", pub, general, s.handleBreakers},
		{"POST /api/agents/{name}/reset-circuit", admin, general, s.handleResetCircuit},
		{"POST /api/debug/agent-test", admin, general, s.handleAgentTest},
		{"POST /api/debug/connectivity-check", admin, general, s.handleConnectivity},
		{"GET /api/ws/stats", pub, general, s.handleWSStats},
		{"GET /api/rate-limits/status", pub, general, s.handleRateLimitStatus},
		{"GET /api/rate-limits/config", pub, general, s.handleRateLimitConfig},

		// Authentication, accounts and usage (docs/http-api.md#accounts).
		{"POST /api/auth/register", pub, authn, s.handleRegister},
		{"POST /api/auth/login", pub, authn, s.handleLogin},
		{"POST /api/auth/refresh", pub, authn, s.handleRefresh},
		{"POST /api/auth/logout", viewer, general, s.handleLogout},
		{"GET /api/auth/me", viewer, general, s.handleMe},
		{"POST /api/auth/password", viewer, general, s.handlePassword},
		{"POST /api/auth/api-key", viewer, general, s.handleCreateAPIKey},
		{"DELETE /api/auth/api-key", viewer, general, s.handleDeleteAPIKey},
		{"GET /api/billing/usage", viewer, general, s.handleUsage},

		// Administration (docs/http-api.md#administration).
		{"GET /api/system/circuit-breakers", admin, general, s.handleSystemBreakers},
		{"GET /api/system/errors", admin, general, s.handleSystemErrors},
		{"GET /api/system/rate-limits", admin, general, s.handleSystemRateLimits},
		{"POST /api/admin/cleanup-caches", admin, general, s.handleCleanupCaches},
		{"POST /api/admin/cleanup-stale-debates", admin, general, s.handleCleanupStale},
		{"POST /api/admin/rotate-keys", admin, general, s.handleRotateKeys},
		{"POST /api/admin/revoke-all-tokens", admin, general, s.handleRevokeAll},
		{"POST /api/admin/force-password-reset", admin, general, s.handleForceReset},
		{"POST /api/admin/revoke-token", admin, general, s.handleRevokeToken},
		{"GET /api/admin/revoked-tokens", admin, general, s.handleRevokedTokens},
		{"GET /api/admin/audit-log", admin, general, s.handleAuditLog},

		// WebSocket upgrades on the API port: authenticated in-band (docs/websocket.md#authentication).
		{"GET /ws", pub, exempt, s.handleWSControl},
		{"GET /ws/debates/{id}", pub, exempt, s.handleWSDebate},
	}
	if s.cfg.Webhooks != nil {
		rs = append(rs, s.webhookRoutes()...) // docs/webhooks.md
	}
	if s.cfg.Memory != nil {
		rs = append(rs, s.memoryRoutes()...) // docs/memory.md
	}
	if s.cfg.Nomic != nil {
		rs = append(rs, s.nomicRoutes()...) // docs/nomic.md
	}
	if s.cfg.MetricsHandler != nil {
		rs = append(rs, route{"GET /metrics", pub, exempt, s.cfg.MetricsHandler.ServeHTTP},
			route{"GET /api/metrics", pub, exempt, s.cfg.MetricsHandler.ServeHTTP})
	}
	if s.cfg.MemoryProfiling {
		rs = append(rs, route{"POST /api/debug/memory-dump", admin, general, s.handleMemoryDump})
	}
	if s.cfg.RateLimiter != nil {
		rs = append(rs, route{"POST /api/admin/rate-limits/emergency", admin, general, s.handleEmergency})
	}
	for _, r := range s.cfg.Routes {
		rs = append(rs, route{r.Pattern, r.Role, r.Class, r.Handler.ServeHTTP})
	}
	return rs
}

// RoleTable returns the role table of the API listener: each route pattern
// ("METHOD /path") and the lowest role it needs, or [auth.Public].
func (s *Server) RoleTable() auth.RouteTable {
	out := make(auth.RouteTable, len(s.roles))
	for k, v := range s.roles {
		out[k] = v
	}
	return out
}

// routes registers every route; a Config.Routes pattern that is invalid
// or conflicts with another route is an error.
func (s *Server) routes() (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("server: routes: %v", p)
		}
	}()
	s.roles = auth.RouteTable{}
	for _, rt := range s.apiRoutes() {
		s.roles[rt.pattern] = rt.role
		var h http.Handler = s.authorize(rt.h)
		h = s.limited(rt.class, h)
		s.api.Handle(rt.pattern, h)
	}

	// WebSocket listener: public; WebSockets authenticate in-band.
	w := s.ws
	for _, p := range []string{"GET /{$}", "GET /ws", "GET /ws/debates/{id}", "GET /healthz", "GET /readyz", "GET /livez"} {
		s.roles[p] = auth.Public
	}
	w.Handle("GET /{$}", s.authorize(s.handleWSControl))
	w.Handle("GET /ws", s.authorize(s.handleWSControl))
	w.Handle("GET /ws/debates/{id}", s.authorize(s.handleWSDebate))
	w.Handle("GET /healthz", s.authorize(s.handleHealth))
	w.Handle("GET /readyz", s.authorize(s.handleReady))
	w.Handle("GET /livez", s.authorize(s.handleLive))
	return nil
}

func (s *Server) handleLive(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "alive"})
}
