package store

import (
	"context"
	"time"
)

// IdempotencyRecord is one Idempotency-Key of a principal (docs/http-api.md#idempotency).
// A record with StatusCode 0 is in progress: its request has not finished.
type IdempotencyRecord struct {
	Principal   string // the user id or key id the key is scoped to
	Key         string // the Idempotency-Key header, 1–255 visible ASCII
	Fingerprint string // SHA-256 of the normalised request
	DebateID    string // the resource the request created, "" until known
	StatusCode  int    // the stored HTTP status; 0 while in progress
	Body        []byte // the stored response body, replayed byte for byte
	CreatedAt   time.Time
	ExpiresAt   time.Time // after it the key is free again (24 h once complete)
}

// InProgress reports whether the record's request has not completed yet.
func (r *IdempotencyRecord) InProgress() bool { return r.StatusCode == 0 }

// IdempotencyStore is the optional capability behind the Idempotency-Key
// header. (Principal, Key) is unique among unexpired records.
type IdempotencyStore interface {
	// BeginIdempotent reserves rec's (Principal, Key) as in progress, with
	// rec.ExpiresAt as the in-progress lease (a crashed request frees the key
	// then; StatusCode and Body of rec are ignored). It returns (nil, nil)
	// when the key was free, an expired record counting as free. Otherwise
	// it returns a copy of the existing record and an error wrapping
	// ErrConflict: the caller compares fingerprints (422 when they differ),
	// then answers 409 when it is in progress or replays its status and body.
	BeginIdempotent(ctx context.Context, rec *IdempotencyRecord, now time.Time) (*IdempotencyRecord, error)
	// CompleteIdempotent stores the final status, body and created debate id
	// of an in-progress key with the given fingerprint and sets its expiry
	// (now + 24 h by docs/http-api.md#idempotency). ErrNotFound when there is no such
	// in-progress record (never begun, completed, expired or aborted).
	CompleteIdempotent(ctx context.Context, principal, key, fingerprint string, statusCode int, body []byte, debateID string, expiresAt time.Time) error
	// AbortIdempotent deletes an in-progress key, since failed requests are
	// not stored; a missing or completed record is left alone and is not an
	// error.
	AbortIdempotent(ctx context.Context, principal, key string) error
	// DeleteExpiredIdempotency deletes records with ExpiresAt <= now and
	// returns how many it deleted.
	DeleteExpiredIdempotency(ctx context.Context, now time.Time) (int64, error)
}
