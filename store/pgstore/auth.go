package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The authentication ports are written once for both backends
// (store/internal/sqlrec/authstore.go). Reads and idempotent writes
// (UpdateUser, TouchAPIKey) are retried once after a connection error like
// every other operation; the other writes are retried only when pgx reports
// that nothing reached the server, since repeating one whose
// acknowledgement was lost would report a false ErrConflict (a refresh
// token seen twice, a key ring rotated by someone else) or bump a counter
// twice.

// retryUnsent runs op and, after a connection error, resets the pool; it
// runs op again only when the failed attempt sent nothing.
func (s *Store) retryUnsent(ctx context.Context, op func() error) error {
	err := op()
	if !isConnError(err) || ctx.Err() != nil {
		return err
	}
	s.pool.Reset()
	if !pgconn.SafeToRetry(err) {
		return err
	}
	return op()
}

// inTxUnsent runs fn in a transaction, retried as retryUnsent.
func (s *Store) inTxUnsent(ctx context.Context, fn func(pgx.Tx) error) error {
	return s.retryUnsent(ctx, func() error { return pgx.BeginFunc(ctx, s.pool, fn) })
}
