package ratelimit

import (
	"context"
	"hash/maphash"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

const memoryShards = 64

// MemoryConfig tunes a [Memory] limiter. The zero value is usable.
type MemoryConfig struct {
	// Now is the clock; default time.Now. Tests inject a fake clock.
	Now func() time.Time
	// MaxKeys caps the number of tracked keys; default 100000. When a
	// shard is full, a new key evicts a sampled key whose budget is fullest
	// (its refusal state is lost, so that key is briefly more permissive).
	MaxKeys int
	// SweepEvery is how often each shard drops idle keys (those whose
	// budget is full again, which loses no state); default 1 minute. The
	// sweep runs inside Allow calls: Memory starts no goroutine.
	SweepEvery time.Duration
}

func (c MemoryConfig) withDefaults() MemoryConfig {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MaxKeys <= 0 {
		c.MaxKeys = 100000
	}
	if c.SweepEvery <= 0 {
		c.SweepEvery = time.Minute
	}
	return c
}

// Memory is an in-process [Keyed] limiter: one x/time/rate token bucket per
// key (a token bucket with burst B and rate R is GCRA). Keys whose budget is
// full again are idle and are dropped by periodic sweeps, and MaxKeys bounds
// memory under a flood of distinct keys. Memory is safe for concurrent use
// and starts no goroutine. Create it with [NewMemory]; the zero value is not
// usable.
type Memory struct {
	cfg      MemoryConfig
	seed     maphash.Seed
	shardCap int
	shards   [memoryShards]memShard
}

type memShard struct {
	mu        sync.Mutex
	m         map[string]*memEntry
	lastSweep time.Time
}

type memEntry struct {
	lim    rate.Limiter
	limit  Limit
	fullAt time.Time // when the budget is full again
}

var (
	_ Keyed  = (*Memory)(nil)
	_ Peeker = (*Memory)(nil)
)

// NewMemory returns an empty in-memory limiter.
func NewMemory(cfg MemoryConfig) *Memory {
	cfg = cfg.withDefaults()
	m := &Memory{cfg: cfg, seed: maphash.MakeSeed(), shardCap: max(1, cfg.MaxKeys/memoryShards)}
	now := cfg.Now()
	for i := range m.shards {
		m.shards[i].m = make(map[string]*memEntry)
		m.shards[i].lastSweep = now
	}
	return m
}

// Allow implements [Keyed]; it fails only for an invalid l.
func (m *Memory) Allow(_ context.Context, key string, l Limit) (Decision, error) {
	return m.decide(key, l, true)
}

// Peek implements [Peeker]; it fails only for an invalid l.
func (m *Memory) Peek(_ context.Context, key string, l Limit) (Decision, error) {
	return m.decide(key, l, false)
}

// Len returns the number of tracked keys.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

// Prune drops every idle key now (for POST /api/admin/cleanup-caches) and
// returns how many were dropped.
func (m *Memory) Prune() int {
	now := m.cfg.Now()
	n := 0
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		n += sh.sweep(now)
		sh.mu.Unlock()
	}
	return n
}

// Reset forgets key, so its budget is full again.
func (m *Memory) Reset(key string) {
	sh := m.shard(key)
	sh.mu.Lock()
	delete(sh.m, key)
	sh.mu.Unlock()
}

func (m *Memory) shard(key string) *memShard {
	return &m.shards[maphash.String(m.seed, key)%memoryShards]
}

func (m *Memory) decide(key string, l Limit, consume bool) (Decision, error) {
	if err := l.Validate(); err != nil {
		return Decision{}, err
	}
	burst := l.EffectiveBurst()
	now := m.cfg.Now()
	sh := m.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if now.Sub(sh.lastSweep) >= m.cfg.SweepEvery {
		sh.sweep(now)
		sh.lastSweep = now
	}
	e := sh.m[key]
	if e == nil {
		if !consume {
			return Decision{Allowed: true, Limit: l.Rate, Remaining: burst}, nil
		}
		if len(sh.m) >= m.shardCap {
			sh.evictOne(now)
		}
		e = &memEntry{limit: l}
		// Copying a fresh Limiter is safe: its mutex is unlocked and unused.
		e.lim = *rate.NewLimiter(l.rate(), burst)
		sh.m[key] = e
	} else if e.limit != l {
		e.lim.SetLimitAt(now, l.rate())
		e.lim.SetBurstAt(now, burst)
		e.limit = l
	}
	allowed := false
	if consume {
		allowed = e.lim.AllowN(now, 1)
	}
	tokens := e.lim.TokensAt(now)
	d := Decision{
		Allowed:    allowed,
		Limit:      l.Rate,
		Remaining:  max(0, int(math.Floor(tokens+1e-9))),
		ResetAfter: l.durationFor(float64(burst) - tokens),
	}
	if !consume {
		d.Allowed = tokens >= 1
	}
	if !d.Allowed {
		d.RetryAfter = max(l.durationFor(1-tokens), time.Nanosecond)
	}
	if consume {
		e.fullAt = now.Add(d.ResetAfter)
	}
	return d, nil
}

// sweep drops the entries whose budget is full at now; it returns how many.
func (sh *memShard) sweep(now time.Time) int {
	n := 0
	for k, e := range sh.m {
		if !e.fullAt.After(now) {
			delete(sh.m, k)
			n++
		}
	}
	return n
}

// evictOne drops an idle entry, or else the fullest of a few sampled
// entries (Go map iteration starts at a random position).
func (sh *memShard) evictOne(now time.Time) {
	const samples = 8
	var victim string
	var victimFull time.Time
	i := 0
	for k, e := range sh.m {
		if !e.fullAt.After(now) {
			victim = k
			break
		}
		if i == 0 || e.fullAt.Before(victimFull) {
			victim, victimFull = k, e.fullAt
		}
		if i++; i == samples {
			break
		}
	}
	delete(sh.m, victim)
}
