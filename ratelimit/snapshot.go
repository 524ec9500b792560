package ratelimit

import (
	"cmp"
	"encoding/json"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/aragora/aragora/clientip"
)

// PerClass holds one value per limited class; it marshals as a JSON object
// with the keys general, debate_create and auth, in that order.
type PerClass[T any] struct {
	General      T `json:"general"`
	DebateCreate T `json:"debate_create"`
	Auth         T `json:"auth"`
}

// Get returns the value of class c (the General value for other classes).
func (pc *PerClass[T]) Get(c Class) T { return *pc.ptr(c) }

func (pc *PerClass[T]) ptr(c Class) *T {
	switch c {
	case ClassDebateCreate:
		return &pc.DebateCreate
	case ClassAuth:
		return &pc.Auth
	}
	return &pc.General
}

// BucketStatus is one class's bucket of the caller in /api/rate-limits/status.
type BucketStatus struct {
	Limit        int `json:"limit"`
	Remaining    int `json:"remaining"`
	ResetSeconds int `json:"reset_seconds"`
}

// RedisState is the redis member of the status views.
type RedisState struct {
	Configured     bool `json:"configured"`
	Up             bool `json:"up"`
	FailOpen       bool `json:"fail_open"`
	FallbackActive bool `json:"fallback_active"`
}

// ClientStatus is the client member of /api/rate-limits/status.
type ClientStatus struct {
	Key     string                 `json:"key"`
	IP      string                 `json:"ip"`
	Exempt  bool                   `json:"exempt"`
	Classes PerClass[BucketStatus] `json:"classes"`
}

// StatusSnapshot is the body of GET /api/rate-limits/status (docs/http-api.md#operational-views).
type StatusSnapshot struct {
	Enabled   bool             `json:"enabled"`
	Emergency bool             `json:"emergency"`
	Backend   string           `json:"backend"`
	Redis     RedisState       `json:"redis"`
	Client    ClientStatus     `json:"client"`
	HitsTotal PerClass[uint64] `json:"hits_total"`
}

// ClassConfig is one class of /api/rate-limits/config.
type ClassConfig struct {
	RPM          int `json:"rpm"`
	Burst        int `json:"burst"`
	EffectiveRPM int `json:"effective_rpm"`
}

// ConfigSnapshot is the body of GET /api/rate-limits/config (docs/http-api.md#operational-views).
type ConfigSnapshot struct {
	Enabled          bool                  `json:"enabled"`
	Emergency        bool                  `json:"emergency"`
	EmergencyDivisor int                   `json:"emergency_divisor"`
	Algorithm        string                `json:"algorithm"`
	WindowSeconds    int                   `json:"window_seconds"`
	Backend          string                `json:"backend"`
	FailOpen         bool                  `json:"fail_open"`
	Classes          PerClass[ClassConfig] `json:"classes"`
	Whitelist        []string              `json:"whitelist"`
	TrustedProxies   []string              `json:"trusted_proxies"`
}

// LimitedClient is one entry of top_limited: hits counts the 429s of key in
// route_class over the last 15 minutes.
type LimitedClient struct {
	Key        string    `json:"key"`
	IP         string    `json:"ip"`
	RouteClass Class     `json:"route_class"`
	Hits       uint64    `json:"hits"`
	LastHitAt  time.Time `json:"last_hit_at"`
}

// SystemSnapshot is the body of GET /api/system/rate-limits (docs/http-api.md#administration):
// the config fields, the redis state and the most limited clients.
type SystemSnapshot struct {
	ConfigSnapshot
	Redis      RedisState      `json:"redis"`
	TopLimited []LimitedClient `json:"top_limited"`
}

// Top-limited statistics: TopLimitedWindow of history, TopLimitedEntries
// entries reported.
const (
	TopLimitedWindow  = 15 * time.Minute
	TopLimitedEntries = 20
)

func (p *Policy) backend() (string, RedisState) {
	sr, ok := p.limiter.(StatusReporter)
	if !ok {
		return "memory", RedisState{FailOpen: p.cfg.FailOpen}
	}
	st := sr.Status()
	return "redis", RedisState{Configured: true, Up: st.Up, FailOpen: st.FailOpen, FallbackActive: st.FallbackActive}
}

// Status returns the /api/rate-limits/status view for the caller of r. It
// counts no event.
func (p *Policy) Status(r *http.Request) StatusSnapshot {
	backend, redis := p.backend()
	ip := p.ClientIP(r)
	s := StatusSnapshot{
		Enabled:   !p.cfg.Disabled,
		Emergency: p.Emergency(),
		Backend:   backend,
		Redis:     redis,
		Client: ClientStatus{
			Key:    p.ClientKey(r, ClassGeneral),
			IP:     clientip.String(ip),
			Exempt: clientip.Contains(p.cfg.Whitelist, ip),
		},
	}
	for i, c := range Classes {
		*s.HitsTotal.ptr(c) = p.hits[i].Load()
		if s.Enabled && !s.Client.Exempt {
			*s.Client.Classes.ptr(c) = p.peek(r.Context(), c, p.ClientKey(r, c))
		} else {
			l := p.Limit(c)
			*s.Client.Classes.ptr(c) = BucketStatus{Limit: l.Rate, Remaining: l.Rate}
		}
	}
	return s
}

