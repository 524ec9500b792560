package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/redis/go-redis/v9"

	"github.com/aragora/aragora/agent/registry"
	"github.com/aragora/aragora/auth"
	"github.com/aragora/aragora/console"
	"github.com/aragora/aragora/debate"
	"github.com/aragora/aragora/metrics"
	"github.com/aragora/aragora/server"
	"github.com/aragora/aragora/store/redisstore"
)

// listenReusePort binds addr with SO_REUSEPORT so a new process can bind
// while this one drains (API.md §16).
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

func newServeCmd(getenv env) *cobra.Command {
	var apiPort, wsPort int
	var host, dataDir, dbURL, logFormat, logLevel, logDir string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the HTTP API and WebSocket server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadServeConfig(getenv)
			if err != nil {
				return usageErr(err)
			}
			f := cmd.Flags()
			if f.Changed("api-port") {
				c.APIPort = apiPort
			}
			if f.Changed("ws-port") {
				c.WSPort = wsPort
			}
			if f.Changed("host") {
				c.Host = host
			}
			if f.Changed("data-dir") {
				c.DataDir = dataDir
				if !c.DatabaseURLExplicit {
					c.DatabaseURL = sqliteURL(dataDir)
				}
			}
			if f.Changed("database-url") {
				c.DatabaseURL, c.DatabaseURLExplicit = dbURL, true
			}
			if f.Changed("log-format") {
				c.LogFormat = logFormat
			}
			if f.Changed("log-level") {
				c.LogLevel = strings.ToLower(logLevel)
			}
			if f.Changed("log-dir") {
				c.LogDir = logDir
			}
			if err := c.finish(); err != nil {
				return usageErr(err)
			}
			return serve(cmd.Context(), c, getenv, cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&apiPort, "api-port", 8080, "API listener port (ARAGORA_API_PORT)")
	fl.IntVar(&wsPort, "ws-port", 8766, "WebSocket listener port, 0 = off (ARAGORA_WS_PORT)")
	fl.StringVar(&host, "host", "0.0.0.0", "bind address (ARAGORA_BIND_HOST)")
	fl.StringVar(&dataDir, "data-dir", "./data", "data directory (ARAGORA_DATA_DIR)")
	fl.StringVar(&dbURL, "database-url", "", "store URL (ARAGORA_DATABASE_URL)")
	fl.StringVar(&logFormat, "log-format", "", "json or text (ARAGORA_LOG_FORMAT)")
	fl.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error (ARAGORA_LOG_LEVEL)")
	fl.StringVar(&logDir, "log-dir", "", "directory of api/websocket/debate/agent.log (ARAGORA_LOG_DIR)")
	return cmd
}

// ensureJWTSecret generates the development secret once (API.md §2.2).
func ensureJWTSecret(c *serveConfig) (generated bool, err error) {
	if c.JWTSecret != "" {
		return false, nil
	}
	path := filepath.Join(c.DataDir, "jwt_secret")
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
		return false, fmt.Errorf("config: ARAGORA_DATA_DIR: write jwt_secret: %w", err)
	}
	defer f.Close()
	_, err = f.WriteString(c.JWTSecret + "\n")
	return true, err
}

