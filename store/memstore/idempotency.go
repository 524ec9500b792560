package memstore

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/aragora/aragora/store"
)

type idemKey struct{ principal, key string }

func copyIdem(r *store.IdempotencyRecord) *store.IdempotencyRecord {
	c := *r
	c.Body = bytes.Clone(r.Body)
	return &c
}

// BeginIdempotent implements [store.IdempotencyStore].
func (s *Store) BeginIdempotent(ctx context.Context, rec *store.IdempotencyRecord, now time.Time) (*store.IdempotencyRecord, error) {
	return locked(ctx, &s.mu, func() (*store.IdempotencyRecord, error) {
		if rec == nil || rec.Principal == "" || rec.Key == "" {
			return nil, fmt.Errorf("memstore: begin idempotency key: empty principal or key")
		}
		now = normTime(now)
		k := idemKey{rec.Principal, rec.Key}
		if old, ok := s.idem[k]; ok && old.ExpiresAt.After(now) {
			return copyIdem(old), fmt.Errorf("memstore: idempotency key %q: %w", rec.Key, store.ErrConflict)
		}
		c := copyIdem(rec)
		c.StatusCode, c.Body = 0, nil
		c.CreatedAt = normTime(rec.CreatedAt)
		if c.CreatedAt.IsZero() {
			c.CreatedAt = now
		}
		c.ExpiresAt = normTime(rec.ExpiresAt)
		s.idem[k] = c
		return nil, nil
	})
}

// CompleteIdempotent implements [store.IdempotencyStore].
func (s *Store) CompleteIdempotent(ctx context.Context, principal, key, fingerprint string, statusCode int, body []byte, debateID string, expiresAt time.Time) error {
	return lockedErr(ctx, &s.mu, func() error {
		r, ok := s.idem[idemKey{principal, key}]
		if !ok || !r.InProgress() || r.Fingerprint != fingerprint {
			return fmt.Errorf("memstore: complete idempotency key %q: %w", key, store.ErrNotFound)
		}
		r.StatusCode = statusCode
		r.Body = bytes.Clone(body)
		r.DebateID = debateID
		r.ExpiresAt = normTime(expiresAt)
		return nil
	})
}

// AbortIdempotent implements [store.IdempotencyStore].
func (s *Store) AbortIdempotent(ctx context.Context, principal, key string) error {
	return lockedErr(ctx, &s.mu, func() error {
		k := idemKey{principal, key}
		if r, ok := s.idem[k]; ok && r.InProgress() {
			delete(s.idem, k)
		}
		return nil
	})
}

// DeleteExpiredIdempotency implements [store.IdempotencyStore].
func (s *Store) DeleteExpiredIdempotency(ctx context.Context, now time.Time) (int64, error) {
	now = normTime(now)
	return locked(ctx, &s.mu, func() (int64, error) {
		return deleteExpired(s.idem, now, func(r *store.IdempotencyRecord) time.Time { return r.ExpiresAt }), nil
	})
}
