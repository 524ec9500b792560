package ratelimit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aragora/aragora/internal/testclock"
	"github.com/aragora/aragora/ratelimit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClientIPAndKey(t *testing.T) {
	t.Parallel()
	p, err := ratelimit.NewPolicy(nil, ratelimit.Config{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128"),
			netip.MustParsePrefix("10.0.0.0/8")},
	})
	require.NoError(t, err)
	tests := []struct {
		name    string
		remote  string
		xff     []string
		wantIP  string
		wantKey string
	}{
		{name: "untrusted peer, no header", remote: "203.0.113.7:4242", wantIP: "203.0.113.7", wantKey: "ip:203.0.113.7"},
		{name: "untrusted peer spoofing X-Forwarded-For", remote: "203.0.113.7:4242", xff: []string{"1.2.3.4"},
			wantIP: "203.0.113.7", wantKey: "ip:203.0.113.7"},
		{name: "trusted proxy", remote: "127.0.0.1:80", xff: []string{"198.51.100.1"}, wantIP: "198.51.100.1", wantKey: "ip:198.51.100.1"},
		{name: "client spoofs the left of the chain", remote: "127.0.0.1:80", xff: []string{"1.2.3.4, 198.51.100.1, 10.0.0.5"},
			wantIP: "198.51.100.1", wantKey: "ip:198.51.100.1"},
		{name: "several header lines", remote: "10.0.0.9:80", xff: []string{"1.2.3.4", "198.51.100.2", "10.0.0.5"},
			wantIP: "198.51.100.2", wantKey: "ip:198.51.100.2"},
		{name: "only proxies", remote: "127.0.0.1:80", xff: []string{"10.0.0.1, 10.0.0.2"}, wantIP: "10.0.0.1", wantKey: "ip:10.0.0.1"},
		{name: "garbage stops at the last good hop", remote: "127.0.0.1:80", xff: []string{"nonsense, 10.0.0.2"},
			wantIP: "10.0.0.2", wantKey: "ip:10.0.0.2"},
		{name: "address with port in header", remote: "127.0.0.1:80", xff: []string{"198.51.100.3:5555"},
			wantIP: "198.51.100.3", wantKey: "ip:198.51.100.3"},
		{name: "IPv6 grouped by /64", remote: "[2001:db8:1:2:3:4:5:6]:443", wantIP: "2001:db8:1:2:3:4:5:6",
			wantKey: "ip:2001:db8:1:2::/64"},
		{name: "IPv6 behind IPv6 proxy", remote: "[::1]:443", xff: []string{"2001:db8:aa:bb::1"}, wantIP: "2001:db8:aa:bb::1",
			wantKey: "ip:2001:db8:aa:bb::/64"},
		{name: "IPv4-mapped peer", remote: "[::ffff:203.0.113.8]:1", wantIP: "203.0.113.8", wantKey: "ip:203.0.113.8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("GET", "/api/debates", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			assert.Equal(t, tt.wantIP, p.ClientIP(r).String())
			assert.Equal(t, tt.wantKey, p.ClientKey(r, ratelimit.ClassGeneral))
		})
	}
}

// harness serves a policy-wrapped handler that sets X-Correlation-ID first,
// as the server's outer middleware does.
type harness struct {
	p     *ratelimit.Policy
	h     http.Handler
	clock *testclock.Clock
	logs  *bytes.Buffer
	mu    sync.Mutex
	hits  map[string]int
}