func serve(ctx context.Context, c serveConfig, getenv env, stderr io.Writer) error {
	if err := os.MkdirAll(c.DataDir, 0o750); err != nil {
		return usageErr(fmt.Errorf("config: ARAGORA_DATA_DIR=%q: %w", c.DataDir, err))
	}
	lg, err := newLogs(c, stderr)
	if err != nil {
		return usageErr(err)
	}
	defer lg.Close()
	srvLog := lg.logger("aragora.server")
	if gen, err := ensureJWTSecret(&c); err != nil {
		return usageErr(err)
	} else if gen {
		srvLog.Warn("jwt_secret_generated", "path", filepath.Join(c.DataDir, "jwt_secret"))
	}
	if getenv("SUPABASE_KEY") != "" && getenv("SUPABASE_URL") == "" {
		// Accepted so existing secrets keep working; it is not a database
		// password and is never used for the connection (API.md §12).
		srvLog.Warn("supabase_key_ignored", "detail", "SUPABASE_KEY is set without SUPABASE_URL; it is not used")
	}
	if c.MemoryProfiling {
		runtime.MemProfileRate = 64 << 10
		if c.Env == "production" {
			srvLog.Warn("memory_profiling_enabled")
		}
	}
	setState := func(v bool) string {
		if v {
			return "set"
		}
		return "unset"
	}
	srvLog.Info("config_loaded", "env", c.Env, "api_port", c.APIPort, "ws_port", c.WSPort, "host", c.Host,
		"data_dir", c.DataDir, "database", strings.SplitN(c.DatabaseURL, "://", 2)[0], "redis", setState(c.RedisURL != ""), "redis_rate_limit", c.RedisRateLimit,
		"db_schema", c.DBSchema, "db_pool_size", c.DBPoolSize, "db_max_overflow", c.DBMaxOverflow, "auto_migrate", c.AutoMigrate,
		"api_token", setState(c.APIToken != ""), "jwt_secret", setState(c.JWTSecret != ""), "local_admin", c.LocalAdmin,
		"max_concurrent_debates", c.MaxConcurrent, "debate_queue_size", c.QueueSize,
		"debate_timeout_seconds", int(c.DebateTimeout/time.Second), "agent_timeout_seconds", int(c.AgentTimeout/time.Second),
		"consensus_threshold", c.ConsensusThreshold, "ws_max_connections", c.WSMaxConnections, "ws_max_per_ip", c.WSMaxPerIP,
		"ws_send_buffer", c.WSSendBuffer, "shutdown_timeout_seconds", int(c.ShutdownTimeout/time.Second),
		"log_format", c.LogFormat, "log_level", c.LogLevel, "log_dir", c.LogDir, "metrics_enabled", c.MetricsEnabled,
		"memory_profiling", c.MemoryProfiling)

	be, err := openBackends(ctx, c)
	if err != nil {
		if errIncompatible(err) || isConfigErr(err) {
			return usageErr(err)
		}
		return &exitError{code: exitFailure, err: err}
	}
	defer be.Close()
	if be.Warning != "" {
		srvLog.Warn("store_fallback", "detail", be.Warning)
	}
	bgCtx, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()

	rcfg, err := registry.FromEnv(getenv)
	if err != nil {
		return usageErr(err)
	}
	reg, err := registry.New(rcfg)
	if err != nil {
		return usageErr(err)
	}
	delay, err := demoDelay(getenv)
	if err != nil {
		return usageErr(err)
	}

	var rdb *redis.Client
	var rs *redisstore.Store
	if c.RedisURL != "" {
		opts, err := redis.ParseURL(c.RedisURL)
		if err != nil {
			return usageErr(fmt.Errorf("config: ARAGORA_REDIS_URL: %w", err))
		}
		opts.ContextTimeoutEnabled = true
		rdb = redis.NewClient(opts)
		defer rdb.Close()
		rs = redisstore.NewFromClient(rdb, redisstore.Config{Buffer: c.WSSendBuffer})
	}

	authSvc, authStore, err := openAuth(ctx, c, be)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	boot, err := bootstrap(ctx, c, authSvc, stderr)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	authn, bcast := authenticator(c, authSvc, rs, lg.logger("aragora.auth"))
	if bcast != nil {
		go bcast.watch(bgCtx)
	}

	var srvPtr atomic.Pointer[server.Server]
	var m *metrics.Metrics
	scfg := server.Config{
		Version: Version, Env: c.Env, Auth: authn,
		Accounts: authSvc, AccountStore: authStore, Bootstrap: boot, OpenRegistration: c.OpenRegistration,
		TrustedProxies: c.TrustedProxies, OriginPatterns: c.CORSOrigins, DefaultAgents: reg.DefaultAgents(),
		MaxConcurrentDebates: c.MaxConcurrent, QueueSize: c.QueueSize, DebateTimeout: c.DebateTimeout,
		AgentTimeout: c.AgentTimeout, ConsensusThreshold: c.ConsensusThreshold, LeaseDuration: c.LeaseDuration,
		StaleAfter: c.StaleAfter, WSMaxConnections: c.WSMaxConnections, WSMaxPerIP: c.WSMaxPerIP,
		WSSendBuffer: c.WSSendBuffer, MemoryProfiling: c.MemoryProfiling, MemoryDumpPath: c.MemoryDumpPath,
		Logger: lg.logger("aragora.api"), AuthLogger: lg.logger("aragora.auth"), WSLogger: lg.logger("aragora.websocket"),
		DebateLogger: lg.logger("aragora.debate.orchestrator"),
		Migrated:     migratedFlag(bgCtx, be, c.AutoMigrate),
		Breakers:     breakerView{reg: reg},
		AgentStatus:  agentStatus(reg),
		AgentTest:    agentTest(reg, c.AgentTimeout),
		Connectivity: connectivity(reg),
	}
	if c.QueueSize == 0 {
		scfg.QueueSize = -1
	}
	if rs != nil {
		scfg.Redis = rs
		scfg.Fanout = redisFanout{rs: rs}
	}
	if bcast != nil {
		scfg.Revoked = bcast.revoked
	}
	newDebate := server.DebateFactory(debate.New)
	if c.MetricsEnabled {
		m = metrics.New(metrics.Config{Version: Version, Commit: commit(), GoVersion: runtime.Version(),
			Agents: metricAgents(reg), WSMaxConnections: c.WSMaxConnections, Redis: rs != nil, DBBackend: be.Kind})
		scfg.MetricsHandler = scrapeSampler(m, reg, &srvPtr, m.Handler())
		scfg.RequestObserver = m.ObserveRequest
		scfg.RoundObserver = m.ObserveRound
		scfg.WSObserver = metrics.WS{M: m}
		scfg.AuthFailed = func(reason string) { m.AuthFailures.WithLabelValues(reason).Inc() }
		obs := m.Observer()
		newDebate = func(cfg debate.Config, ps ...debate.Participant) (*debate.Orchestrator, error) {
			cfg.Observers = append(cfg.Observers, obs)
			return debate.New(cfg, ps...)
		}
		go gauges{m: m, be: be, rs: rs, staleAfter: c.StaleAfter, now: time.Now}.run(bgCtx)
	}
	watchCircuits(reg, m, lg.logger("aragora.breaker"), &srvPtr)
	var rlRedis redis.UniversalClient
	if c.RedisRateLimit {
		rlRedis = rdb
	}
	policy, rlBackend, rlMem, err := rateLimits(getenv, rlRedis, m, lg)
	if err != nil {
		return usageErr(err)
	}
	if policy.Config().Disabled {
		srvLog.Warn("rate_limiting_disabled")
	}
	scfg.RateLimit = func(_ string, next http.Handler) http.Handler { return policy.Middleware(next) }
	scfg.RateLimitStatus = func(r *http.Request) any { return policy.Status(r) }
	scfg.RateLimitConfig = func() any { return policy.ConfigSnapshot() }
	scfg.SystemRateLimits = func() any { return policy.SystemSnapshot() }
	scfg.CleanupRateLimits = rlMem.Prune
	scfg.SetEmergency = policy.SetEmergency
	if scfg.Pages, err = console.New(console.Config{Version: Version}); err != nil {
		return err
	}

	var wsUp atomic.Bool
	scfg.WSListenerUp = func() bool { return c.WSPort == 0 || wsUp.Load() }
	srv, err := server.New(newDebate, agentsAdapter{reg: reg, m: m, delay: delay}, be.Store, scfg)
	if err != nil {
		return usageErr(err)
	}
	srvPtr.Store(srv)
	srvLog.Info("backends_ready", "store", be.Kind, "rate_limit_backend", rlBackend, "redis", rs != nil,
		"default_agents", strings.Join(reg.DefaultAgents(), ","))

	apiLn, err := listenReusePort(ctx, net.JoinHostPort(c.Host, fmt.Sprint(c.APIPort)))
	if err != nil {
		return fmt.Errorf("serve: listen on API port: %w", err)
	}
	apiSrv := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	// WriteTimeout 60 s applies to plain HTTP; WebSockets hijack the
	// connection, which clears the server's deadlines.
	apiSrv.WriteTimeout = 60 * time.Second
	errc := make(chan error, 2)
	go func() { errc <- apiSrv.Serve(apiLn) }()
	var wsSrv *http.Server
	if c.WSPort != 0 {
		wsLn, err := listenReusePort(ctx, net.JoinHostPort(c.Host, fmt.Sprint(c.WSPort)))
		if err != nil {
			_ = apiSrv.Close()
			return fmt.Errorf("serve: listen on WebSocket port: %w", err)
		}
		wsSrv = &http.Server{Handler: srv.WSHandler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
		wsUp.Store(true)
		go func() { errc <- wsSrv.Serve(wsLn) }()
	}
	srv.Start()
	srvLog.Info("server_started", "api_addr", apiLn.Addr().String(), "ws_port", c.WSPort)

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGHUP)
	defer signal.Stop(sigs)
	for {
		select {
		case err := <-errc:
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("serve: %w", err)
			}
		case <-ctx.Done():
			return shutdown(c, srv, apiSrv, wsSrv, be, srvLog, sigs)
		case s := <-sigs:
			switch s {
			case syscall.SIGUSR1:
				srv.CloseAll(1012)
			case syscall.SIGHUP:
				lg.reopen()
				srvLog.Info("logs_reopened")
			default:
				return shutdown(c, srv, apiSrv, wsSrv, be, srvLog, sigs)
			}
		}
	}
}

