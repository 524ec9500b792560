package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/aragora/aragora/store"
)

// Store is the union of the store ports a [Service] needs.
// memstore.Auth implements it.
type Store interface {
	store.UserStore
	store.APIKeyStore
	store.RevocationStore
	store.IssuedTokenStore
	store.TokenVersionStore
	store.KeyRingStore
	store.AuditStore
}

// Config tunes a [Service]. The zero value gives the production settings
// of docs/http-api.md#authentication; tests set Now, Rand and small Password parameters.
type Config struct {
	AccessTTL  time.Duration // ARAGORA_JWT_ACCESS_TTL; default 15m
	RefreshTTL time.Duration // ARAGORA_JWT_REFRESH_TTL; default 720h
	Leeway     time.Duration // clock skew allowed on exp/nbf/iat; default 30s
	// RevocationReloadEvery is how often the cached deny-list, token
	// versions and generation are reloaded from the store; default 5s.
	// Changes made through this Service apply at once.
	RevocationReloadEvery time.Duration
	// KeyRing tunes the key ring; its Now, Rand and KeepFor default to
	// this Config's Now, Rand and RefreshTTL.
	KeyRing  KeyRingConfig
	Password PasswordConfig // argon2id parameters and the hashing bound
	Login    LimiterConfig  // failed-login limit; its Now defaults to Now
	Now      func() time.Time
	Rand     io.Reader // ids, keys and salts; default crypto/rand.Reader
}