func newHarness(t *testing.T, cfg ratelimit.Config) *harness {
	t.Helper()
	h := &harness{clock: newClock(), logs: &bytes.Buffer{}, hits: map[string]int{}}
	cfg.Now = h.clock.Now
	cfg.Logger = slog.New(slog.NewTextHandler(&lockedWriter{w: h.logs, mu: &h.mu}, nil))
	cfg.OnLimited = func(class string) { h.mu.Lock(); h.hits[class]++; h.mu.Unlock() }
	if cfg.KeyFunc == nil {
		cfg.KeyFunc = func(r *http.Request) string {
			if u := r.Header.Get("X-Test-User"); u != "" {
				return "user:" + u
			}
			return ""
		}
	}
	p, err := ratelimit.NewPolicy(ratelimit.NewMemory(ratelimit.MemoryConfig{Now: h.clock.Now}), cfg)
	require.NoError(t, err)
	h.p = p
	// The routes the tests call, classed as the server's route table does.
	inner := http.NewServeMux()
	noContent := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	for pattern, class := range map[string]ratelimit.Class{
		"GET /api/debates": ratelimit.ClassGeneral, "POST /api/debates": ratelimit.ClassDebateCreate,
		"POST /api/auth/login": ratelimit.ClassAuth, "POST /api/auth/refresh": ratelimit.ClassAuth,
		"GET /healthz": ratelimit.ClassExempt, "GET /ws": ratelimit.ClassExempt,
	} {
		inner.Handle(pattern, p.Handler(class, noContent))
	}
	h.h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Correlation-ID", "corr-test")
		inner.ServeHTTP(w, r)
	})
	return h
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func (h *harness) do(method, path, remote string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	r.RemoteAddr = remote
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.h.ServeHTTP(w, r)
	return w
}

func TestMiddleware429(t *testing.T) {
	t.Parallel()
	h := newHarness(t, ratelimit.Config{})
	for i := range 10 {
		w := h.do("POST", "/api/debates", "203.0.113.7:1000")
		require.Equal(t, http.StatusNoContent, w.Code, "request %d", i+1)
		assert.Equal(t, "10", w.Header().Get("X-RateLimit-Limit"))
		assert.Equal(t, fmt.Sprint(9-i), w.Header().Get("X-RateLimit-Remaining"))
		assert.Equal(t, fmt.Sprint(6*(i+1)), w.Header().Get("X-RateLimit-Reset"))
		assert.Empty(t, w.Header().Get("Retry-After"))
	}
	w := h.do("POST", "/api/debates", "203.0.113.7:1000")
	require.Equal(t, http.StatusTooManyRequests, w.Code)
	assert.Equal(t, "6", w.Header().Get("Retry-After"))
	assert.Equal(t, "10", w.Header().Get("X-RateLimit-Limit"))
	assert.Equal(t, "0", w.Header().Get("X-RateLimit-Remaining"))
	assert.Equal(t, "60", w.Header().Get("X-RateLimit-Reset"))
	assert.Equal(t, "application/json; charset=utf-8", w.Header().Get("Content-Type"))
	assert.JSONEq(t, `{"error":{"code":"rate_limited","message":"rate limit exceeded for debate_create: 10 requests per minute; retry in 6 s",`+
		`"correlation_id":"corr-test","details":{"route_class":"debate_create","limit":10,"retry_after_seconds":6}}}`, w.Body.String())
	assert.Equal(t, `{"error":{"code":"rate_limited",`, w.Body.String()[:32], "code comes first")

	h.mu.Lock()
	assert.Equal(t, map[string]int{"debate_create": 1}, h.hits)
	logs := h.logs.String()
	h.mu.Unlock()
	assert.Contains(t, logs, `level=WARN msg=rate_limit_exceeded client_key=ip:203.0.113.7 client_ip=203.0.113.7 route_class=debate_create route=/api/debates`)

	// The general class has its own budget.
	w = h.do("GET", "/api/debates", "203.0.113.7:1000")
	assert.Equal(t, http.StatusNoContent, w.Code)
	assert.Equal(t, "120", w.Header().Get("X-RateLimit-Limit"))

	// A refill interval later one more debate fits.
	h.clock.Advance(6 * time.Second)
	assert.Equal(t, http.StatusNoContent, h.do("POST", "/api/debates", "203.0.113.7:1000").Code)
}

