package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/aragora/aragora/store"
)

// BeginIdempotent implements [store.IdempotencyStore].
func (s *Store) BeginIdempotent(ctx context.Context, rec *store.IdempotencyRecord, now time.Time) (*store.IdempotencyRecord, error) {
	if rec == nil || rec.Principal == "" || rec.Key == "" {
		return nil, errors.New("sqlitestore: begin idempotency key: empty principal or key")
	}
	var existing *store.IdempotencyRecord
	err := tx(ctx, s.w, func(tx *sql.Tx) error {
		old := store.IdempotencyRecord{Principal: rec.Principal, Key: rec.Key}
		var created, expires sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT fingerprint, debate_id, status_code, body, created_at, expires_at FROM idempotency_keys
			WHERE principal = ? AND key = ?`, rec.Principal, rec.Key).
			Scan(&old.Fingerprint, &old.DebateID, &old.StatusCode, &old.Body, &created, &expires)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case expires.String > fmtTime(now):
			if old.CreatedAt, err = parseTime(created); err != nil {
				return err
			}
			if old.ExpiresAt, err = parseTime(expires); err != nil {
				return err
			}
			existing = &old
			return nil
		}
		at := rec.CreatedAt
		if at.IsZero() {
			at = now
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO idempotency_keys (principal, key, fingerprint, debate_id, status_code, body, created_at, expires_at)
			VALUES (?, ?, ?, ?, 0, NULL, ?, ?)
			ON CONFLICT (principal, key) DO UPDATE SET fingerprint = excluded.fingerprint, debate_id = excluded.debate_id,
				status_code = 0, body = NULL, created_at = excluded.created_at, expires_at = excluded.expires_at`,
			rec.Principal, rec.Key, rec.Fingerprint, rec.DebateID, fmtTime(at), fmtTime(rec.ExpiresAt))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: begin idempotency key %q: %w", rec.Key, err)
	}
	if existing != nil {
		return existing, fmt.Errorf("sqlitestore: idempotency key %q: %w", rec.Key, store.ErrConflict)
	}
	return nil, nil
}

// CompleteIdempotent implements [store.IdempotencyStore].
func (s *Store) CompleteIdempotent(ctx context.Context, principal, key, fingerprint string, statusCode int, body []byte, debateID string, expiresAt time.Time) error {
	if body == nil {
		body = []byte{}
	}
	res, err := s.w.ExecContext(ctx, `UPDATE idempotency_keys SET status_code = ?, body = ?, debate_id = ?, expires_at = ?
		WHERE principal = ? AND key = ? AND fingerprint = ? AND status_code = 0`,
		statusCode, body, debateID, fmtTime(expiresAt), principal, key, fingerprint)
	if err != nil {
		return fmt.Errorf("sqlitestore: complete idempotency key %q: %w", key, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlitestore: complete idempotency key %q: %w", key, store.ErrNotFound)
	}
	return nil
}

// AbortIdempotent implements [store.IdempotencyStore].
func (s *Store) AbortIdempotent(ctx context.Context, principal, key string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE principal = ? AND key = ? AND status_code = 0`, principal, key); err != nil {
		return fmt.Errorf("sqlitestore: abort idempotency key %q: %w", key, err)
	}
	return nil
}

// DeleteExpiredIdempotency implements [store.IdempotencyStore].
func (s *Store) DeleteExpiredIdempotency(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE expires_at <= ?`, fmtTime(now))
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: delete expired idempotency keys: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
