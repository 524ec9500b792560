package sqlrec

import (
	"context"
	"fmt"
	"time"

	"github.com/aragora/aragora/store"
)

// Dialect names the SQL a backend speaks, where a statement cannot be
// written once.
type Dialect int

// The dialects.
const (
	Postgres Dialect = iota
	SQLite
)

// DB is a backend's database as the operations written once in this
// package ([Store]) use it: where they run and how a failure is retried is
// the backend's.
type DB interface {
	// Name is the backend's package name, which prefixes its errors.
	Name() string
	// Dialect is the SQL the backend speaks.
	Dialect() Dialect
	// Read runs fn on a connection for reading (pgstore: the pool, run
	// again once after a lost connection; sqlitestore: the readers).
	Read(ctx context.Context, fn func(Conn) error) error
	// Write runs fn, a write that is not safe to repeat (pgstore: on the
	// pool, run again after a lost connection only when nothing reached
	// the server; sqlitestore: in a write transaction).
	Write(ctx context.Context, fn func(Conn) error) error
	// Rewrite runs fn, a write that is safe to repeat (pgstore: run again
	// once after any lost connection; sqlitestore: as Write).
	Rewrite(ctx context.Context, fn func(Conn) error) error
	// Tx runs fn in a transaction, retried as Write.
	Tx(ctx context.Context, fn func(Conn) error) error
	// RewriteTx runs fn in a transaction, retried as Rewrite.
	RewriteTx(ctx context.Context, fn func(Conn) error) error
	// Serialize makes the transaction c hold off other writers of table
	// until it ends, or, when key is not empty, other holders of key in
	// table (pgstore: a table lock, or an advisory lock; sqlitestore:
	// nothing, since its write transaction holds the database's lock).
	Serialize(ctx context.Context, c Conn, table, key string) error
	// LockDispatch holds off other webhook dispatchers until the
	// transaction c ends, so the queue bound holds (pgstore: an advisory
	// lock on the schema; sqlitestore: nothing, as for Serialize).
	LockDispatch(ctx context.Context, c Conn) error
	// IsConflict reports an error that violated a unique constraint
	// (sqlitestore: any constraint).
	IsConflict(err error) bool
	// AppendEvents inserts cp's events (InsertEvent), then its checkpoint
	// row (InsertCheckpoint with the arguments checkpoint), in the
	// transaction c.
	AppendEvents(ctx context.Context, c Conn, cp *store.Checkpoint, checkpoint []any) error
}

// Defaults sets what a backend's Config leaves unset of the settings both
// backends have: the binary version recorded with applied migrations
// ("0.0.0-dev") and the clock that stamps records (time.Now).
func Defaults(binaryVersion *string, now *func() time.Time) {
	if *binaryVersion == "" {
		*binaryVersion = "0.0.0-dev"
	}
	if *now == nil {
		*now = time.Now
	}
}

// Store holds the operations the backends run alike, on the backend's DB.
// Each backend embeds it, so that its methods are the backend's; it has no
// other exported method.
type Store struct {
	db  DB
	now func() time.Time
}

// NewStore returns the operations on db; now stamps records whose caller
// left a time zero.
func NewStore(db DB, now func() time.Time) Store { return Store{db: db, now: now} }

// errorf returns an error prefixed with the backend's name.
func (s Store) errorf(format string, args ...any) error {
	return fmt.Errorf(s.db.Name()+": "+format, args...)
}

// One runs s on a reader and scans its row with scan; an error names
// what, and no row is an error wrapping store.ErrNotFound.
func One[T any](ctx context.Context, db DB, what string, scan func(Row) (T, error), s Stmt, args ...any) (T, error) {
	var v T
	err := db.Read(ctx, func(c Conn) (err error) {
		v, err = scan(c.QueryRow(ctx, s, args...))
		return err
	})
	if err != nil {
		var zero T
		return zero, fmt.Errorf("%s: %s: %w", db.Name(), what, OrNotFound(err))
	}
	return v, nil
}

// All runs s on a reader and scans every row with scan (an empty result is
// an empty slice); an error names op.
func All[T any](ctx context.Context, db DB, op string, scan func(Row) (T, error), s Stmt, args ...any) ([]T, error) {
	var out []T
	err := db.Read(ctx, func(c Conn) (err error) {
		out, err = Fetch(ctx, c, scan, s, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", db.Name(), op, err)
	}
	return out, nil
}

// Fetch runs s on c and scans every row with scan (an empty result is an
// empty slice).
func Fetch[T any](ctx context.Context, c Conn, scan func(Row) (T, error), s Stmt, args ...any) ([]T, error) {
	rows, err := c.Query(ctx, s, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return Collect(rows, scan)
}
