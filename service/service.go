package service

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aragora/aragora/agent"
	"github.com/aragora/aragora/agent/registry"
	"github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/console"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/internal/errreport"
	"github.com/aragora/aragora/lifecycle"
	"github.com/aragora/aragora/metrics"
	"github.com/aragora/aragora/nomic"
	"github.com/aragora/aragora/server"
	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/redisstore"
	"github.com/aragora/aragora/tracing"
	"github.com/aragora/aragora/webhook"
)

// ErrForcedExit is returned by Run when a second SIGTERM or SIGINT arrives
// during the graceful shutdown (Config.Signals): the caller should exit at
// once (`aragora serve` exits 1).
var ErrForcedExit = errors.New("service: second signal during shutdown")

// ErrShutdownIncomplete is returned by Run when the shutdown budget ran
// out before every debate was suspended and every request answered.
var ErrShutdownIncomplete = errors.New("serve: shutdown budget exhausted")

// Service is the whole Aragora service: the stores, the agent registry,
// authentication, rate limits, Redis fan-out, metrics and the HTTP/WS
// server, composed from a Config. Run serves it on its listeners; a
// program with listeners of its own mounts Handler and WSHandler and calls
// Start and Shutdown. Create it with Open; Close it.
type Service struct {
	cfg    Config
	lg     *logs
	log    *slog.Logger // aragora.server
	be     *Backends
	rdb    *redis.Client
	agents *Agents
	m      *metrics.Metrics // nil with DisableMetrics
	srv    *server.Server
	rep    *errreport.Reporter // nil without SentryDSN
	tr     *tracing.Tracer     // nil with tracing off
	// tpShutdown flushes and stops the TracerProvider Open built (nil: none
	// built).
	tpShutdown func(context.Context) error
	wh         *webhooks

	stopBG    context.CancelFunc
	wsUp      atomic.Bool
	startOnce sync.Once
	closeOnce sync.Once
	closeErr  error

	mu      sync.Mutex
	apiAddr net.Addr
	wsAddr  net.Addr

	// handover: a draining aragora serve answered on the API address when
	// Run started; the data directory lock is waited for.
	handover bool
	lock     *dataDirLock // SQLite: the data directory's serve lock
}

