package ratelimit

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/aragora/aragora/internal/enum"
)

// Class is a route class of docs/http-api.md#rate-limits. The values are the wire names
// (route_class in logs, metrics and error details). Its text and JSON form
// is its name; decoding and [ParseClass] reject an unknown name (empty text
// decodes as ClassExempt).
type Class string

// Route classes. ClassExempt ("") is never limited.
const (
	ClassExempt       Class = ""
	ClassGeneral      Class = "general"
	ClassDebateCreate Class = "debate_create"
	ClassAuth         Class = "auth"
)

// Classes lists the limited classes in a fixed order (for metrics that
// initialise every label and for status tables).
var Classes = []Class{ClassGeneral, ClassDebateCreate, ClassAuth}

// ParseClass returns the limited Class named s; an unknown name is an error.
func ParseClass(s string) (Class, error) { return enum.Parse("ratelimit: route class", s, Classes) }

func (c Class) String() string { return string(c) }

// MarshalText returns c's name.
func (c Class) MarshalText() ([]byte, error) { return []byte(c), nil }

// UnmarshalText sets c from its name, rejecting an unknown one.
func (c *Class) UnmarshalText(b []byte) error {
	return enum.Unmarshal(c, b, "ratelimit: route class", Classes)
}

// Defaults of docs/configuration.md.
const (
	DefaultRPM       = 120
	DefaultDebateRPM = 10
	DefaultAuthRPM   = 10
	// EmergencyDivisor divides every limit in emergency mode (rounded up,
	// minimum 1).
	EmergencyDivisor = 10
)

// DefaultTrustedProxies returns the default of ARAGORA_TRUSTED_PROXIES:
// 127.0.0.1/32 and ::1/128.
func DefaultTrustedProxies() []netip.Prefix {
	return []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}
}

// Config configures a [Policy]. The zero value enables limiting with the
// default limits. The package reads no environment: [ParseConfig] builds
// the env-driven fields and the caller sets the hooks.
type Config struct {
	// RPM, DebateRPM and AuthRPM are the limits per client key and minute
	// of the general, debate_create and auth classes; defaults 120, 10, 10.
	// The burst equals the limit.
	RPM, DebateRPM, AuthRPM int
	// Whitelist lists client networks never limited.
	Whitelist []netip.Prefix
	// TrustedProxies lists the peers whose X-Forwarded-For is believed.
	// Nil means DefaultTrustedProxies(); an empty non-nil slice trusts none.
	TrustedProxies []netip.Prefix
	// Disabled turns limiting off: no headers, never 429.
	Disabled bool
	// Emergency divides every limit by EmergencyDivisor, rounded up.
	Emergency bool
	// FailOpen is reported in the snapshots; the caller passes the same
	// value to FallbackConfig.FailOpen.
	FailOpen bool

	// KeyFunc returns the authenticated principal's key ("user:<id>",
	// "key:<id>", "service", "local"), or "" for an anonymous request,
	// which is keyed by client IP. Nil keys every request by IP.
	KeyFunc func(r *http.Request) string
	// CorrelationID returns the request's correlation ID for error bodies.
	// Nil reads the X-Correlation-ID response header already set by the
	// server's middleware, then the request header.
	CorrelationID func(r *http.Request) string
	// OnLimited, if set, is called once per 429 with the route class (for
	// aragora_rate_limit_hits_total). It must be safe for concurrent use.
	OnLimited func(class string)
	// Logger receives WARN rate_limit_exceeded per 429; nil discards. Pass
	// a logger named aragora.ratelimit.
	Logger *slog.Logger
	// Now is the clock of the top_limited statistics; default time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.RPM == 0 {
		c.RPM = DefaultRPM
	}
	if c.DebateRPM == 0 {
		c.DebateRPM = DefaultDebateRPM
	}
	if c.AuthRPM == 0 {
		c.AuthRPM = DefaultAuthRPM
	}
	if c.TrustedProxies == nil {
		c.TrustedProxies = DefaultTrustedProxies()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// ErrInvalidConfig is wrapped by every error of [Config.Validate] and
// [ParseConfig].
var ErrInvalidConfig = errors.New("ratelimit: invalid config")

// Validate reports negative limits and invalid prefixes, wrapping
// ErrInvalidConfig. Zero limits mean the defaults.
func (c Config) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		v    int
	}{{"RPM", c.RPM}, {"DebateRPM", c.DebateRPM}, {"AuthRPM", c.AuthRPM}} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("%w: %s %d: want >= 1", ErrInvalidConfig, f.name, f.v))
		}
	}
	for _, p := range append(append([]netip.Prefix(nil), c.Whitelist...), c.TrustedProxies...) {
		if !p.IsValid() {
			errs = append(errs, fmt.Errorf("%w: invalid prefix %v", ErrInvalidConfig, p))
		}
	}
	return errors.Join(errs...)
}

