package service

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/aragora/aragora/agent/registry"
	"github.com/aragora/aragora/internal/errreport"
	"github.com/aragora/aragora/ratelimit"
	"github.com/aragora/aragora/server"
	"github.com/aragora/aragora/tracing"
	"github.com/aragora/aragora/webhook"
)

// Config is the configuration of the whole service (docs/configuration.md).
// The zero value works: development mode, SQLite under ./data, the demo
// agents, the API on an ephemeral port of every interface, no WebSocket
// listener, no Redis, in-memory rate limits, metrics on. ConfigFromEnv
// builds one from the environment exactly as `aragora serve` does.
type Config struct {
	// Env is development (default), staging or production; staging and
	// production require JWTSecret and an explicit DatabaseURL.
	Env string

	// Listeners (Run). Host "" binds every interface. APIPort 0 binds an
	// ephemeral port (APIAddr reports it); WSPort 0 runs no WebSocket
	// listener (WebSockets stay on the API port).
	Host            string
	APIPort, WSPort int
	// ShutdownTimeout bounds the shutdown sequence; default 25 s.
	ShutdownTimeout time.Duration
	// Signals makes Run handle SIGTERM and SIGINT (graceful shutdown; a
	// second one makes Run return at once with ErrForcedExit), SIGUSR1
	// (close every WebSocket with 1012) and SIGHUP (reopen the log files).
	Signals bool

	// Stores. DataDir holds the SQLite files and the development JWT
	// secret; default ./data. DatabaseURL is sqlite:///abs/path,
	// sqlite://rel/path, postgres://… or memory://; "" means SQLite under
	// DataDir (development only).
	DataDir     string
	DatabaseURL string
	DBSchema    string // Postgres schema; default public
	DBPoolSize  int    // default 10
	// DBMaxOverflow is the Postgres connections above the pool; default
	// 5, negative: none.
	DBMaxOverflow int
	// SkipMigrations opens the store without migrating; readiness stays
	// 503 until `aragora migrate` has run.
	SkipMigrations bool
	// RedisURL enables Redis (redis:// or rediss://): health check,
	// deny-list cache, cross-replica fan-out; RedisRateLimit also shares
	// the rate limits through it.
	RedisURL       string
	RedisRateLimit bool

	// Authentication (docs/configuration.md).
	APIToken         string // service token; "" none
	JWTSecret        string // "" in development: generated into DataDir/jwt_secret
	AccessTTL        time.Duration
	RefreshTTL       time.Duration
	BootstrapToken   string
	OpenRegistration bool
	LocalAdmin       bool
	// TrustedProxies are the peers whose X-Forwarded-For is believed; nil:
	// 127.0.0.1/32 and ::1/128.
	TrustedProxies []netip.Prefix
	// CORSOrigins are the browser origins allowed (CORS and the WebSocket
	// Origin check).
	CORSOrigins []string

	// RateLimit is the HTTP rate-limit policy (its TrustedProxies field is
	// ignored: TrustedProxies above is the one list).
	RateLimit ratelimit.Config

	// Debates. Zero values take the defaults of docs/configuration.md.
	MaxConcurrent      int
	QueueSize          int // default 100, negative: no queue
	DebateTimeout      time.Duration
	AgentTimeout       time.Duration
	ConsensusThreshold float64
	StaleAfter         time.Duration
	LeaseDuration      time.Duration
	// ReceiptSigningKey (HMAC) or ReceiptEd25519Key (base64 seed) signs
	// receipts; at most one.
	ReceiptSigningKey string
	ReceiptEd25519Key string

	// Agents configures the agent registry: provider keys, base URLs,
	// models, breakers, default agents, and the program's own providers
	// (Agents.Providers, docs/agents.md#writing-a-provider). Its
	// AgentTimeout is AgentTimeout above when that is set.
	Agents registry.Config
	// DemoDelay makes every demo agent call wait that long (testing only).
	DemoDelay time.Duration
	// DemoGate, when set, names a file every demo agent call after a
	// debate's first round waits for (testing only): the replica tests
	// hold their debates mid-way until they have killed a replica.
	DemoGate string

	// Webhooks configures webhook delivery (docs/webhooks.md).
	Webhooks WebhooksConfig

	// Memory configures the continuum memory (docs/memory.md).
	Memory MemoryConfig

	// WebSockets.
	WSMaxConnections int
	WSMaxPerIP       int
	WSSendBuffer     int

	// Logs (docs/operations.md). LogFormat json or text ("" text in
	// development, json otherwise); LogLevel debug, info (default), warn or
	// error; LogDir, when set, holds api/websocket/debate/agent.log.
	LogFormat, LogLevel string
	LogDir              string
	// Stderr receives the logs without LogDir, WARN and above with it, and
	// the one-time bootstrap token; default os.Stderr.
	Stderr io.Writer

	DisableMetrics  bool
	MemoryProfiling bool
	MemoryDumpPath  string
	// SentryDSN (SENTRY_DSN), when set, reports ERROR logs, panics and 5xx
	// answers to Sentry (docs/DEPLOY.md#sentry).
	SentryDSN string

	// Tracing configures the OTLP trace exporter from the OTEL_* variables
	// (docs/observability.md#traces); its zero value is tracing off.
	Tracing tracing.Config
	// TracerProvider, when set, receives the service's spans instead of a
	// provider built from Tracing (a library user's own SDK setup, or a
	// test's); the caller shuts it down. Nil with Tracing off: no tracing
	// at all, not even a no-op wrapper.
	TracerProvider trace.TracerProvider

	// Routes are extra API routes of the embedding program, served like the
	// built-in ones (correlation ids, logs, authentication, role and rate
	// limit class).
	Routes []server.Route

	// DisableConsole leaves out the web console (/login, /admin, /portal,
	// /debates, docs/console.md), which Open serves on the API listener
	// otherwise.
	DisableConsole bool

	// Version and Commit are reported by /api/health and the metrics;
	// defaults "0.0.0-dev" and "unknown".
	Version, Commit string

	// supabaseKeyIgnored records SUPABASE_KEY set without SUPABASE_URL,
	// which Open warns about.
	supabaseKeyIgnored bool
}