// Open builds the service of cfg: it creates the data directory, opens the
// log files, the stores (migrating them unless cfg.SkipMigrations), Redis
// and the authentication core, and prints the one-time bootstrap token on
// cfg.Stderr while no user exists. It starts no listener and no debate.
// Configuration mistakes are *ConfigError.
func Open(ctx context.Context, cfg Config) (svc *Service, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if cfg.Stderr == nil {
		cfg.Stderr = os.Stderr
	}
	s := &Service{cfg: cfg}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, configErrorf("config: ARAGORA_DATA_DIR=%q: %w", cfg.DataDir, err)
	}
	if s.rep, err = newErrorReporter(cfg); err != nil {
		return nil, err
	}
	if s.lg, err = newLogs(cfg, cfg.Stderr); err != nil {
		return nil, err
	}
	s.lg.wrap = s.rep.Handler                          // every ERROR record also goes to Sentry
	if err := s.openTracing(ctx, &s.cfg); err != nil { // cfg = s.cfg below
		return nil, err
	}
	s.log = s.lg.logger("aragora.server")
	if gen, err := EnsureJWTSecret(&s.cfg); err != nil {
		return nil, err
	} else if gen {
		s.log.Warn("jwt_secret_generated", "path", filepath.Join(cfg.DataDir, "jwt_secret"))
	}
	cfg = s.cfg
	if cfg.supabaseKeyIgnored {
		// Accepted so existing secrets keep working; it is not a database
		// password and is never used for the connection.
		s.log.Warn("supabase_key_ignored", "detail", "SUPABASE_KEY is set without SUPABASE_URL; it is not used")
	}
	if cfg.MemoryProfiling {
		runtime.MemProfileRate = 64 << 10
		if cfg.Env == "production" {
			s.log.Warn("memory_profiling_enabled")
		}
	}
	s.logConfig()

	if s.be, err = OpenBackends(ctx, cfg); err != nil {
		return nil, err
	}
	if s.be.Warning != "" {
		s.log.Warn("store_fallback", "detail", s.be.Warning)
	}
	var srvPtr atomic.Pointer[server.Server]
	wst, ok := s.be.Store.(webhook.Store)
	if !ok {
		return nil, fmt.Errorf("service: the %s store keeps no webhook outbox", s.be.Kind)
	}
	if s.wh, err = openWebhooks(cfg, wst, s.lg.logger("aragora.webhook"), &srvPtr); err != nil {
		return nil, err
	}
	if cfg.Agents.Stats == nil { // agent.quota_exhausted
		cfg.Agents.Stats = agent.NewStats(s.wh.statsConfig())
	}
	if s.agents, err = NewAgents(cfg); err != nil {
		return nil, err
	}
	reg := s.agents.Registry()
	signer, err := ParseReceiptKeys(cfg.ReceiptSigningKey, cfg.ReceiptEd25519Key)
	if err != nil {
		return nil, &ConfigError{Err: err}
	}

	var rs *redisstore.Store
	var redisCB *redisBreaker
	if cfg.RedisURL != "" {
		opts, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return nil, configErrorf("config: ARAGORA_REDIS_URL: %w", err)
		}
		opts.ContextTimeoutEnabled = true
		setRedisLogger(s.lg.logger("aragora.redis"))
		s.rdb = redis.NewClient(opts)
		rb, err := newRedisBreaker(cfg.Agents.Breaker, s.lg.logger("aragora.breaker"))
		if err != nil {
			return nil, &ConfigError{Err: err}
		}
		s.rdb.AddHook(rb)
		redisCB = &rb
		rs = redisstore.NewFromClient(s.rdb, redisstore.Config{Buffer: cfg.WSSendBuffer})
	}
	bgCtx, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	s.stopBG = stopBG

	authSvc, authStore, err := OpenAuth(ctx, cfg, s.be)
	if err != nil {
		return nil, err
	}
	boot, err := bootstrap(ctx, cfg, authSvc, cfg.Stderr)
	if err != nil {
		return nil, err
	}
	authn, bcast := authenticator(cfg, authSvc, rs, s.lg.logger("aragora.auth"))
	if bcast != nil {
		go bcast.watch(bgCtx)
	}

	lc := lifecycle.Config{
		Defaults:      lifecycle.Defaults{Agents: reg.DefaultAgents(), DebateTimeout: cfg.DebateTimeout, ConsensusThreshold: cfg.ConsensusThreshold},
		MaxConcurrent: cfg.MaxConcurrent, QueueSize: cfg.QueueSize, AgentTimeout: cfg.AgentTimeout,
		LeaseDuration: cfg.LeaseDuration, StaleAfter: cfg.StaleAfter, ReceiptSigner: signer,
		SpoolDir:   cfg.SpoolDir(), // docs/operations.md#the-result-spool
		Logger:     s.lg.logger("aragora.debate.orchestrator"),
		Outbox:     debateOutbox{kick: s.wh.w.Kick},
		OnFinished: func(*store.Debate) { s.wh.w.Kick() },
	}
	if s.tr != nil {
		lc.Tracer = s.tr
	}
	if s.be.Kind == "sqlite" { // the spool shares the database's volume (docs/operations.md#the-result-spool)
		lc.SpoolReserve = lifecycle.DefaultSpoolReserve
	}
	lc.AgentLogger = func(provider string) *slog.Logger { // agent.log (docs/operations.md#logs)
		return s.lg.logger("aragora.agent." + cmp.Or(provider, "unknown"))
	}
	scfg := server.Config{
		Version: cfg.Version, Env: cfg.Env, Auth: authn, Lifecycle: lc,
		Accounts: authSvc, AccountStore: authStore, Bootstrap: boot, OpenRegistration: cfg.OpenRegistration,
		TrustedProxies: cfg.TrustedProxies, OriginPatterns: cfg.CORSOrigins,
		WSMaxConnections: cfg.WSMaxConnections, WSMaxPerIP: cfg.WSMaxPerIP,
		WSSendBuffer: cfg.WSSendBuffer, MemoryProfiling: cfg.MemoryProfiling, MemoryDumpPath: cfg.MemoryDumpPath,
		Logger: s.lg.logger("aragora.api"), AuthLogger: s.lg.logger("aragora.auth"), WSLogger: s.lg.logger("aragora.websocket"),
		Migrated:       migratedFlag(bgCtx, s.be, !cfg.SkipMigrations),
		Breakers:       breakerView{reg: reg},
		AgentStatus:    agentStatus(reg),
		AgentTest:      agentTest(reg, cmp.Or(cfg.AgentTimeout, registry.DefaultAgentTimeout)),
		Connectivity:   connectivity(reg),
		Routes:         cfg.Routes,
		Webhooks:       s.wh.w,
		SystemBreakers: withRedisBreaker(s.wh.systemBreakers, redisCB),
	}
	if s.tr != nil {
		scfg.OnRoute = tracing.NameRoute
	}
	if rs != nil {
		scfg.Redis = rs
		scfg.Fanout = redisFanout{rs: rs}
	}
	var nomicCtl *nomic.Control // the loop's state (docs/nomic.md), written by aragora nomic run
	if ns, ok := s.be.Store.(store.NomicStore); ok {
		nomicCtl = &nomic.Control{Store: ns}
		scfg.Nomic = nomicCtl
		go nomicWatcher{st: ns, every: 5 * time.Second, publish: func(doc json.RawMessage) {
			if srv := srvPtr.Load(); srv != nil {
				srv.Control("nomic_cycle_finished", "", doc)
			}
		}}.run(bgCtx)
	}
	if bcast != nil {
		scfg.Revoked = bcast.revoked
	}
	if !cfg.DisableMetrics {
		promReg := metrics.NewRegistry()
		s.m = metrics.New(promReg, metrics.Config{Version: cfg.Version, Commit: cfg.Commit, GoVersion: runtime.Version(),
			Agents: metricAgents(reg), WSMaxConnections: cfg.WSMaxConnections, Redis: rs != nil, DBBackend: s.be.Kind,
			WebhookQueueCapacity: cfg.Webhooks.QueueSize})
		s.agents.metrics = s.m
		s.wh.m = s.m
		scfg.MetricsHandler = s.wh.metricsHandler(scrapeSampler(s.m, reg, &srvPtr, metrics.Handler(promReg)))
		scfg.RequestObserver = s.m.ObserveRequest
		scfg.Lifecycle.OnRound = s.m.ObserveRound
		scfg.WSObserver = metrics.WS{M: s.m}
		scfg.AuthFailed = func(reason string) { s.m.AuthFailures.WithLabelValues(reason).Inc() }
		obs := s.m.Observer()
		scfg.Lifecycle.NewDebate = func(dc debate.Config, ps ...debate.Participant) (*debate.Orchestrator, error) {
			dc.Observers = append(dc.Observers, obs)
			return debate.New(dc, ps...)
		}
		go gauges{m: s.m, be: s.be, rs: rs, staleAfter: cfg.StaleAfter, now: time.Now}.run(bgCtx)
		if nomicCtl != nil {
			s.m.SetNomicSource(func(ctx context.Context) (*nomic.State, error) {
				st, _, err := nomicCtl.State(ctx)
				return st, err
			})
		}
	}
	mem, err := OpenMemory(cfg, s.be, s.m)
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	if mem != nil { // docs/memory.md
		scfg.Lifecycle.NewDebate = WithMemory(mem, scfg.Lifecycle.NewDebate)
		scfg.Memory = mem
		go runMemoryCleanup(bgCtx, mem, cmp.Or(cfg.Memory.CleanupInterval, time.Hour), s.m, s.lg.logger("aragora.memory"))
	}
	watchCircuits(reg, s.m, s.lg.logger("aragora.breaker"), &srvPtr)
	s.wh.watchAgents(reg.Breakers())
	var rlRedis redis.UniversalClient
	if cfg.RedisRateLimit && s.rdb != nil {
		rlRedis = s.rdb
	}
	rlCfg := cfg.RateLimit
	rlCfg.TrustedProxies = cfg.TrustedProxies
	policy, rlBackend, rlMem, err := rateLimits(rlCfg, rlRedis, s.m, s.lg)
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	if policy.Config().Disabled {
		s.log.Warn("rate_limiting_disabled")
	}
	scfg.RateLimiter = policy
	scfg.CleanupRateLimits = rlMem.Prune
	scfg.WSListenerUp = func() bool { return cfg.WSPort == 0 || s.wsUp.Load() }
	if !cfg.DisableConsole {
		if scfg.Routes, err = consoleRoutes(cfg.Version, scfg.Routes); err != nil {
			return nil, err
		}
	}

	if s.srv, err = server.New(s.be.Store, s.agents, scfg); err != nil {
		return nil, &ConfigError{Err: err}
	}
	srvPtr.Store(s.srv)
	s.log.Info("backends_ready", "store", s.be.Kind, "rate_limit_backend", rlBackend, "redis", rs != nil,
		"default_agents", strings.Join(reg.DefaultAgents(), ","))
	return s, nil
}

