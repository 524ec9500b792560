package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aragora/aragora/store"
)

// BeginIdempotent implements [store.IdempotencyStore] with one upsert that
// only replaces an expired record.
func (s *Store) BeginIdempotent(ctx context.Context, rec *store.IdempotencyRecord, now time.Time) (*store.IdempotencyRecord, error) {
	if rec == nil || rec.Principal == "" || rec.Key == "" {
		return nil, errors.New("pgstore: begin idempotency key: empty principal or key")
	}
	now = now.UTC()
	at := rec.CreatedAt
	if at.IsZero() {
		at = now
	}
	var existing *store.IdempotencyRecord
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		existing = nil
		var got string
		err := tx.QueryRow(ctx, `INSERT INTO idempotency_keys (principal, key, fingerprint, debate_id, status_code, body, created_at, expires_at)
			VALUES ($1, $2, $3, $4, 0, NULL, $5, $6)
			ON CONFLICT (principal, key) DO UPDATE SET fingerprint = excluded.fingerprint, debate_id = excluded.debate_id,
				status_code = 0, body = NULL, created_at = excluded.created_at, expires_at = excluded.expires_at
			WHERE idempotency_keys.expires_at <= $7
			RETURNING key`, rec.Principal, rec.Key, rec.Fingerprint, rec.DebateID, at.UTC(), rec.ExpiresAt.UTC(), now).Scan(&got)
		if err == nil {
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		old := store.IdempotencyRecord{Principal: rec.Principal, Key: rec.Key}
		var created, expires time.Time
		if err := tx.QueryRow(ctx, `SELECT fingerprint, debate_id, status_code, body, created_at, expires_at FROM idempotency_keys
			WHERE principal = $1 AND key = $2`, rec.Principal, rec.Key).
			Scan(&old.Fingerprint, &old.DebateID, &old.StatusCode, &old.Body, &created, &expires); err != nil {
			return err
		}
		old.CreatedAt, old.ExpiresAt = created.UTC(), expires.UTC()
		existing = &old
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: begin idempotency key %q: %w", rec.Key, err)
	}
	if existing != nil {
		return existing, fmt.Errorf("pgstore: idempotency key %q: %w", rec.Key, store.ErrConflict)
	}
	return nil, nil
}

// CompleteIdempotent implements [store.IdempotencyStore].
func (s *Store) CompleteIdempotent(ctx context.Context, principal, key, fingerprint string, statusCode int, body []byte, debateID string, expiresAt time.Time) error {
	if body == nil {
		body = []byte{}
	}
	return s.execOne(ctx, fmt.Sprintf("complete idempotency key %q", key),
		`UPDATE idempotency_keys SET status_code = $4, body = $5, debate_id = $6, expires_at = $7
			WHERE principal = $1 AND key = $2 AND fingerprint = $3 AND status_code = 0`,
		principal, key, fingerprint, statusCode, body, debateID, expiresAt.UTC())
}

// AbortIdempotent implements [store.IdempotencyStore].
func (s *Store) AbortIdempotent(ctx context.Context, principal, key string) error {
	err := s.retry(ctx, func() error {
		_, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2 AND status_code = 0`, principal, key)
		return err
	})
	if err != nil {
		return fmt.Errorf("pgstore: abort idempotency key %q: %w", key, err)
	}
	return nil
}

// DeleteExpiredIdempotency implements [store.IdempotencyStore].
func (s *Store) DeleteExpiredIdempotency(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := s.retry(ctx, func() error {
		tag, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE expires_at <= $1`, now.UTC())
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("pgstore: delete expired idempotency keys: %w", err)
	}
	return n, nil
}
