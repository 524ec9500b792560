package ratelimit

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
)

// Policy applies the route-class limits of docs/http-api.md#rate-limits to HTTP requests.
// It is safe for concurrent use. Create it with [NewPolicy]; the zero value
// is not usable.
type Policy struct {
	cfg       Config
	emergency atomic.Bool // emergency mode in force; starts as cfg.Emergency
	limiter   Keyed
	hits      [3]atomic.Uint64 // per class, in the order of Classes
	top       *topLimited
	errLog    atomic.Bool // a limiter error has been logged since the last success
}

// NewPolicy returns a Policy deciding with l (nil means a new [Memory]
// with cfg.Now). l is typically a [Memory], or a [Fallback] over
// redislimit. It returns an error wrapping ErrInvalidConfig for a bad cfg.
func NewPolicy(l Keyed, cfg Config) (*Policy, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if l == nil {
		l = NewMemory(MemoryConfig{Now: cfg.Now})
	}
	p := &Policy{cfg: cfg, limiter: l, top: newTopLimited()}
	p.emergency.Store(cfg.Emergency)
	return p, nil
}

// Config returns the effective configuration (defaults applied), with
// Emergency as it is in force now (see [Policy.SetEmergency]).
func (p *Policy) Config() Config {
	c := p.cfg
	c.Emergency = p.emergency.Load()
	return c
}

// Emergency reports whether emergency mode is in force.
func (p *Policy) Emergency() bool { return p.emergency.Load() }

// SetEmergency switches emergency mode on or off at run time and returns
// the previous state. Config.Emergency only sets the initial state. The
// switch is this Policy's, so in a deployment of several replicas it
// affects the replica whose Policy it is; the next request of every class
// is decided with the new limits.
func (p *Policy) SetEmergency(on bool) (previous bool) { return p.emergency.Swap(on) }

// Limit returns the limit in force for class (emergency divisor applied);
// the zero Limit for ClassExempt.
func (p *Policy) Limit(class Class) Limit {
	r := p.Config().EffectiveRPM(class)
	return Limit{Rate: r, Burst: r}
}

// ClassOf returns the route class of r (docs/http-api.md#rate-limits): ClassExempt for
// health, readiness, metrics, WebSocket upgrades and paths outside /api/.
func ClassOf(r *http.Request) Class {
	path := r.URL.Path
	switch {
	case path == "/healthz", path == "/readyz", path == "/livez", path == "/metrics", path == "/api/metrics",
		strings.HasPrefix(path, "/api/health"), isWebSocketUpgrade(r), !strings.HasPrefix(path, "/api/"):
		return ClassExempt
	case r.Method == http.MethodPost && (path == "/api/auth/login" || path == "/api/auth/register" || path == "/api/auth/refresh"):
		return ClassAuth
	case r.Method == http.MethodPost && path == "/api/debates":
		return ClassDebateCreate
	}
	return ClassGeneral
}

func isWebSocketUpgrade(r *http.Request) bool {
	for _, v := range r.Header.Values("Upgrade") {
		for tok := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "websocket") {
				return true
			}
		}
	}
	return false
}

// ClientIP returns the client address of r: the TCP peer, unless the peer
// is a trusted proxy; then the right-most X-Forwarded-For address that is
// not a trusted proxy (docs/http-api.md#rate-limits). IPv4-mapped addresses are unmapped. It
// returns the zero Addr when RemoteAddr cannot be parsed.
func (p *Policy) ClientIP(r *http.Request) netip.Addr {
	peer := parseHostAddr(r.RemoteAddr)
	if !peer.IsValid() || !contains(p.cfg.TrustedProxies, peer) {
		return peer
	}
	client := peer
	vals := r.Header.Values("X-Forwarded-For")
	for i := len(vals) - 1; i >= 0; i-- {
		parts := strings.Split(vals[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a := parseHostAddr(strings.TrimSpace(parts[j]))
			if !a.IsValid() {
				return client // garbage left of the trusted hops: keep the last good address
			}
			client = a
			if !contains(p.cfg.TrustedProxies, a) {
				return client
			}
		}
	}
	return client
}

// parseHostAddr parses "ip", "ip:port" or "[ipv6]:port".
func parseHostAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("")
	}
	return netip.Addr{}
}