// logConfig logs config_loaded with every effective value, secrets only
// as set/unset.
func (s *Service) logConfig() {
	c := s.cfg
	set := func(v bool) string {
		if v {
			return "set"
		}
		return "unset"
	}
	s.log.Info("config_loaded", "env", c.Env, "api_port", c.APIPort, "ws_port", c.WSPort, "host", c.Host,
		"data_dir", c.DataDir, "database", strings.SplitN(c.storeURL(), "://", 2)[0], "redis", set(c.RedisURL != ""), "redis_rate_limit", c.RedisRateLimit,
		"db_schema", c.DBSchema, "db_pool_size", c.DBPoolSize, "db_max_overflow", max(c.DBMaxOverflow, 0), "auto_migrate", !c.SkipMigrations,
		"api_token", set(c.APIToken != ""), "jwt_secret", set(c.JWTSecret != ""), "local_admin", c.LocalAdmin,
		"max_concurrent_debates", c.MaxConcurrent, "debate_queue_size", max(c.QueueSize, 0),
		"debate_timeout_seconds", int(c.DebateTimeout/time.Second), "agent_timeout_seconds", int(c.AgentTimeout/time.Second),
		"consensus_threshold", c.ConsensusThreshold, "ws_max_connections", c.WSMaxConnections, "ws_max_per_ip", c.WSMaxPerIP,
		"ws_send_buffer", c.WSSendBuffer, "shutdown_timeout_seconds", int(c.ShutdownTimeout/time.Second),
		"log_format", c.LogFormat, "log_level", c.LogLevel, "log_dir", c.LogDir, "metrics_enabled", !c.DisableMetrics,
		"memory_profiling", c.MemoryProfiling, "sentry", set(c.SentryDSN != ""),
		"webhook_endpoints", len(c.Webhooks.URLs), "webhook_secret", set(c.Webhooks.Secret != ""),
		"webhook_queue_size", c.Webhooks.QueueSize, "webhook_max_attempts", c.Webhooks.MaxAttempts,
		"webhook_allow_private", c.Webhooks.AllowPrivate, "memory", c.Memory.Enabled, "memory_top_k", c.Memory.TopK,
		"memory_token_budget", c.Memory.TokenBudget, "memory_cleanup_interval", c.Memory.CleanupInterval.String())
}

