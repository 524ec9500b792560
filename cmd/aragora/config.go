package main

import (
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// serveConfig is the effective configuration of `aragora serve` (docs/configuration.md).
type serveConfig struct {
	Env                 string
	APIPort, WSPort     int
	Host                string
	DataDir             string
	DatabaseURL         string
	DatabaseURLExplicit bool
	DBSchema            string
	DBPoolSize          int
	DBMaxOverflow       int
	AutoMigrate         bool
	RedisRateLimit      bool
	RedisURL            string
	APIToken            string
	JWTSecret           string
	AccessTTL           time.Duration
	RefreshTTL          time.Duration
	BootstrapToken      string
	OpenRegistration    bool
	LocalAdmin          bool
	MaxConcurrent       int
	QueueSize           int
	DebateTimeout       time.Duration
	AgentTimeout        time.Duration
	ConsensusThreshold  float64
	DefaultAgents       []string
	StaleAfter          time.Duration
	LeaseDuration       time.Duration
	WSMaxConnections    int
	WSMaxPerIP          int
	WSSendBuffer        int
	ShutdownTimeout     time.Duration
	LogFormat, LogLevel string
	LogDir              string
	MetricsEnabled      bool
	MemoryProfiling     bool
	MemoryDumpPath      string
	TrustedProxies      []netip.Prefix
	CORSOrigins         []string
	CBFailureThreshold  int
	CBOpenSeconds       int
	ReceiptSigningKey   string
	ReceiptEd25519Key   string
}

// envReader reads variables with the rules of docs/configuration.md and remembers the
// first error, which names the variable.
type envReader struct {
	getenv env
	err    error
}

func (r *envReader) fail(name, raw, want string) {
	if r.err == nil {
		r.err = fmt.Errorf("config: %s=%q: %s", name, raw, want)
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

func (r *envReader) cidrs(name, def string) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range r.list(name, strings.Split(def, ",")) {
		if p == "" {
			continue
		}
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			a, aerr := netip.ParseAddr(p)
			if aerr != nil {
				r.fail(name, p, "want a comma-separated list of CIDRs")
				return nil
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, pfx)
	}
	return out
}

// loadServeConfig reads the environment (flags are applied by the caller).
func loadServeConfig(getenv env) (serveConfig, error) {
	r := &envReader{getenv: getenv}
	c := serveConfig{}
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
	c.DBMaxOverflow = r.integer("ARAGORA_DB_MAX_OVERFLOW", 5, 0)
	c.AutoMigrate = r.boolean("ARAGORA_AUTO_MIGRATE", true)
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
	_ = r.integer("ARAGORA_RATE_LIMIT_RPM", 120, 1)
	_ = r.integer("ARAGORA_RATE_LIMIT_DEBATE_RPM", 10, 1)
	_ = r.integer("ARAGORA_RATE_LIMIT_AUTH_RPM", 10, 1)
	_ = r.cidrs("ARAGORA_RATE_LIMIT_WHITELIST", "")
	_ = r.boolean("ARAGORA_RATE_LIMIT_DISABLED", false)
	_ = r.boolean("ARAGORA_RATE_LIMIT_EMERGENCY", false)
	_ = r.boolean("ARAGORA_RATE_LIMIT_FAIL_OPEN", false)
	c.TrustedProxies = r.cidrs("ARAGORA_TRUSTED_PROXIES", "127.0.0.1/32,::1/128")
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
	if prod && c.JWTSecret == "" && r.err == nil {
		r.err = fmt.Errorf("config: ARAGORA_JWT_SECRET is required when ARAGORA_ENV=%s", c.Env)
	}
	c.AccessTTL = r.duration("ARAGORA_JWT_ACCESS_TTL", 15*time.Minute)
	c.RefreshTTL = r.duration("ARAGORA_JWT_REFRESH_TTL", 720*time.Hour)
	if c.AccessTTL > c.RefreshTTL && r.err == nil {
		r.fail("ARAGORA_JWT_ACCESS_TTL", c.AccessTTL.String(), "must not exceed ARAGORA_JWT_REFRESH_TTL")
	}
	c.BootstrapToken = r.str("ARAGORA_BOOTSTRAP_TOKEN", "")
	if c.BootstrapToken != "" && len(c.BootstrapToken) < 32 {
		r.fail("ARAGORA_BOOTSTRAP_TOKEN", "(set)", "want at least 32 characters")
	}
	c.OpenRegistration = r.boolean("ARAGORA_OPEN_REGISTRATION", false)
	c.LocalAdmin = r.boolean("ARAGORA_LOCAL_ADMIN", false)
	if prod && c.LocalAdmin && r.err == nil {
		r.err = fmt.Errorf("config: ARAGORA_LOCAL_ADMIN=1 is refused when ARAGORA_ENV=%s", c.Env)
	}
	c.MaxConcurrent = r.integer("ARAGORA_MAX_CONCURRENT_DEBATES", 10, 1)
	c.QueueSize = r.integer("ARAGORA_DEBATE_QUEUE_SIZE", 100, 0)
	c.DebateTimeout = time.Duration(r.integer("ARAGORA_DEBATE_TIMEOUT_SECONDS", 900, 30)) * time.Second
	c.AgentTimeout = time.Duration(r.integer("ARAGORA_AGENT_TIMEOUT_SECONDS", 60, 1)) * time.Second
	c.ConsensusThreshold = r.float("ARAGORA_CONSENSUS_THRESHOLD", 0.6, 0, 1)
	c.DefaultAgents = r.list("ARAGORA_DEFAULT_AGENTS", nil)
	c.CBFailureThreshold = r.integer("ARAGORA_CB_FAILURE_THRESHOLD", 5, 1)
	c.CBOpenSeconds = r.integer("ARAGORA_CB_OPEN_SECONDS", 30, 1)
	c.StaleAfter = time.Duration(r.integer("ARAGORA_STALE_DEBATE_SECONDS", 600, 1)) * time.Second
	c.LeaseDuration = time.Duration(r.integer("ARAGORA_DEBATE_LEASE_SECONDS", 30, 1)) * time.Second
	c.WSMaxConnections = r.integer("ARAGORA_WS_MAX_CONNECTIONS", 1000, 1)
	c.WSMaxPerIP = r.integer("ARAGORA_WS_MAX_PER_IP", 20, 1)
	c.WSSendBuffer = r.integer("ARAGORA_WS_SEND_BUFFER", 256, 1)
	c.ShutdownTimeout = time.Duration(r.integer("ARAGORA_SHUTDOWN_TIMEOUT_SECONDS", 25, 1)) * time.Second
	c.LogFormat = r.str("ARAGORA_LOG_FORMAT", "")
	if c.LogFormat != "" && c.LogFormat != "json" && c.LogFormat != "text" {
		r.fail("ARAGORA_LOG_FORMAT", c.LogFormat, "want json or text")
	}
	c.LogLevel = strings.ToLower(r.str("ARAGORA_LOG_LEVEL", "info"))
	c.LogDir = r.str("ARAGORA_LOG_DIR", "")
	c.MetricsEnabled = r.boolean("METRICS_ENABLED", true)
	c.MemoryProfiling = r.boolean("ARAGORA_MEMORY_PROFILING", false)
	c.MemoryDumpPath = r.str("ARAGORA_MEMORY_DUMP_PATH", "/tmp/aragora_memory_dump.json")
	c.ReceiptSigningKey = r.str("ARAGORA_RECEIPT_SIGNING_KEY", "")
	c.ReceiptEd25519Key = r.str("ARAGORA_RECEIPT_ED25519_KEY", "")
	if c.ReceiptSigningKey != "" && c.ReceiptEd25519Key != "" && r.err == nil {
		r.err = fmt.Errorf("config: ARAGORA_RECEIPT_SIGNING_KEY and ARAGORA_RECEIPT_ED25519_KEY are both set: choose one")
	}
	if err := resolveDatabaseURL(&c, r); err != nil && r.err == nil {
		r.err = err
	}
	return c, r.err
}

// finish validates the combination after flags were applied.
func (c *serveConfig) finish() error {
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config: ARAGORA_LOG_LEVEL=%q: want debug, info, warn or error", c.LogLevel)
	}
	if c.LogFormat != "" && c.LogFormat != "json" && c.LogFormat != "text" {
		return fmt.Errorf("config: ARAGORA_LOG_FORMAT=%q: want json or text", c.LogFormat)
	}
	if c.APIPort > 65535 || c.WSPort > 65535 || c.APIPort < 0 || c.WSPort < 0 {
		return fmt.Errorf("config: ARAGORA_API_PORT/ARAGORA_WS_PORT: want 0-65535")
	}
	if c.WSPort != 0 && c.APIPort == c.WSPort {
		return fmt.Errorf("config: ARAGORA_WS_PORT=%d equals ARAGORA_API_PORT: use different ports", c.WSPort)
	}
	if c.Env != "development" && !c.DatabaseURLExplicit {
		return fmt.Errorf("config: ARAGORA_DATABASE_URL or SUPABASE_URL must be set when ARAGORA_ENV=%s (the implicit SQLite default is for development only)", c.Env)
	}
	return nil
}