func contains(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// IPKey returns the client key of an anonymous client: "ip:<addr>", with
// IPv6 addresses grouped by /64 ("ip:2001:db8:1:2::/64").
func IPKey(a netip.Addr) string {
	if !a.IsValid() {
		return "ip:unknown"
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return "ip:" + p.String()
	}
	return "ip:" + a.String()
}

// ClientKey returns the key r is limited by in class: the principal key
// from Config.KeyFunc, else (and always for ClassAuth) IPKey of the client IP.
func (p *Policy) ClientKey(r *http.Request, class Class) string {
	if class != ClassAuth && p.cfg.KeyFunc != nil {
		if k := p.cfg.KeyFunc(r); k != "" {
			return k
		}
	}
	return IPKey(p.ClientIP(r))
}

// Exempt reports whether the client IP of r is whitelisted.
func (p *Policy) Exempt(r *http.Request) bool {
	return contains(p.cfg.Whitelist, p.ClientIP(r))
}

func bucketKey(class Class, clientKey string) string { return string(class) + ":" + clientKey }

// Middleware limits requests to next. Requests of limited classes get
// X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset; refused
// ones get 429 with Retry-After and the rate_limited error body, a WARN
// rate_limit_exceeded record and an OnLimited call. Exempt classes,
// whitelisted clients and a disabled policy pass untouched (no headers).
// When the limiter fails the request is allowed without headers.
func (p *Policy) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.cfg.Disabled {
			next.ServeHTTP(w, r)
			return
		}
		class := ClassOf(r)
		if class == ClassExempt {
			next.ServeHTTP(w, r)
			return
		}
		ip := p.ClientIP(r)
		if contains(p.cfg.Whitelist, ip) {
			next.ServeHTTP(w, r)
			return
		}
		clientKey := p.ClientKey(r, class)
		lim := p.Limit(class)
		d, err := p.limiter.Allow(r.Context(), bucketKey(class, clientKey), lim)
		if err != nil {
			if !p.errLog.Swap(true) {
				p.cfg.Logger.WarnContext(r.Context(), "rate_limit_error", "route_class", string(class), "error", err.Error())
			}
			next.ServeHTTP(w, r)
			return
		}
		p.errLog.Store(false)
		h := w.Header()
		h.Set("X-RateLimit-Limit", strconv.Itoa(d.Limit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(d.Remaining))
		h.Set("X-RateLimit-Reset", strconv.Itoa(d.ResetSeconds()))
		if d.Allowed {
			next.ServeHTTP(w, r)
			return
		}
		p.refuse(w, r, class, clientKey, ip, d)
	})
}

// ErrorBody is the JSON error body of docs/http-api.md#errors.
type ErrorBody struct {
	Error ErrorObject `json:"error"`
}

// ErrorObject is the error member of [ErrorBody].
type ErrorObject struct {
	Code          string        `json:"code"`
	Message       string        `json:"message"`
	CorrelationID *string       `json:"correlation_id"`
	Details       LimitedDetail `json:"details"`
}

// LimitedDetail is the details member of a rate_limited error.
type LimitedDetail struct {
	RouteClass        Class `json:"route_class"`
	Limit             int   `json:"limit"`
	RetryAfterSeconds int   `json:"retry_after_seconds"`
}

func (p *Policy) refuse(w http.ResponseWriter, r *http.Request, class Class, clientKey string, ip netip.Addr, d Decision) {
	retry := d.RetryAfterSeconds()
	route := r.Pattern
	if route == "" {
		route = r.URL.Path
	}
	p.hits[classIndex(class)].Add(1)
	p.top.record(p.cfg.Now(), bucketKey(class, clientKey), clientKey, ip, class)
	if p.cfg.OnLimited != nil {
		p.cfg.OnLimited(string(class))
	}
	p.cfg.Logger.WarnContext(r.Context(), "rate_limit_exceeded", "client_key", clientKey,
		"client_ip", ipString(ip), "route_class", string(class), "route", route)

	var corr *string
	if id := p.correlationID(w, r); id != "" {
		corr = &id
	}
	body, _ := json.Marshal(ErrorBody{Error: ErrorObject{
		Code:          "rate_limited",
		Message:       fmt.Sprintf("rate limit exceeded for %s: %d requests per minute; retry in %d s", class, d.Limit, retry),
		CorrelationID: corr,
		Details:       LimitedDetail{RouteClass: class, Limit: d.Limit, RetryAfterSeconds: retry},
	}})
	h := w.Header()
	h.Set("Retry-After", strconv.Itoa(retry))
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write(append(body, '\n'))
}

func (p *Policy) correlationID(w http.ResponseWriter, r *http.Request) string {
	if p.cfg.CorrelationID != nil {
		return p.cfg.CorrelationID(r)
	}
	if id := w.Header().Get("X-Correlation-ID"); id != "" {
		return id
	}
	return r.Header.Get("X-Correlation-ID")
}

func ipString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func classIndex(c Class) int {
	switch c {
	case ClassDebateCreate:
		return 1
	case ClassAuth:
		return 2
	}
	return 0
}

// peek reports class's bucket for clientKey without counting an event.
func (p *Policy) peek(ctx context.Context, class Class, clientKey string) BucketStatus {
	lim := p.Limit(class)
	full := BucketStatus{Limit: lim.Rate, Remaining: lim.Rate}
	pk, ok := p.limiter.(Peeker)
	if !ok {
		return full
	}
	d, err := pk.Peek(ctx, bucketKey(class, clientKey), lim)
	if err != nil {
		return full
	}
	return BucketStatus{Limit: d.Limit, Remaining: d.Remaining, ResetSeconds: d.ResetSeconds()}
}