// Handler returns the API listener's handler (API routes, /metrics, probes,
// WebSocket upgrades). With SentryDSN it reports panics and 5xx answers.
// With tracing on, each request is a server span (docs/observability.md#traces).
func (s *Service) Handler() http.Handler { return s.traced(s.rep.Middleware(s.srv.Handler())) }

// WSHandler returns the WebSocket listener's handler.
func (s *Service) WSHandler() http.Handler { return s.traced(s.rep.Middleware(s.srv.WSHandler())) }

func (s *Service) traced(h http.Handler) http.Handler {
	if s.tr == nil {
		return h
	}
	return s.tr.Handler(h, probe)
}

// probe reports the requests left untraced: health probes and metrics
// scrapes, which would otherwise fill the traces every few seconds.
func probe(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	switch r.URL.Path {
	case "/healthz", "/readyz", "/livez", "/api/health", "/api/health/ready", "/metrics", "/api/metrics":
		return true
	}
	return false
}

// Tracer returns the service's tracer, nil with tracing off.
func (s *Service) Tracer() *tracing.Tracer { return s.tr }

// openTracing turns tracing on when cfg has a TracerProvider or an OTLP
// endpoint (docs/observability.md#traces): log records of traced requests
// get trace_id and span_id, the providers' HTTP client sends traceparent,
// and retries are span events.
func (s *Service) openTracing(ctx context.Context, cfg *Config) error {
	tp := cfg.TracerProvider
	if tp == nil && cfg.Tracing.Enabled() {
		tc := cfg.Tracing
		if tc.ServiceVersion == "" {
			tc.ServiceVersion = cfg.Version
		}
		sdk, err := tracing.NewProvider(ctx, tc)
		if err != nil {
			return &ConfigError{Err: fmt.Errorf("config: %w", err)}
		}
		s.tpShutdown = sdk.Shutdown
		tp = sdk
	}
	if tp == nil {
		return nil
	}
	s.tr = tracing.New(tp)
	wrap := s.lg.wrap
	s.lg.wrap = func(h slog.Handler) slog.Handler {
		if wrap != nil {
			h = wrap(h)
		}
		return tracing.LogHandler(h)
	}
	cfg.Agents.HTTPClient = s.tr.Client(cfg.Agents.HTTPClient)
	onRetry := cfg.Agents.Retry.OnRetry
	cfg.Agents.Retry.OnRetry = func(ctx context.Context, attempt int, err error, wait time.Duration) {
		tracing.OnRetry(ctx, attempt, err, wait)
		if onRetry != nil {
			onRetry(ctx, attempt, err, wait)
		}
	}
	return nil
}