func TestMiddlewareSpoofedForwardedForKeepsKey(t *testing.T) {
	t.Parallel()
	h := newHarness(t, ratelimit.Config{DebateRPM: 3})
	codes := make([]int, 0, 6)
	for i := range 6 {
		w := h.do("POST", "/api/debates", "203.0.113.7:1000", "X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i))
		codes = append(codes, w.Code)
	}
	assert.Equal(t, []int{204, 204, 204, 429, 429, 429}, codes)
	snap := h.p.SystemSnapshot()
	require.Len(t, snap.TopLimited, 1)
	assert.Equal(t, "ip:203.0.113.7", snap.TopLimited[0].Key)
}

func TestMiddlewareWhitelist(t *testing.T) {
	t.Parallel()
	h := newHarness(t, ratelimit.Config{
		AuthRPM:   1,
		Whitelist: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:ff::/48")},
	})
	for _, remote := range []string{"10.1.2.3:1", "[2001:db8:ff:1::9]:1", "127.0.0.1:1"} {
		t.Run(remote, func(t *testing.T) {
			xff := []string{}
			if strings.HasPrefix(remote, "127.") { // a whitelisted client behind the trusted proxy
				xff = []string{"X-Forwarded-For", "10.9.9.9"}
			}
			for i := range 50 {
				w := h.do("POST", "/api/auth/login", remote, xff...)
				require.Equal(t, http.StatusNoContent, w.Code, "request %d", i+1)
				assert.Empty(t, w.Header().Get("X-RateLimit-Limit"))
			}
		})
	}
	assert.Equal(t, http.StatusNoContent, h.do("POST", "/api/auth/login", "[2001:db8:fe::1]:1").Code)
	assert.Equal(t, http.StatusTooManyRequests, h.do("POST", "/api/auth/login", "[2001:db8:fe::1]:1").Code,
		"outside the whitelist")
}

func TestMiddlewareDisabledSetsNoHeaders(t *testing.T) {
	t.Parallel()
	h := newHarness(t, ratelimit.Config{Disabled: true, DebateRPM: 1})
	for range 5 {
		w := h.do("POST", "/api/debates", "203.0.113.7:1")
		require.Equal(t, http.StatusNoContent, w.Code)
		for _, name := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"} {
			assert.Empty(t, w.Header().Get(name), name)
		}
	}
	assert.False(t, h.p.ConfigSnapshot().Enabled)
}

func TestMiddlewareExemptClass(t *testing.T) {
	t.Parallel()
	h := newHarness(t, ratelimit.Config{RPM: 1})
	for _, path := range []string{"/healthz"} {
		for range 3 {
			w := h.do("GET", path, "203.0.113.7:1")
			require.Equal(t, http.StatusNoContent, w.Code, path)
			assert.Empty(t, w.Header().Get("X-RateLimit-Limit"), path)
		}
	}
	for range 3 {
		assert.Equal(t, http.StatusNoContent, h.do("GET", "/ws", "203.0.113.7:1", "Upgrade", "websocket").Code)
	}
}

func TestMiddlewareKeysByPrincipalButAuthByIP(t *testing.T) {
	t.Parallel()
	h := newHarness(t, ratelimit.Config{RPM: 2, AuthRPM: 2})
	// Two users behind one NAT address have separate general budgets.
	for _, user := range []string{"usr_a", "usr_b"} {
		for range 2 {
			require.Equal(t, http.StatusNoContent, h.do("GET", "/api/debates", "203.0.113.7:1", "X-Test-User", user).Code)
		}
		assert.Equal(t, http.StatusTooManyRequests, h.do("GET", "/api/debates", "203.0.113.7:1", "X-Test-User", user).Code)
	}
	// Auth is keyed by IP whatever the principal.
	assert.Equal(t, http.StatusNoContent, h.do("POST", "/api/auth/refresh", "203.0.113.7:1", "X-Test-User", "usr_a").Code)
	assert.Equal(t, http.StatusNoContent, h.do("POST", "/api/auth/refresh", "203.0.113.7:1", "X-Test-User", "usr_b").Code)
	assert.Equal(t, http.StatusTooManyRequests, h.do("POST", "/api/auth/refresh", "203.0.113.7:1", "X-Test-User", "usr_c").Code)
}

