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

	"github.com/aragora/aragora/clientip"
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

// ClientIP returns the client address of r: the one the server decided
// for the request (clientip.NewContext), else clientip.Of with the
// configured trusted proxies (docs/http-api.md#rate-limits). It returns
// the zero Addr when RemoteAddr cannot be parsed.
func (p *Policy) ClientIP(r *http.Request) netip.Addr {
	return clientip.Resolve(r, p.cfg.TrustedProxies)
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
	return clientip.Contains(p.cfg.Whitelist, p.ClientIP(r))
}

func bucketKey(class Class, clientKey string) string { return string(class) + ":" + clientKey }

// Handler limits next, a route of class. Requests of limited classes get
// X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset; refused
// ones get 429 with Retry-After and the rate_limited error body, a WARN
// rate_limit_exceeded record and an OnLimited call. Exempt classes,
// whitelisted clients and a disabled policy pass untouched (no headers).
// When the limiter fails the request is allowed without headers. The
// class of each route is the server's route table's (docs/http-api.md#rate-limits).
func (p *Policy) Handler(class Class, next http.Handler) http.Handler {
	if class == ClassExempt {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.cfg.Disabled {
			next.ServeHTTP(w, r)
			return
		}
		ip := p.ClientIP(r)
		if clientip.Contains(p.cfg.Whitelist, ip) {
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
	// route is named as in the request log line: the mux pattern
	// without its method, else the path.
	route := r.Pattern
	if _, path, ok := strings.Cut(route, " "); ok {
		route = path
	}
	if route == "" {
		route = r.URL.Path
	}
	p.hits[classIndex(class)].Add(1)
	p.top.record(p.cfg.Now(), bucketKey(class, clientKey), clientKey, ip, class)
	if p.cfg.OnLimited != nil {
		p.cfg.OnLimited(string(class))
	}
	p.cfg.Logger.WarnContext(r.Context(), "rate_limit_exceeded", "client_key", clientKey,
		"client_ip", clientip.String(ip), "route_class", string(class), "route", route)

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