// Server returns the HTTP/WS server.
func (s *Service) Server() *server.Server { return s.srv }

// Lifecycle returns the manager that runs the service's debates.
func (s *Service) Lifecycle() *lifecycle.Manager { return s.srv.Lifecycle() }

// Agents returns the agent registry the service resolves agents with.
func (s *Service) Agents() *Agents { return s.agents }

// Store returns the primary store.
func (s *Service) Store() store.DebateStore { return s.be.Store }

// Logger returns the component logger name ("aragora.api", …) with the
// service's format, level and files, for an embedding program's routes.
func (s *Service) Logger(name string) *slog.Logger { return s.lg.logger(name) }

// APIAddr returns the address the API listener is bound to once Run has
// bound it, else nil.
func (s *Service) APIAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.apiAddr
}

// WSAddr returns the address the WebSocket listener is bound to once Run
// has bound it, else nil (also without a WebSocket listener).
func (s *Service) WSAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wsAddr
}

// Start begins the background work: the debate sweeper, which resumes the
// debates other processes left behind, and the webhook worker. Run calls
// it; a program mounting Handler itself calls it once its listener serves.
func (s *Service) Start() {
	s.startOnce.Do(func() {
		s.srv.Start()
		s.wh.Start()
	})
}

// Shutdown drains the service (readiness turns 503 draining, new debates
// are refused) and suspends every running debate, returning it to pending
// for the next process, until ctx ends. WebSockets are closed with 1001.
// A program serving Handler itself calls it before closing its listeners,
// then StopWebhooks once they are closed; Run does both within its
// shutdown sequence.
func (s *Service) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	s.srv.CloseAll(1001)
	return err
}

// StopWebhooks stops the webhook worker taking deliveries and lets the
// attempts in flight finish, until ctx ends (then they are cut and retried
// by the next process). Close calls it too, with a short budget.
func (s *Service) StopWebhooks(ctx context.Context) error {
	if s.wh == nil {
		return nil
	}
	return s.wh.Close(ctx)
}