func TestMiddlewareEmergency(t *testing.T) {
	t.Parallel()
	h := newHarness(t, ratelimit.Config{Emergency: true})
	w := h.do("POST", "/api/debates", "203.0.113.7:1")
	require.Equal(t, http.StatusNoContent, w.Code)
	assert.Equal(t, "1", w.Header().Get("X-RateLimit-Limit"))
	w = h.do("POST", "/api/debates", "203.0.113.7:1")
	require.Equal(t, http.StatusTooManyRequests, w.Code)
	assert.Equal(t, "60", w.Header().Get("Retry-After"))
}

// TestSetEmergencyAtRunTime switches emergency mode on and off on a
// running policy: the next decision, the snapshots and Config follow.
func TestSetEmergencyAtRunTime(t *testing.T) {
	t.Parallel()
	h := newHarness(t, ratelimit.Config{})
	assert.False(t, h.p.Emergency())
	w := h.do("POST", "/api/debates", "203.0.113.7:1")
	require.Equal(t, http.StatusNoContent, w.Code)
	assert.Equal(t, "10", w.Header().Get("X-RateLimit-Limit"))

	assert.False(t, h.p.SetEmergency(true), "previous state")
	assert.True(t, h.p.Emergency())
	assert.True(t, h.p.Config().Emergency)
	assert.Equal(t, ratelimit.Limit{Rate: 1, Burst: 1}, h.p.Limit(ratelimit.ClassDebateCreate))
	assert.True(t, h.p.ConfigSnapshot().Emergency)
	assert.Equal(t, 12, h.p.ConfigSnapshot().Classes.General.EffectiveRPM)
	assert.Equal(t, 120, h.p.ConfigSnapshot().Classes.General.RPM)
	assert.True(t, h.p.Status(httptest.NewRequest("GET", "/api/rate-limits/status", nil)).Emergency)
	w = h.do("POST", "/api/debates", "198.51.100.9:1")
	require.Equal(t, http.StatusNoContent, w.Code)
	assert.Equal(t, "1", w.Header().Get("X-RateLimit-Limit"))
	require.Equal(t, http.StatusTooManyRequests, h.do("POST", "/api/debates", "198.51.100.9:1").Code)

	assert.True(t, h.p.SetEmergency(false), "previous state")
	assert.False(t, h.p.ConfigSnapshot().Emergency)
	w = h.do("POST", "/api/debates", "192.0.2.1:1")
	require.Equal(t, http.StatusNoContent, w.Code)
	assert.Equal(t, "10", w.Header().Get("X-RateLimit-Limit"))

	// Config.Emergency sets the initial state only.
	h2 := newHarness(t, ratelimit.Config{Emergency: true})
	assert.True(t, h2.p.SetEmergency(false))
	assert.Equal(t, 120, h2.p.Limit(ratelimit.ClassGeneral).Rate)
}