// ConfigError is a configuration error: a bad value (its message names
// the variable, e.g. config: ARAGORA_DB_POOL_SIZE="abc": want an integer
// >= 1), a bad combination, a schema this binary cannot run on, or a data
// directory it cannot use. `aragora serve` exits 2 on it.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *ConfigError) Unwrap() error { return e.Err }

// configErrorf returns a *ConfigError.
func configErrorf(format string, args ...any) error {
	return &ConfigError{Err: fmt.Errorf(format, args...)}
}

// IsConfigError reports whether err is (or wraps) a *ConfigError.
func IsConfigError(err error) bool {
	var ce *ConfigError
	return errors.As(err, &ce)
}

// envReader reads variables with the rules of docs/configuration.md and
// remembers the first error, which names the variable.
type envReader struct {
	getenv func(string) string
	err    error
}

func (r *envReader) fail(name, raw, want string) {
	if r.err == nil {
		r.err = fmt.Errorf("config: %s=%q: %s", name, raw, want)
	}
}

func (r *envReader) failf(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

func (r *envReader) str(name, def string) string {
	if v := strings.TrimSpace(r.getenv(name)); v != "" {
		return v
	}
	return def
}

func (r *envReader) integer(name string, def, min int) int {
	raw := strings.TrimSpace(r.getenv(name))
	if raw == "" {
		return def
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < min {
		r.fail(name, raw, fmt.Sprintf("want an integer >= %d", min))
		return def
	}
	return n
}

func (r *envReader) seconds(name string, def, min int) time.Duration {
	return time.Duration(r.integer(name, def, min)) * time.Second
}

func (r *envReader) boolean(name string, def bool) bool {
	raw := strings.TrimSpace(r.getenv(name))
	if raw == "" {
		return def
	}
	switch strings.ToLower(raw) {
	case "1", "true", "yes", "on":
		return true
	case "0", "false", "no", "off":
		return false
	}
	r.fail(name, raw, "want a boolean (1/0, true/false, yes/no, on/off)")
	return def
}

func (r *envReader) duration(name string, def time.Duration) time.Duration {
	raw := r.str(name, "")
	if raw == "" {
		return def
	}
	d, err := time.ParseDuration(raw)
	if err != nil || d <= 0 {
		r.fail(name, raw, "want a positive Go duration such as 15m")
		return def
	}
	return d
}

func (r *envReader) float(name string, def, lo, hi float64) float64 {
	raw := strings.TrimSpace(r.getenv(name))
	if raw == "" {
		return def
	}
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil || !(f > lo && f <= hi) {
		r.fail(name, raw, fmt.Sprintf("want a number in (%g, %g]", lo, hi))
		return def
	}
	return f
}

func (r *envReader) list(name string, def []string) []string {
	raw := strings.TrimSpace(r.getenv(name))
	if raw == "" {
		return def
	}
	var out []string
	for _, p := range strings.Split(raw, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// demoDelayEnv names a hidden, testing-only variable: when set to an
// integer number of milliseconds, every demo agent call waits that long
// (respecting its context) before answering.
const demoDelayEnv = "ARAGORA_DEMO_DELAY_MS"

// DemoDelayFromEnv reads the testing-only ARAGORA_DEMO_DELAY_MS; unset or
// empty means no delay.
func DemoDelayFromEnv(getenv func(string) string) (time.Duration, error) {
	r := envReader{getenv: getenv}
	ms := r.integer(demoDelayEnv, 0, 0)
	return time.Duration(ms) * time.Millisecond, r.err
}

// demoGateEnv names a hidden, testing-only variable: a file path every
// demo agent call after a debate's first round waits for (Config.DemoGate).
const demoGateEnv = "ARAGORA_DEMO_GATE"

// agentTimeoutEnv bounds each agent call, in seconds (docs/configuration.md).
const agentTimeoutEnv = "ARAGORA_AGENT_TIMEOUT_SECONDS"

// AgentTimeoutFromEnv reads ARAGORA_AGENT_TIMEOUT_SECONDS by the rule of
// ConfigFromEnv (an integer >= 1) for the programs that run agents without
// the service; unset or empty gives 0, the library default.
func AgentTimeoutFromEnv(getenv func(string) string) (time.Duration, error) {
	r := envReader{getenv: getenv}
	d := r.seconds(agentTimeoutEnv, 0, 1)
	return d, r.err
}

// ConfigFromEnv reads the configuration of docs/configuration.md through
// getenv (os.Getenv in the binary; a map in tests), with the defaults of
// `aragora serve`: API port 8080, WebSocket port 8766 (0 turns it off),
// host 0.0.0.0. An empty value means unset. The first invalid value is
// returned as a *ConfigError naming the variable; combinations are checked
// by Validate, which a caller applying flags on top calls afterwards.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	r := &envReader{getenv: getenv}
	c := Config{}
	c.Env = r.str("ARAGORA_ENV", "development")
	switch c.Env {
	case "development", "staging", "production":
	default:
		r.fail("ARAGORA_ENV", c.Env, "want development, staging or production")
	}
	prod := c.Env != "development"
	c.APIPort = r.integer("ARAGORA_API_PORT", 8080, 0)
	c.WSPort = r.integer("ARAGORA_WS_PORT", 8766, 0)
	c.Host = r.str("ARAGORA_BIND_HOST", "0.0.0.0")
	c.DataDir = r.str("ARAGORA_DATA_DIR", "./data")
	c.DatabaseURL = r.str("ARAGORA_DATABASE_URL", "")
	c.DBSchema = r.str("ARAGORA_DB_SCHEMA", "public")
	c.DBPoolSize = r.integer("ARAGORA_DB_POOL_SIZE", 10, 1)
	if c.DBMaxOverflow = r.integer("ARAGORA_DB_MAX_OVERFLOW", 5, 0); c.DBMaxOverflow == 0 {
		c.DBMaxOverflow = -1
	}
	c.SkipMigrations = !r.boolean("ARAGORA_AUTO_MIGRATE", true)
	c.RedisURL = r.str("ARAGORA_REDIS_URL", "")
	if c.RedisURL != "" {
		if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			r.fail("ARAGORA_REDIS_URL", "(set)", "want redis://[:password@]host:port/db or rediss://")
		}
	}
	c.RedisRateLimit = r.boolean("ARAGORA_ENABLE_REDIS_RATE_LIMIT", false)
	if c.RedisRateLimit && c.RedisURL == "" {
		r.fail("ARAGORA_ENABLE_REDIS_RATE_LIMIT", getenv("ARAGORA_ENABLE_REDIS_RATE_LIMIT"), "requires ARAGORA_REDIS_URL")
	}
	rl, err := ratelimit.ParseConfig(getenv)
	if err != nil && r.err == nil {
		r.err = err
	}
	c.RateLimit = rl
	c.TrustedProxies = rl.TrustedProxies
	if c.TrustedProxies == nil {
		c.TrustedProxies = ratelimit.DefaultTrustedProxies()
	}
	defOrigins := []string{"http://localhost:3000", "http://127.0.0.1:3000"}
	if prod {
		defOrigins = nil
	}
	c.CORSOrigins = r.list("ARAGORA_CORS_ORIGINS", defOrigins)
	for _, o := range c.CORSOrigins {
		if o == "*" && prod {
			r.fail("ARAGORA_CORS_ORIGINS", "*", "'*' is refused in staging and production")
		}
	}
	c.APIToken = r.str("ARAGORA_API_TOKEN", "")
	if prod && c.APIToken != "" && len(c.APIToken) < 32 {
		r.fail("ARAGORA_API_TOKEN", "(set)", "want at least 32 characters in "+c.Env)
	}
	c.JWTSecret = r.str("ARAGORA_JWT_SECRET", "")
	if c.JWTSecret != "" && len(c.JWTSecret) < 32 {
		r.fail("ARAGORA_JWT_SECRET", "(set)", "want at least 32 bytes")
	}
	if prod && c.JWTSecret == "" {
		r.failf("config: ARAGORA_JWT_SECRET is required when ARAGORA_ENV=%s", c.Env)
	}
	c.AccessTTL = r.duration("ARAGORA_JWT_ACCESS_TTL", 15*time.Minute)
	c.RefreshTTL = r.duration("ARAGORA_JWT_REFRESH_TTL", 720*time.Hour)
	if c.AccessTTL > c.RefreshTTL {
		r.fail("ARAGORA_JWT_ACCESS_TTL", c.AccessTTL.String(), "must not exceed ARAGORA_JWT_REFRESH_TTL")
	}
	c.BootstrapToken = r.str("ARAGORA_BOOTSTRAP_TOKEN", "")
	if c.BootstrapToken != "" && len(c.BootstrapToken) < 32 {
		r.fail("ARAGORA_BOOTSTRAP_TOKEN", "(set)", "want at least 32 characters")
	}
	c.OpenRegistration = r.boolean("ARAGORA_OPEN_REGISTRATION", false)
	c.LocalAdmin = r.boolean("ARAGORA_LOCAL_ADMIN", false)
	if prod && c.LocalAdmin {
		r.failf("config: ARAGORA_LOCAL_ADMIN=1 is refused when ARAGORA_ENV=%s", c.Env)
	}
	c.MaxConcurrent = r.integer("ARAGORA_MAX_CONCURRENT_DEBATES", 10, 1)
	if c.QueueSize = r.integer("ARAGORA_DEBATE_QUEUE_SIZE", 100, 0); c.QueueSize == 0 {
		c.QueueSize = -1
	}
	c.DebateTimeout = r.seconds("ARAGORA_DEBATE_TIMEOUT_SECONDS", 900, 30)
	c.AgentTimeout = r.seconds(agentTimeoutEnv, 60, 1)
	c.ConsensusThreshold = r.float("ARAGORA_CONSENSUS_THRESHOLD", 0.6, 0, 1)
	_ = r.integer("ARAGORA_CB_FAILURE_THRESHOLD", 5, 1)
	_ = r.integer("ARAGORA_CB_OPEN_SECONDS", 30, 1)
	c.StaleAfter = r.seconds("ARAGORA_STALE_DEBATE_SECONDS", 600, 1)
	c.LeaseDuration = r.seconds("ARAGORA_DEBATE_LEASE_SECONDS", 30, 1)
	c.WSMaxConnections = r.integer("ARAGORA_WS_MAX_CONNECTIONS", 1000, 1)
	c.WSMaxPerIP = r.integer("ARAGORA_WS_MAX_PER_IP", 20, 1)
	c.WSSendBuffer = r.integer("ARAGORA_WS_SEND_BUFFER", 256, 1)
	c.ShutdownTimeout = r.seconds("ARAGORA_SHUTDOWN_TIMEOUT_SECONDS", 25, 1)
	c.Webhooks = readWebhooks(r)
	c.Memory = readMemory(r)
	c.LogFormat = r.str("ARAGORA_LOG_FORMAT", "")
	if c.LogFormat != "" && c.LogFormat != "json" && c.LogFormat != "text" {
		r.fail("ARAGORA_LOG_FORMAT", c.LogFormat, "want json or text")
	}
	c.LogLevel = strings.ToLower(r.str("ARAGORA_LOG_LEVEL", "info"))
	c.LogDir = r.str("ARAGORA_LOG_DIR", "")
	c.DisableMetrics = !r.boolean("METRICS_ENABLED", true)
	c.MemoryProfiling = r.boolean("ARAGORA_MEMORY_PROFILING", false)
	c.MemoryDumpPath = r.str("ARAGORA_MEMORY_DUMP_PATH", "/tmp/aragora_memory_dump.json")
	c.SentryDSN = r.str("SENTRY_DSN", "")
	if err := errreport.ValidDSN(c.SentryDSN); err != nil && r.err == nil {
		r.err = err
	}
	if tc, err := tracing.FromEnv(getenv); err != nil && r.err == nil {
		r.err = fmt.Errorf("config: %w", err)
	} else {
		c.Tracing = tc
	}
	c.ReceiptSigningKey = r.str("ARAGORA_RECEIPT_SIGNING_KEY", "")
	c.ReceiptEd25519Key = r.str("ARAGORA_RECEIPT_ED25519_KEY", "")
	if _, err := ParseReceiptKeys(c.ReceiptSigningKey, c.ReceiptEd25519Key); err != nil && r.err == nil {
		r.err = err
	}
	c.supabaseKeyIgnored = getenv("SUPABASE_KEY") != "" && getenv("SUPABASE_URL") == ""
	if err := resolveSupabase(&c, getenv); err != nil && r.err == nil {
		r.err = err
	}
	if d, err := DemoDelayFromEnv(getenv); err != nil && r.err == nil {
		r.err = err
	} else {
		c.DemoDelay = d
	}
	c.DemoGate = r.str(demoGateEnv, "")
	if r.err == nil {
		agents, err := registry.FromEnv(getenv)
		if err != nil {
			r.err = err
		}
		c.Agents = agents
	}
	if r.err != nil {
		return c, &ConfigError{Err: r.err}
	}
	return c, nil
}

// resolveSupabase applies the SUPABASE_URL rule of docs/configuration.md
// when ARAGORA_DATABASE_URL is unset.
func resolveSupabase(c *Config, getenv func(string) string) error {
	if c.DatabaseURL != "" {
		return nil
	}
	sb := strings.TrimSpace(getenv("SUPABASE_URL"))
	if sb == "" {
		return nil
	}
	pw := getenv("SUPABASE_DB_PASSWORD")
	if pw == "" {
		return fmt.Errorf("config: SUPABASE_URL is set but SUPABASE_DB_PASSWORD is not: set SUPABASE_DB_PASSWORD")
	}
	u, err := url.Parse(sb)
	if err != nil || u.Host == "" {
		return fmt.Errorf("config: SUPABASE_URL=%q: want https://<ref>.supabase.co", sb)
	}
	ref, _, _ := strings.Cut(u.Hostname(), ".")
	c.DatabaseURL = fmt.Sprintf("postgres://postgres:%s@db.%s.supabase.co:5432/postgres?sslmode=require", url.QueryEscape(pw), ref)
	return nil
}

// Validate reports invalid values and combinations (after flags were
// applied on top of ConfigFromEnv) as a *ConfigError naming the variable.
func (c Config) Validate() error {
	switch c.Env {
	case "", "development", "staging", "production":
	default:
		return configErrorf("config: ARAGORA_ENV=%q: want development, staging or production", c.Env)
	}
	switch c.LogLevel {
	case "", "debug", "info", "warn", "error":
	default:
		return configErrorf("config: ARAGORA_LOG_LEVEL=%q: want debug, info, warn or error", c.LogLevel)
	}
	if c.LogFormat != "" && c.LogFormat != "json" && c.LogFormat != "text" {
		return configErrorf("config: ARAGORA_LOG_FORMAT=%q: want json or text", c.LogFormat)
	}
	if c.APIPort > 65535 || c.WSPort > 65535 || c.APIPort < 0 || c.WSPort < 0 {
		return configErrorf("config: ARAGORA_API_PORT/ARAGORA_WS_PORT: want 0-65535")
	}
	if c.WSPort != 0 && c.APIPort == c.WSPort {
		return configErrorf("config: ARAGORA_WS_PORT=%d equals ARAGORA_API_PORT: use different ports", c.WSPort)
	}
	if c.production() && c.DatabaseURL == "" {
		return configErrorf("config: ARAGORA_DATABASE_URL or SUPABASE_URL must be set when ARAGORA_ENV=%s (the implicit SQLite default is for development only)", c.Env)
	}
	if _, err := ParseReceiptKeys(c.ReceiptSigningKey, c.ReceiptEd25519Key); err != nil {
		return &ConfigError{Err: err}
	}
	if err := c.Tracing.Validate(); err != nil {
		return &ConfigError{Err: fmt.Errorf("config: %w", err)}
	}
	if err := errreport.ValidDSN(c.SentryDSN); err != nil {
		return &ConfigError{Err: err}
	}
	if _, err := c.Webhooks.endpoints(); err != nil {
		return err
	}
	if c.Webhooks.QueueSize < 0 || c.Webhooks.MaxAttempts < 0 {
		return configErrorf("config: ARAGORA_WEBHOOK_QUEUE_SIZE and ARAGORA_WEBHOOK_MAX_ATTEMPTS: want integers >= 1")
	}
	return nil
}

func (c Config) production() bool { return c.Env == "staging" || c.Env == "production" }

// withDefaults fills the zero fields with the defaults of
// docs/configuration.md.
func (c Config) withDefaults() Config {
	if c.Env == "" {
		c.Env = "development"
	}
	if c.DataDir == "" {
		c.DataDir = "./data"
	}
	if c.DBSchema == "" {
		c.DBSchema = "public"
	}
	if c.DBPoolSize <= 0 {
		c.DBPoolSize = 10
	}
	if c.DBMaxOverflow == 0 {
		c.DBMaxOverflow = 5
	}
	if c.AccessTTL <= 0 {
		c.AccessTTL = 15 * time.Minute
	}
	if c.RefreshTTL <= 0 {
		c.RefreshTTL = 720 * time.Hour
	}
	if c.TrustedProxies == nil {
		c.TrustedProxies = ratelimit.DefaultTrustedProxies()
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 25 * time.Second
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	if c.MemoryDumpPath == "" {
		c.MemoryDumpPath = "/tmp/aragora_memory_dump.json"
	}
	if c.Version == "" {
		c.Version = "0.0.0-dev"
	}
	if c.Commit == "" {
		c.Commit = "unknown"
	}
	if c.AgentTimeout > 0 {
		c.Agents.AgentTimeout = c.AgentTimeout
	}
	if c.Webhooks.QueueSize <= 0 {
		c.Webhooks.QueueSize = webhook.DefaultQueueSize
	}
	if c.Webhooks.MaxAttempts <= 0 {
		c.Webhooks.MaxAttempts = webhook.DefaultMaxAttempts
	}
	return c
}

// SpoolDir is where a process keeps what it computed but could not commit
// (docs/operations.md#the-result-spool): DataDir/spool, with SQLite and
// Postgres alike.
func (c Config) SpoolDir() string { return filepath.Join(c.DataDir, "spool") }

// storeURL is the effective store URL: DatabaseURL, or SQLite under DataDir.
func (c Config) storeURL() string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	return "sqlite://" + filepath.Join(c.DataDir, "aragora.db")
}