// Close releases the stores, Redis, the log files and the background
// work. It is safe to call more than once; Run closes the service on its
// way out.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		if s.stopBG != nil {
			s.stopBG()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = s.StopWebhooks(ctx) // after a listener failure; the shutdown did it otherwise
		cancel()
		var errs []error
		if s.be != nil {
			errs = append(errs, s.be.Close())
		}
		if s.rdb != nil {
			errs = append(errs, s.rdb.Close())
		}
		if s.rep != nil {
			flushErrorReporter(s.rep) // after the shutdown sequence: at most 2 s
		}
		if s.tpShutdown != nil { // flushes the spans not exported yet
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := s.tpShutdown(ctx); err != nil && s.log != nil {
				s.log.Warn("tracing_shutdown_failed", "error", err.Error())
			}
			cancel()
		}
		if s.lg != nil {
			s.lg.Close()
		}
		s.lock.release()
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// Run binds the listeners of the configuration (both with SO_REUSEPORT, so
// a new process can bind while this one drains), serves until ctx ends
// (or, with Config.Signals, SIGTERM or SIGINT), then runs the shutdown
// sequence of docs/operations.md and closes the service. It returns nil
// after a complete shutdown, ErrShutdownIncomplete when the budget ran
// out, ErrForcedExit on a second signal, or the error that stopped a
// listener.
func (s *Service) Run(ctx context.Context) error {
	defer s.Close()
	c := s.cfg
	if c.APIPort != 0 {
		// One process per listener: SO_REUSEPORT would let this one bind
		// next to a live server and split its traffic.
		if inst, draining, found := peerOn(ctx, c.Host, c.APIPort); found {
			if !draining {
				return &InstanceError{Addr: net.JoinHostPort(c.Host, fmt.Sprint(c.APIPort)), Instance: inst}
			}
			s.handover = true
			s.log.Info("serve_handover", "from_instance", inst)
		}
	}
	apiLn, err := listenReusePort(ctx, net.JoinHostPort(c.Host, fmt.Sprint(c.APIPort)))
	if err != nil {
		return fmt.Errorf("serve: listen on API port: %w", err)
	}
	var wsLn net.Listener
	if c.WSPort != 0 {
		if wsLn, err = listenReusePort(ctx, net.JoinHostPort(c.Host, fmt.Sprint(c.WSPort))); err != nil {
			_ = apiLn.Close()
			return fmt.Errorf("serve: listen on WebSocket port: %w", err)
		}
	}
	return s.Serve(ctx, apiLn, wsLn)
}

// Serve is Run on listeners the caller bound: api, and ws unless nil. It
// takes ownership of them.
func (s *Service) Serve(ctx context.Context, api, ws net.Listener) error {
	defer s.Close()
	apiSrv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10,
		// WriteTimeout applies to plain HTTP; WebSockets hijack the
		// connection, which clears the server's deadlines.
		WriteTimeout: 60 * time.Second}
	errc := make(chan error, 2)
	go func() { errc <- apiSrv.Serve(api) }()
	var wsSrv *http.Server
	if ws != nil {
		wsSrv = &http.Server{Handler: s.WSHandler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
		s.wsUp.Store(true)
		go func() { errc <- wsSrv.Serve(ws) }()
	}
	s.mu.Lock()
	s.apiAddr = api.Addr()
	if ws != nil {
		s.wsAddr = ws.Addr()
	}
	s.mu.Unlock()
	if err := s.lockStore(ctx); err != nil {
		_ = apiSrv.Close()
		if wsSrv != nil {
			_ = wsSrv.Close()
		}
		return err
	}
	s.Start()
	s.log.Info("server_started", "api_addr", api.Addr().String(), "ws_port", s.cfg.WSPort)

	var sigs chan os.Signal
	if s.cfg.Signals {
		sigs = make(chan os.Signal, 4)
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGHUP)
		defer signal.Stop(sigs)
	}
	for {
		select {
		case err := <-errc:
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				_ = apiSrv.Close()
				if wsSrv != nil {
					_ = wsSrv.Close()
				}
				return fmt.Errorf("serve: %w", err)
			}
		case <-ctx.Done():
			return s.shutdown(apiSrv, wsSrv, sigs)
		case sig := <-sigs:
			switch sig {
			case syscall.SIGUSR1:
				s.srv.CloseAll(1012)
			case syscall.SIGHUP:
				s.lg.reopen()
				s.log.Info("logs_reopened")
			default:
				return s.shutdown(apiSrv, wsSrv, sigs)
			}
		}
	}
}