type infoWarner interface {
	Info(string, ...any)
	Warn(string, ...any)
}

// shutdown runs the sequence of API.md §16 within c.ShutdownTimeout.
func shutdown(c serveConfig, srv *server.Server, apiSrv, wsSrv *http.Server, be *backends, log infoWarner, sigs <-chan os.Signal) error {
	log.Info("shutdown_begin", "timeout_seconds", int(c.ShutdownTimeout/time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	go func() {
		for s := range sigs {
			if s == syscall.SIGTERM || s == syscall.SIGINT {
				os.Exit(exitFailure)
			}
		}
	}()
	srv.Drain()
	window := c.ShutdownTimeout / 5
	if window > 5*time.Second {
		window = 5 * time.Second
	}
	select {
	case <-time.After(window):
	case <-ctx.Done():
	}
	httpDone := make(chan struct{})
	go func() {
		_ = apiSrv.Shutdown(ctx)
		if wsSrv != nil {
			_ = wsSrv.Shutdown(ctx)
		}
		close(httpDone)
	}()
	serr := srv.Shutdown(ctx)
	srv.CloseAll(1001)
	select {
	case <-httpDone:
	case <-ctx.Done():
	}
	if ctx.Err() != nil || serr != nil {
		_ = apiSrv.Close()
		if wsSrv != nil {
			_ = wsSrv.Close()
		}
		log.Warn("shutdown_incomplete")
		return &exitError{code: exitFailure, err: errors.New("serve: shutdown budget exhausted")}
	}
	log.Info("shutdown_complete")
	return nil
}

// bootstrap returns the one-time registration token of API.md §6. While
// no user exists and ARAGORA_BOOTSTRAP_TOKEN is unset, a generated token is
// printed once on stderr (never to the log files).
func bootstrap(ctx context.Context, c serveConfig, svc *auth.Service, stderr io.Writer) (*auth.Bootstrap, error) {
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
