package sqlrec

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/aragora/aragora/store"
)

var (
	// beginIdempotent inserts a record, replacing only an expired one;
	// it returns no row when a live record holds the key.
	beginIdempotent = NewStmt(`INSERT INTO idempotency_keys (principal, key, fingerprint, debate_id, status_code, body, created_at, expires_at)
			VALUES ($1, $2, $3, $4, 0, NULL, $5, $6)
			ON CONFLICT (principal, key) DO UPDATE SET fingerprint = excluded.fingerprint, debate_id = excluded.debate_id,
				status_code = 0, body = NULL, created_at = excluded.created_at, expires_at = excluded.expires_at
			WHERE idempotency_keys.expires_at <= $7
			RETURNING key`)
	idempotencyRecord = NewStmt(`SELECT fingerprint, debate_id, status_code, body, created_at, expires_at FROM idempotency_keys
			WHERE principal = $1 AND key = $2`)
	completeIdempotent = NewStmt(`UPDATE idempotency_keys SET status_code = $4, body = $5, debate_id = $6, expires_at = $7
			WHERE principal = $1 AND key = $2 AND fingerprint = $3 AND status_code = 0`)
	abortIdempotent   = NewStmt(`DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2 AND status_code = 0`)
	deleteIdempotency = NewStmt(`DELETE FROM idempotency_keys WHERE expires_at <= $1`)
)

// BeginIdempotent implements [store.IdempotencyStore] with one upsert that
// only replaces an expired record.
func (s Store) BeginIdempotent(ctx context.Context, rec *store.IdempotencyRecord, now time.Time) (*store.IdempotencyRecord, error) {
	if rec == nil || rec.Principal == "" || rec.Key == "" {
		return nil, s.errorf("begin idempotency key: empty principal or key")
	}
	at := rec.CreatedAt
	if at.IsZero() {
		at = now
	}
	var existing *store.IdempotencyRecord
	err := s.db.RewriteTx(ctx, func(c Conn) error {
		existing = nil
		_, err := scanValue[string](c.QueryRow(ctx, beginIdempotent,
			rec.Principal, rec.Key, rec.Fingerprint, rec.DebateID, c.Time(at), c.Time(rec.ExpiresAt), c.Time(now)))
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		old := store.IdempotencyRecord{Principal: rec.Principal, Key: rec.Key}
		if err := c.QueryRow(ctx, idempotencyRecord, rec.Principal, rec.Key).
			Scan(&old.Fingerprint, &old.DebateID, &old.StatusCode, &old.Body, Time(&old.CreatedAt), Time(&old.ExpiresAt)); err != nil {
			return err
		}
		existing = &old
		return nil
	})
	if err != nil {
		return nil, s.errorf("begin idempotency key %q: %w", rec.Key, err)
	}
	if existing != nil {
		return existing, s.errorf("idempotency key %q: %w", rec.Key, store.ErrConflict)
	}
	return nil, nil
}

// CompleteIdempotent implements [store.IdempotencyStore].
func (s Store) CompleteIdempotent(ctx context.Context, principal, key, fingerprint string, statusCode int, body []byte, debateID string, expiresAt time.Time) error {
	if body == nil {
		body = []byte{}
	}
	return s.changeOne(ctx, fmt.Sprintf("complete idempotency key %q", key), completeIdempotent,
		principal, key, fingerprint, statusCode, body, debateID, s.time(expiresAt))
}

// AbortIdempotent implements [store.IdempotencyStore].
func (s Store) AbortIdempotent(ctx context.Context, principal, key string) error {
	_, err := s.changed(ctx, s.db.Rewrite, fmt.Sprintf("abort idempotency key %q", key), abortIdempotent, principal, key)
	return err
}

// DeleteExpiredIdempotency implements [store.IdempotencyStore].
func (s Store) DeleteExpiredIdempotency(ctx context.Context, now time.Time) (int64, error) {
	return s.changed(ctx, s.db.Rewrite, "delete expired idempotency keys", deleteIdempotency, s.time(now))
}