// shutdown runs the shutdown sequence within Config.ShutdownTimeout: drain
// (readiness 503) and keep the listeners open for min(5 s, timeout/5) so
// load balancers notice, then stop accepting, suspend every running
// debate, close WebSockets with 1001 and wait for in-flight requests. A
// second SIGTERM or SIGINT on sigs returns ErrForcedExit at once.
func (s *Service) shutdown(apiSrv, wsSrv *http.Server, sigs <-chan os.Signal) error {
	timeout := s.cfg.ShutdownTimeout
	s.log.Info("shutdown_begin", "timeout_seconds", int(timeout/time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.drainAndStop(ctx, apiSrv, wsSrv) }()
	for {
		select {
		case err := <-done:
			return err
		case sig := <-sigs:
			if sig == syscall.SIGTERM || sig == syscall.SIGINT {
				return ErrForcedExit
			}
		}
	}
}

func (s *Service) drainAndStop(ctx context.Context, apiSrv, wsSrv *http.Server) error {
	s.srv.Drain()
	s.lock.markDraining()
	window := min(s.cfg.ShutdownTimeout/5, 5*time.Second)
	t := time.NewTimer(window)
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	t.Stop()
	httpDone := make(chan struct{})
	go func() {
		_ = apiSrv.Shutdown(ctx)
		if wsSrv != nil {
			_ = wsSrv.Shutdown(ctx)
		}
		close(httpDone)
	}()
	serr := s.Shutdown(ctx)
	select {
	case <-httpDone:
	case <-ctx.Done():
	}
	if err := s.StopWebhooks(ctx); err != nil { // the webhook worker finishes its attempt
		serr = errors.Join(serr, err)
	}
	if ctx.Err() != nil || serr != nil {
		_ = apiSrv.Close()
		if wsSrv != nil {
			_ = wsSrv.Close()
		}
		s.log.Warn("shutdown_incomplete")
		return ErrShutdownIncomplete
	}
	s.log.Info("shutdown_complete")
	return nil
}

// lockStore takes the SQLite data directory's serve lock (waiting for a
// draining predecessor to exit on a hand-over); with it, the debates any
// other server held are claimed at once.
func (s *Service) lockStore(ctx context.Context) error {
	if s.be.Kind != "sqlite" {
		return nil
	}
	drainWait := s.cfg.ShutdownTimeout + 5*time.Second
	wait := time.Duration(0)
	if s.handover {
		wait = drainWait
	}
	l, err := lockDataDir(ctx, s.cfg.DataDir, wait, drainWait)
	if err != nil {
		return err
	}
	s.lock = l
	s.srv.Lifecycle().SetSoleServer()
	return nil
}

// listenReusePort binds addr with SO_REUSEPORT so a new process can bind
// while this one drains.
func listenReusePort(ctx context.Context, addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, 0x0F /* SO_REUSEPORT */, 1)
			if serr == nil {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	return lc.Listen(ctx, "tcp", addr)
}

// EnsureJWTSecret generates the development JWT secret once into
// DataDir/jwt_secret (0600) when c.JWTSecret is empty, or reads the one
// generated before, and sets c.JWTSecret. generated reports a new secret.
func EnsureJWTSecret(c *Config) (generated bool, err error) {
	if c.JWTSecret != "" {
		return false, nil
	}
	dir := c.DataDir
	if dir == "" {
		dir = "./data"
	}
	path := filepath.Join(dir, "jwt_secret")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		c.JWTSecret = strings.TrimSpace(string(b))
		return false, nil
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return false, err
	}
	c.JWTSecret = hex.EncodeToString(raw[:])
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return false, configErrorf("config: ARAGORA_DATA_DIR: write jwt_secret: %w", err)
	}
	defer f.Close()
	_, err = f.WriteString(c.JWTSecret + "\n")
	return true, err
}

// bootstrap returns the one-time registration token. While no user exists
// and no BootstrapToken is configured, a generated token is printed once on
// stderr (never to the log files).
func bootstrap(ctx context.Context, c Config, svc *auth.Service, stderr io.Writer) (*auth.Bootstrap, error) {
	needs, err := svc.NeedsBootstrap(ctx)
	if err != nil {
		return nil, err
	}
	if !needs {
		b := &auth.Bootstrap{}
		b.Disable()
		return b, nil
	}
	b, generated, err := auth.NewBootstrap(c.BootstrapToken, nil)
	if err != nil {
		return nil, err
	}
	if generated {
		fmt.Fprintf(stderr, "timestamp=%s level=WARN logger=aragora.auth message=bootstrap_token token=%s hint=%q\n",
			time.Now().UTC().Format(time.RFC3339Nano), b.Token(),
			"no user exists: POST /api/auth/register with this bootstrap_token, or run aragora users create")
	}
	return b, nil
}

// consoleRoutes adds the web console's pages (docs/console.md) to routes:
// public GET routes without a rate limit, since they hold no data; the
// pages call the API with the user's own token.
func consoleRoutes(version string, routes []server.Route) ([]server.Route, error) {
	pages, err := console.New(console.Config{Version: version})
	if err != nil {
		return nil, err
	}
	out := append([]server.Route(nil), routes...)
	for _, p := range pages.Patterns() {
		out = append(out, server.Route{Pattern: p, Role: auth.Public, Handler: pages})
	}
	return out, nil
}