func TestMiddlewareLimiterErrorAllows(t *testing.T) {
	t.Parallel()
	broken := &stubKeyed{allow: func(context.Context, string, ratelimit.Limit) (ratelimit.Decision, error) {
		return ratelimit.Decision{}, errDown
	}}
	p, err := ratelimit.NewPolicy(broken, ratelimit.Config{})
	require.NoError(t, err)
	h := p.Handler(ratelimit.ClassGeneral, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/api/debates", nil))
	assert.Equal(t, http.StatusNoContent, w.Code)
	assert.Empty(t, w.Header().Get("X-RateLimit-Limit"))
}

func TestSnapshots(t *testing.T) {
	t.Parallel()
	h := newHarness(t, ratelimit.Config{
		DebateRPM: 2, Whitelist: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
	})
	for range 3 {
		h.do("POST", "/api/debates", "203.0.113.7:1", "X-Test-User", "usr_1")
	}
	h.do("GET", "/api/debates", "203.0.113.7:1", "X-Test-User", "usr_1")
	h.clock.Advance(time.Second)
	for range 4 {
		h.do("POST", "/api/debates", "198.51.100.9:1")
	}

	r := httptest.NewRequest("GET", "/api/rate-limits/status", nil)
	r.RemoteAddr = "203.0.113.7:1"
	r.Header.Set("X-Test-User", "usr_1")
	w := httptest.NewRecorder()
	h.p.StatusHandler().ServeHTTP(w, r)
	assert.JSONEq(t, `{"enabled":true,"emergency":false,"backend":"memory",
		"redis":{"configured":false,"up":false,"fail_open":false,"fallback_active":false},
		"client":{"key":"user:usr_1","ip":"203.0.113.7","exempt":false,"classes":{
			"general":{"limit":120,"remaining":120,"reset_seconds":0},
			"debate_create":{"limit":2,"remaining":0,"reset_seconds":59},
			"auth":{"limit":10,"remaining":10,"reset_seconds":0}}},
		"hits_total":{"general":0,"debate_create":3,"auth":0}}`, w.Body.String())
	assert.True(t, strings.HasPrefix(w.Body.String(), `{"enabled":true,"emergency":false,"backend":"memory","redis":`), w.Body.String())

	w = httptest.NewRecorder()
	h.p.ConfigHandler().ServeHTTP(w, httptest.NewRequest("GET", "/api/rate-limits/config", nil))
	assert.JSONEq(t, `{"enabled":true,"emergency":false,"emergency_divisor":10,"algorithm":"gcra","window_seconds":60,
		"backend":"memory","fail_open":false,"classes":{"general":{"rpm":120,"burst":120,"effective_rpm":120},
		"debate_create":{"rpm":2,"burst":2,"effective_rpm":2},"auth":{"rpm":10,"burst":10,"effective_rpm":10}},
		"whitelist":["10.0.0.0/8"],"trusted_proxies":["127.0.0.1/32","::1/128"]}`, w.Body.String())

	b, err := json.Marshal(h.p.SystemSnapshot())
	require.NoError(t, err)
	assert.JSONEq(t, `{"enabled":true,"emergency":false,"emergency_divisor":10,"algorithm":"gcra","window_seconds":60,
		"backend":"memory","fail_open":false,"classes":{"general":{"rpm":120,"burst":120,"effective_rpm":120},
		"debate_create":{"rpm":2,"burst":2,"effective_rpm":2},"auth":{"rpm":10,"burst":10,"effective_rpm":10}},
		"whitelist":["10.0.0.0/8"],"trusted_proxies":["127.0.0.1/32","::1/128"],
		"redis":{"configured":false,"up":false,"fail_open":false,"fallback_active":false},
		"top_limited":[
			{"key":"ip:198.51.100.9","ip":"198.51.100.9","route_class":"debate_create","hits":2,"last_hit_at":"2024-01-15T10:30:01Z"},
			{"key":"user:usr_1","ip":"203.0.113.7","route_class":"debate_create","hits":1,"last_hit_at":"2024-01-15T10:30:00Z"}]}`, string(b))

	// Whitelisted callers are exempt; their buckets show full.
	r = httptest.NewRequest("GET", "/api/rate-limits/status", nil)
	r.RemoteAddr = "10.0.0.1:1"
	s := h.p.Status(r)
	assert.True(t, s.Client.Exempt)
	assert.Equal(t, ratelimit.BucketStatus{Limit: 2, Remaining: 2}, s.Client.Classes.DebateCreate)

	// top_limited forgets hits older than 15 minutes.
	h.clock.Advance(15 * time.Minute)
	assert.Empty(t, h.p.SystemSnapshot().TopLimited)
}

func TestSnapshotRedisState(t *testing.T) {
	t.Parallel()
	primary := &stubKeyed{allow: func(context.Context, string, ratelimit.Limit) (ratelimit.Decision, error) {
		return ratelimit.Decision{}, errDown
	}}
	f := ratelimit.NewFallback(primary, nil, ratelimit.FallbackConfig{FailOpen: true})
	p, err := ratelimit.NewPolicy(f, ratelimit.Config{FailOpen: true})
	require.NoError(t, err)
	r := httptest.NewRequest("GET", "/api/debates", nil)
	p.Handler(ratelimit.ClassGeneral, http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), r)
	s := p.Status(r)
	assert.Equal(t, "redis", s.Backend)
	assert.Equal(t, ratelimit.RedisState{Configured: true, Up: false, FailOpen: true, FallbackActive: true}, s.Redis)
	assert.Equal(t, "redis", p.ConfigSnapshot().Backend)
}
