package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/aragora/aragora/store"
)

// API key lifetimes (docs/http-api.md#accounts).
const (
	DefaultAPIKeyTTL = 365 * 24 * time.Hour
	MaxAPIKeyTTL     = 730 * 24 * time.Hour
)

// touchEvery throttles LastUsedAt writes.
const touchEvery = time.Minute

// NewAPIKey is a freshly created key: Key is shown once and never stored.
type NewAPIKey struct {
	Key      string        // ara_<key id>_<secret>
	Record   *store.APIKey // the stored form
	Replaced *store.APIKey // the user's previous key, now revoked; nil if none
}

// CreateAPIKey creates userID's API key, revoking the previous one. ttl
// <= 0 means [DefaultAPIKeyTTL]; above [MaxAPIKeyTTL] wraps ErrInvalidInput.
func (s *Service) CreateAPIKey(ctx context.Context, userID, name string, ttl time.Duration) (NewAPIKey, error) {
	if ttl <= 0 {
		ttl = DefaultAPIKeyTTL
	}
	if ttl > MaxAPIKeyTTL {
		return NewAPIKey{}, fmt.Errorf("%w: api key lifetime above 730 days", ErrInvalidInput)
	}
	key, keyID, err := newAPIKey(s.cfg.Rand)
	if err != nil {
		return NewAPIKey{}, err
	}
	id, err := NewID(PrefixAPIKey, s.cfg.Rand)
	if err != nil {
		return NewAPIKey{}, err
	}
	now := s.cfg.Now()
	rec := &store.APIKey{ID: id, KeyID: keyID, Prefix: KeyPrefix + keyID, UserID: userID, Name: name,
		Hash: hashAPIKey(key), CreatedAt: now, ExpiresAt: now.Add(ttl)}
	replaced, err := s.st.CreateAPIKey(ctx, rec)
	if err != nil {
		return NewAPIKey{}, fmt.Errorf("auth: create api key: %w", err)
	}
	return NewAPIKey{Key: key, Record: rec, Replaced: replaced}, nil
}

// DeleteAPIKey revokes userID's active key and returns it; store.ErrNotFound
// when there is none.
func (s *Service) DeleteAPIKey(ctx context.Context, userID string) (*store.APIKey, error) {
	k, err := s.st.ActiveAPIKey(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("auth: delete api key: %w", err)
	}
	k, err = s.st.RevokeAPIKey(ctx, k.ID, s.cfg.Now())
	if err != nil {
		return nil, fmt.Errorf("auth: delete api key: %w", err)
	}
	return k, nil
}

// VerifyAPIKey checks key: its shape, its stored SHA-256 (constant-time),
// revocation (ErrTokenRevoked), expiry (ErrTokenExpired) and its user
// (ErrUnauthorized when missing or disabled). It records the use at most
// once a minute.
func (s *Service) VerifyAPIKey(ctx context.Context, key string) (*store.APIKey, *store.User, error) {
	keyID, ok := ParseAPIKey(key)
	if !ok {
		return nil, nil, fmt.Errorf("%w: malformed api key", ErrUnauthorized)
	}
	rec, err := s.st.GetAPIKeyByKeyID(ctx, keyID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, fmt.Errorf("%w: unknown api key", ErrUnauthorized)
	} else if err != nil {
		return nil, nil, fmt.Errorf("auth: verify api key: %w", err)
	}
	if subtle.ConstantTimeCompare(rec.Hash, hashAPIKey(key)) != 1 {
		return nil, nil, fmt.Errorf("%w: unknown api key", ErrUnauthorized)
	}
	now := s.cfg.Now()
	if !rec.Active() {
		return nil, nil, fmt.Errorf("%w: api key revoked", ErrTokenRevoked)
	}
	if !rec.ExpiresAt.IsZero() && !now.Before(rec.ExpiresAt) {
		return nil, nil, fmt.Errorf("%w: api key expired", ErrTokenExpired)
	}
	u, err := s.activeUser(ctx, rec.UserID)
	if err != nil {
		return nil, nil, err
	}
	if now.Sub(rec.LastUsedAt) >= touchEvery {
		if err := s.st.TouchAPIKey(ctx, rec.ID, now); err == nil {
			rec.LastUsedAt = now
		}
	}
	return rec, u, nil
}