// ConfigSnapshot returns the /api/rate-limits/config view.
func (p *Policy) ConfigSnapshot() ConfigSnapshot {
	backend, redis := p.backend()
	cfg := p.Config()
	s := ConfigSnapshot{
		Enabled:          !cfg.Disabled,
		Emergency:        cfg.Emergency,
		EmergencyDivisor: EmergencyDivisor,
		Algorithm:        "gcra",
		WindowSeconds:    int(Window / time.Second),
		Backend:          backend,
		FailOpen:         redis.FailOpen,
		Whitelist:        prefixStrings(p.cfg.Whitelist),
		TrustedProxies:   prefixStrings(p.cfg.TrustedProxies),
	}
	for _, c := range Classes {
		rpm := cfg.RPMOf(c)
		*s.Classes.ptr(c) = ClassConfig{RPM: rpm, Burst: rpm, EffectiveRPM: cfg.EffectiveRPM(c)}
	}
	return s
}

// SystemSnapshot returns the /api/system/rate-limits view: the most limited
// clients of the last TopLimitedWindow (at most TopLimitedEntries, most hits
// first).
func (p *Policy) SystemSnapshot() SystemSnapshot {
	_, redis := p.backend()
	return SystemSnapshot{ConfigSnapshot: p.ConfigSnapshot(), Redis: redis,
		TopLimited: p.top.snapshot(p.cfg.Now(), TopLimitedEntries)}
}

func prefixStrings(ps []netip.Prefix) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

// StatusHandler serves [Policy.Status] as JSON.
func (p *Policy) StatusHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { writeJSON(w, p.Status(r)) })
}

// ConfigHandler serves [Policy.ConfigSnapshot] as JSON.
func (p *Policy) ConfigHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, p.ConfigSnapshot()) })
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":{"code":"internal","message":"ratelimit: encode"}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(append(b, '\n'))
}

// topLimited counts 429s per bucket in per-minute slots over the last
// TopLimitedWindow. It holds at most topLimitedMax entries.
type topLimited struct {
	mu sync.Mutex
	m  map[string]*limitedEntry
}

const (
	topLimitedSlots = int(TopLimitedWindow / time.Minute)
	topLimitedMax   = 10000
)

type limitedEntry struct {
	key   string
	ip    netip.Addr
	class Class
	last  time.Time
	// counts[i] holds the hits of minute minutes[i] (unix minutes).
	counts  [topLimitedSlots]uint32
	minutes [topLimitedSlots]int64
}

func newTopLimited() *topLimited { return &topLimited{m: make(map[string]*limitedEntry)} }

func (t *topLimited) record(now time.Time, bucket, key string, ip netip.Addr, class Class) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.m[bucket]
	if e == nil {
		if len(t.m) >= topLimitedMax {
			t.evict(now)
		}
		e = &limitedEntry{key: key, class: class}
		t.m[bucket] = e
	}
	e.ip, e.last = ip, now
	minute := now.Unix() / 60
	i := int(minute % int64(topLimitedSlots))
	if e.minutes[i] != minute {
		e.minutes[i], e.counts[i] = minute, 0
	}
	e.counts[i]++
}

// evict drops the stale entries of a small sample (Go map iteration starts
// at a random position), or else the least recently hit one of it.
func (t *topLimited) evict(now time.Time) {
	const samples = 16
	var victim string
	var oldest time.Time
	n := 0
	for k, e := range t.m {
		if now.Sub(e.last) >= TopLimitedWindow {
			delete(t.m, k)
		} else if victim == "" || e.last.Before(oldest) {
			victim, oldest = k, e.last
		}
		if n++; n == samples {
			break
		}
	}
	if len(t.m) >= topLimitedMax {
		delete(t.m, victim)
	}
}

func (e *limitedEntry) hits(now time.Time) uint64 {
	minute := now.Unix() / 60
	var n uint64
	for i, m := range e.minutes {
		if m > minute-int64(topLimitedSlots) && m <= minute {
			n += uint64(e.counts[i])
		}
	}
	return n
}

func (t *topLimited) snapshot(now time.Time, n int) []LimitedClient {
	t.mu.Lock()
	out := make([]LimitedClient, 0, min(n, len(t.m)))
	for k, e := range t.m {
		h := e.hits(now)
		if h == 0 {
			if now.Sub(e.last) >= TopLimitedWindow {
				delete(t.m, k)
			}
			continue
		}
		out = append(out, LimitedClient{Key: e.key, IP: clientip.String(e.ip), RouteClass: e.class, Hits: h, LastHitAt: e.last.UTC()})
	}
	t.mu.Unlock()
	slices.SortFunc(out, func(a, b LimitedClient) int {
		return cmp.Or(cmp.Compare(b.Hits, a.Hits), b.LastHitAt.Compare(a.LastHitAt),
			cmp.Compare(a.RouteClass, b.RouteClass), cmp.Compare(a.Key, b.Key))
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}