func (c Config) withDefaults() Config {
	if c.AccessTTL <= 0 {
		c.AccessTTL = 15 * time.Minute
	}
	if c.RefreshTTL <= 0 {
		c.RefreshTTL = 720 * time.Hour
	}
	if c.Leeway <= 0 {
		c.Leeway = 30 * time.Second
	}
	if c.RevocationReloadEvery <= 0 {
		c.RevocationReloadEvery = 5 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	if c.KeyRing.Now == nil {
		c.KeyRing.Now = c.Now
	}
	if c.KeyRing.Rand == nil {
		c.KeyRing.Rand = c.Rand
	}
	if c.KeyRing.KeepFor <= 0 {
		c.KeyRing.KeepFor = c.RefreshTTL
	}
	if c.Password.Rand == nil {
		c.Password.Rand = c.Rand
	}
	if c.Login.Now == nil {
		c.Login.Now = c.Now
	}
	return c
}

// Validate reports a Config that cannot work; the error wraps ErrInvalidInput.
func (c Config) Validate() error {
	if c.AccessTTL > c.RefreshTTL {
		return fmt.Errorf("%w: access TTL %s exceeds refresh TTL %s", ErrInvalidInput, c.AccessTTL, c.RefreshTTL)
	}
	return nil
}

// Service is the authentication core: users and logins, token pairs and
// their revocation, API keys, key rotation and the audit log. It is safe
// for concurrent use and starts no goroutines. The zero value is not
// usable; call [New].
type Service struct {
	cfg     Config
	st      Store
	ring    *KeyRing
	hasher  *Hasher
	limiter *LoginLimiter

	mu  sync.Mutex
	rev revocations
}

// revocations is the cached view of the durable revocation state.
type revocations struct {
	loadedAt time.Time
	loaded   bool
	denied   map[string]time.Time // jti → expiry
	versions map[string]int64
	gen      store.Generation
}

// New returns a Service over st. secret is ARAGORA_JWT_SECRET (at least
// [MinSecretLength] bytes); it encrypts the key ring, which New loads from
// st or creates.
func New(ctx context.Context, st Store, secret []byte, cfg Config) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ring, err := NewKeyRing(ctx, st, secret, cfg.KeyRing)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, st: st, ring: ring, hasher: NewHasher(cfg.Password), limiter: NewLoginLimiter(cfg.Login)}
	if err := s.ReloadRevocations(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// KeyRing returns the service's key ring.
func (s *Service) KeyRing() *KeyRing { return s.ring }

// Hasher returns the service's password hasher.
func (s *Service) Hasher() *Hasher { return s.hasher }

// Limiter returns the service's failed-login limiter.
func (s *Service) Limiter() *LoginLimiter { return s.limiter }

// ReloadRevocations reloads the cached deny-list, token versions and
// global generation from the store. Verification does it every
// RevocationReloadEvery; a Redis broadcast subscriber calls it at once.
func (s *Service) ReloadRevocations(ctx context.Context) error {
	now := s.cfg.Now()
	list, err := s.st.ListRevocations(ctx, now, 0)
	if err != nil {
		return fmt.Errorf("auth: load revocations: %w", err)
	}
	versions, err := s.st.TokenVersions(ctx)
	if err != nil {
		return fmt.Errorf("auth: load token versions: %w", err)
	}
	gen, err := s.st.TokenGeneration(ctx)
	if err != nil {
		return fmt.Errorf("auth: load token generation: %w", err)
	}
	denied := make(map[string]time.Time, len(list))
	for _, r := range list {
		denied[r.TokenID] = r.ExpiresAt
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rev = revocations{loadedAt: now, loaded: true, denied: denied, versions: versions, gen: gen}
	return nil
}

// revocationState returns whether jti is denied, the user's version and
// the generation, reloading a stale cache first. A failed reload keeps the
// cached state unless nothing was ever loaded.
func (s *Service) revocationState(ctx context.Context, jti, userID string) (denied bool, version int64, gen int64, err error) {
	now := s.cfg.Now()
	s.mu.Lock()
	stale := now.Sub(s.rev.loadedAt) >= s.cfg.RevocationReloadEvery
	if stale {
		s.rev.loadedAt = now
	}
	s.mu.Unlock()
	if stale {
		if err := s.ReloadRevocations(ctx); err != nil {
			s.mu.Lock()
			loaded := s.rev.loaded
			s.mu.Unlock()
			if !loaded {
				return false, 0, 0, err
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.rev.denied[jti]
	return ok && now.Before(exp), s.rev.versions[userID], s.rev.gen.Value, nil
}

func (s *Service) noteDenied(jti string, exp time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rev.denied == nil {
		s.rev.denied = map[string]time.Time{}
	}
	s.rev.denied[jti] = exp
}

func (s *Service) noteVersion(userID string, v int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rev.versions == nil {
		s.rev.versions = map[string]int64{}
	}
	if v > s.rev.versions[userID] {
		s.rev.versions[userID] = v
	}
}

func (s *Service) noteGeneration(g store.Generation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g.Value > s.rev.gen.Value {
		s.rev.gen = g
	}
}

// bumpVersion increments userID's token version in the store and cache.
func (s *Service) bumpVersion(ctx context.Context, userID string) error {
	v, err := s.st.BumpTokenVersion(ctx, userID, s.cfg.Now())
	if err != nil {
		return fmt.Errorf("auth: bump token version: %w", err)
	}
	s.noteVersion(userID, v)
	return nil
}

// NewUser is the input of [Service.CreateUser].
type NewUser struct {
	Email                  string
	Password               string
	Name                   string
	Role                   Role
	PasswordChangeRequired bool
}

// NormalizeEmail trims and lower-cases an email, and checks its shape
// (one @, non-empty parts, at most 254 bytes); the error wraps
// ErrInvalidInput.
func NormalizeEmail(email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") || len(e) > 254 || strings.ContainsAny(e, " \t\r\n") {
		return "", fmt.Errorf("%w: invalid email", ErrInvalidInput)
	}
	return e, nil
}

func (s *Service) newUser(ctx context.Context, nu NewUser) (*store.User, error) {
	email, err := NormalizeEmail(nu.Email)
	if err != nil {
		return nil, err
	}
	if !nu.Role.Valid() {
		return nil, fmt.Errorf("%w: unknown role %q", ErrInvalidInput, nu.Role)
	}
	if err := ValidatePassword(nu.Password); err != nil {
		return nil, err
	}
	hash, err := s.hasher.Hash(ctx, nu.Password)
	if err != nil {
		return nil, err
	}
	id, err := NewID(PrefixUser, s.cfg.Rand)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	return &store.User{ID: id, Email: email, Name: nu.Name, Role: string(nu.Role), PasswordHash: hash,
		PasswordChangeRequired: nu.PasswordChangeRequired, CreatedAt: now, UpdatedAt: now}, nil
}

// CreateUser validates nu, hashes its password and stores the user. A
// duplicate email wraps store.ErrConflict. Who may create which role is
// the caller's rule (docs/http-api.md#accounts).
func (s *Service) CreateUser(ctx context.Context, nu NewUser) (*store.User, error) {
	u, err := s.newUser(ctx, nu)
	if err != nil {
		return nil, err
	}
	if err := s.st.CreateUser(ctx, u); err != nil {
		return nil, fmt.Errorf("auth: create user: %w", err)
	}
	return u, nil
}

// NeedsBootstrap reports whether no user exists yet, so the server must
// offer the bootstrap token (docs/http-api.md#accounts).
func (s *Service) NeedsBootstrap(ctx context.Context) (bool, error) {
	n, err := s.st.CountUsers(ctx)
	if err != nil {
		return false, fmt.Errorf("auth: count users: %w", err)
	}
	return n == 0, nil
}

// RegisterOwner creates the first user, as owner (nu.Role is ignored),
// when token matches b and no user exists; then b stops working. A wrong
// or used token, or existing users, wrap ErrUnauthorized.
func (s *Service) RegisterOwner(ctx context.Context, b *Bootstrap, token string, nu NewUser) (*store.User, error) {
	if b == nil || !b.Match(token) {
		return nil, fmt.Errorf("%w: invalid bootstrap token", ErrUnauthorized)
	}
	nu.Role = RoleOwner
	u, err := s.newUser(ctx, nu)
	if err != nil {
		return nil, err
	}
	if err := s.st.CreateFirstUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			b.Disable()
			return nil, fmt.Errorf("%w: a user already exists", ErrUnauthorized)
		}
		return nil, fmt.Errorf("auth: register owner: %w", err)
	}
	b.Disable()
	return u, nil
}

// Login checks email and password for ip (docs/http-api.md#accounts): ErrLoginLimited
// after too many failures of this (account, IP), ErrInvalidCredentials for
// an unknown email (after a dummy hash), a wrong password or a disabled
// account, ErrBusy when no hashing slot frees up. On success it rehashes a
// bcrypt or outdated hash, records the login time and returns a token
// pair; the user's PasswordChangeRequired tells the caller to report it.
func (s *Service) Login(ctx context.Context, email, password, ip string) (Pair, *store.User, error) {
	account := strings.ToLower(strings.TrimSpace(email))
	if err := s.limiter.Allow(account, ip); err != nil {
		return Pair{}, nil, err
	}
	u, err := s.st.GetUserByEmail(ctx, account)
	if errors.Is(err, store.ErrNotFound) {
		if err := s.hasher.VerifyDummy(ctx, password); err != nil {
			return Pair{}, nil, err
		}
		s.limiter.Failure(account, ip)
		return Pair{}, nil, ErrInvalidCredentials
	} else if err != nil {
		return Pair{}, nil, fmt.Errorf("auth: login: %w", err)
	}
	ok, rehash, err := s.hasher.Verify(ctx, u.PasswordHash, password)
	if err != nil && (errors.Is(err, ErrBusy) || ctx.Err() != nil) {
		return Pair{}, nil, err
	}
	if err != nil || !ok || u.Disabled {
		s.limiter.Failure(account, ip)
		return Pair{}, nil, ErrInvalidCredentials
	}
	s.limiter.Success(account, ip)
	now := s.cfg.Now()
	upd := store.UserUpdate{LastLoginAt: &now, UpdatedAt: now}
	if rehash {
		if h, err := s.hasher.Hash(ctx, password); err == nil {
			upd.PasswordHash = &h
		}
	}
	if u, err = s.st.UpdateUser(ctx, u.ID, upd); err != nil {
		return Pair{}, nil, fmt.Errorf("auth: login: %w", err)
	}
	p, err := s.IssuePair(ctx, u)
	if err != nil {
		return Pair{}, nil, err
	}
	return p, u, nil
}

// ChangePassword checks current, sets next (12–128 characters), clears
// PasswordChangeRequired, bumps the token version (every earlier token
// stops working) and returns a fresh pair.
func (s *Service) ChangePassword(ctx context.Context, userID, current, next string) (Pair, error) {
	u, err := s.st.GetUser(ctx, userID)
	if err != nil {
		return Pair{}, fmt.Errorf("auth: change password: %w", err)
	}
	ok, _, err := s.hasher.Verify(ctx, u.PasswordHash, current)
	if err != nil && (errors.Is(err, ErrBusy) || ctx.Err() != nil) {
		return Pair{}, err
	}
	if err != nil || !ok {
		return Pair{}, ErrInvalidCredentials
	}
	if err := ValidatePassword(next); err != nil {
		return Pair{}, err
	}
	h, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return Pair{}, err
	}
	now, no := s.cfg.Now(), false
	if u, err = s.st.UpdateUser(ctx, userID, store.UserUpdate{PasswordHash: &h, PasswordChangeRequired: &no, UpdatedAt: now}); err != nil {
		return Pair{}, fmt.Errorf("auth: change password: %w", err)
	}
	if err := s.bumpVersion(ctx, userID); err != nil {
		return Pair{}, err
	}
	return s.IssuePair(ctx, u)
}

// ForcePasswordReset sets PasswordChangeRequired and bumps the token
// version of the given users, or of every user when userIDs is empty,
// skipping exclude (the caller, with exclude_self). It returns how many
// users it changed; an unknown id wraps store.ErrNotFound.
func (s *Service) ForcePasswordReset(ctx context.Context, userIDs []string, exclude string) (int, error) {
	if len(userIDs) == 0 {
		users, err := s.st.ListUsers(ctx)
		if err != nil {
			return 0, fmt.Errorf("auth: force password reset: %w", err)
		}
		for _, u := range users {
			userIDs = append(userIDs, u.ID)
		}
	}
	n, yes, now := 0, true, s.cfg.Now()
	for _, id := range userIDs {
		if id == exclude {
			continue
		}
		if _, err := s.st.UpdateUser(ctx, id, store.UserUpdate{PasswordChangeRequired: &yes, UpdatedAt: now}); err != nil {
			return n, fmt.Errorf("auth: force password reset: %w", err)
		}
		if err := s.bumpVersion(ctx, id); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