// RPMOf returns the configured limit of class c, before the emergency
// divisor; 0 for ClassExempt.
func (c Config) RPMOf(class Class) int {
	c = c.withDefaults()
	switch class {
	case ClassGeneral:
		return c.RPM
	case ClassDebateCreate:
		return c.DebateRPM
	case ClassAuth:
		return c.AuthRPM
	}
	return 0
}

// EffectiveRPM returns the limit of class c in force: RPMOf(c), divided by
// EmergencyDivisor and rounded up (minimum 1) in emergency mode.
func (c Config) EffectiveRPM(class Class) int {
	rpm := c.RPMOf(class)
	if rpm == 0 {
		return 0
	}
	if c.Emergency {
		rpm = max(1, (rpm+EmergencyDivisor-1)/EmergencyDivisor)
	}
	return rpm
}

// ConfigError reports an invalid environment variable. Its message has the
// form of docs/configuration.md: config: NAME="value": want ....
type ConfigError struct {
	Var   string
	Value string
	Want  string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("config: %s=%q: want %s", e.Var, e.Value, e.Want)
}

// Unwrap returns ErrInvalidConfig.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

// Environment variables read by [ParseConfig].
const (
	EnvRPM            = "ARAGORA_RATE_LIMIT_RPM"
	EnvDebateRPM      = "ARAGORA_RATE_LIMIT_DEBATE_RPM"
	EnvAuthRPM        = "ARAGORA_RATE_LIMIT_AUTH_RPM"
	EnvWhitelist      = "ARAGORA_RATE_LIMIT_WHITELIST"
	EnvDisabled       = "ARAGORA_RATE_LIMIT_DISABLED"
	EnvEmergency      = "ARAGORA_RATE_LIMIT_EMERGENCY"
	EnvFailOpen       = "ARAGORA_RATE_LIMIT_FAIL_OPEN"
	EnvTrustedProxies = "ARAGORA_TRUSTED_PROXIES"
)

// ParseConfig reads the ARAGORA_RATE_LIMIT_* and ARAGORA_TRUSTED_PROXIES
// variables through getenv (os.Getenv in cmd). Empty values mean unset.
// Every invalid variable yields a *ConfigError naming it; they are joined.
// The hooks of the result are nil.
func ParseConfig(getenv func(string) string) (Config, error) {
	var c Config
	errs := setVars(getenv, nil, "an integer >= 1", func(v string) (int, bool) {
		n, err := strconv.Atoi(v)
		return n, err == nil && n >= 1
	}, []envVar[int]{{EnvRPM, &c.RPM}, {EnvDebateRPM, &c.DebateRPM}, {EnvAuthRPM, &c.AuthRPM}})
	errs = setVars(getenv, errs, "a boolean (1/0, true/false, yes/no, on/off)", parseBool,
		[]envVar[bool]{{EnvDisabled, &c.Disabled}, {EnvEmergency, &c.Emergency}, {EnvFailOpen, &c.FailOpen}})
	var err error
	if c.Whitelist, err = parsePrefixes(EnvWhitelist, getenv(EnvWhitelist)); err != nil {
		errs = append(errs, err)
	}
	if c.TrustedProxies, err = parsePrefixes(EnvTrustedProxies, getenv(EnvTrustedProxies)); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// envVar is a variable of ParseConfig and where its value goes.
type envVar[T any] struct {
	name string
	dst  *T
}

// setVars sets *dst for each of vars that getenv gives a value (trimmed),
// as parse reads it; a value parse refuses is a *ConfigError that wants
// want, appended to errs.
func setVars[T any](getenv func(string) string, errs []error, want string, parse func(string) (T, bool), vars []envVar[T]) []error {
	for _, f := range vars {
		v := strings.TrimSpace(getenv(f.name))
		if v == "" {
			continue
		}
		x, ok := parse(v)
		if !ok {
			errs = append(errs, &ConfigError{Var: f.name, Value: v, Want: want})
			continue
		}
		*f.dst = x
	}
	return errs
}

func parseBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "1", "true", "yes", "on":
		return true, true
	case "0", "false", "no", "off":
		return false, true
	}
	return false, false
}

// parsePrefixes parses comma-separated CIDRs; a bare address is a
// single-host prefix. An empty value returns nil.
func parsePrefixes(name, v string) ([]netip.Prefix, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var out []netip.Prefix
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		p, err := parsePrefix(item)
		if err != nil {
			return nil, &ConfigError{Var: name, Value: v, Want: fmt.Sprintf("comma-separated CIDRs (bad entry %q)", item)}
		}
		out = append(out, p)
	}
	return out, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(0, p.Bits()-96))
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
