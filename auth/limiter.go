package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"io"
	"sync"
	"time"
)

// LimiterConfig tunes a [LoginLimiter]. The zero value gives docs/http-api.md's
// 10 failures in 15 minutes.
type LimiterConfig struct {
	MaxFailures int              // failures within Window that block; default 10
	Window      time.Duration    // default 15m
	Now         func() time.Time // default time.Now
}

// LoginLimiter counts failed logins per (account, IP) in memory: after
// MaxFailures within Window that pair is refused until the oldest failure
// leaves the window. Keying on the pair means nobody can lock an account
// out from other addresses. It is safe for concurrent use; the zero value
// is not usable, call [NewLoginLimiter].
type LoginLimiter struct {
	cfg LimiterConfig
	mu  sync.Mutex
	m   map[limitKey][]time.Time // failure times, oldest first
}

type limitKey struct{ account, ip string }

// sweepAt is the map size at which Failure drops idle entries.
const sweepAt = 10000

// NewLoginLimiter returns a limiter with cfg's defaults applied.
func NewLoginLimiter(cfg LimiterConfig) *LoginLimiter {
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = 10
	}
	if cfg.Window <= 0 {
		cfg.Window = 15 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &LoginLimiter{cfg: cfg, m: map[limitKey][]time.Time{}}
}

func (l *LoginLimiter) recent(k limitKey, now time.Time) []time.Time {
	fs := l.m[k]
	i := 0
	for i < len(fs) && !fs[i].After(now.Add(-l.cfg.Window)) {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(l.m, k)
	} else {
		l.m[k] = fs
	}
	return fs
}

// Allow returns an error wrapping ErrLoginLimited when account has
// MaxFailures recent failures from ip, else nil.
func (l *LoginLimiter) Allow(account, ip string) error {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if fs := l.recent(limitKey{account, ip}, now); len(fs) >= l.cfg.MaxFailures {
		return fmt.Errorf("%w: retry after %s", ErrLoginLimited, fs[0].Add(l.cfg.Window).Sub(now).Round(time.Second))
	}
	return nil
}

// Failure records a failed login of account from ip.
func (l *LoginLimiter) Failure(account, ip string) {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.m) >= sweepAt {
		for k := range l.m {
			l.recent(k, now)
		}
	}
	k := limitKey{account, ip}
	fs := l.recent(k, now)
	if len(fs) >= l.cfg.MaxFailures {
		fs = fs[1:]
	}
	l.m[k] = append(fs, now)
}

// Success forgets the failures of account from ip.
func (l *LoginLimiter) Success(account, ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, limitKey{account, ip})
}

// MinBootstrapTokenLength is the minimum length of a bootstrap token.
const MinBootstrapTokenLength = 32

// Bootstrap is the one-time token that registers the first user (docs/http-api.md#accounts).
// It is safe for concurrent use; the zero value matches nothing.
type Bootstrap struct {
	mu       sync.Mutex
	token    string
	disabled bool
}

// NewBootstrap returns a Bootstrap for token (ARAGORA_BOOTSTRAP_TOKEN, at
// least [MinBootstrapTokenLength] characters), or for a random 43-character
// base62 token when token is "" (random nil: crypto/rand). generated tells
// the caller to print it once on stderr.
func NewBootstrap(token string, random io.Reader) (b *Bootstrap, generated bool, err error) {
	if token == "" {
		if random == nil {
			random = rand.Reader
		}
		if token, err = randomString(random, base62, 43); err != nil {
			return nil, false, err
		}
		generated = true
	} else if len(token) < MinBootstrapTokenLength {
		return nil, false, fmt.Errorf("%w: bootstrap token must be at least %d characters", ErrInvalidInput, MinBootstrapTokenLength)
	}
	return &Bootstrap{token: token}, generated, nil
}

// Token returns the token ("" once disabled).
func (b *Bootstrap) Token() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.disabled {
		return ""
	}
	return b.token
}

// Match reports, in constant time, whether candidate is the token and the
// token still works.
func (b *Bootstrap) Match(candidate string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.disabled && b.token != "" && subtle.ConstantTimeCompare([]byte(candidate), []byte(b.token)) == 1
}

// Disable makes the token stop working, for good.
func (b *Bootstrap) Disable() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.disabled = true
}
