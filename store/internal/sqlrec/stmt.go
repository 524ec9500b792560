package sqlrec

import (
	"context"
	"strings"
	"time"
)

// Stmt is a statement both backends run, written once in the Postgres form
// ($1, $2, …) and kept with its SQLite form (?1, ?2, …), which binds the
// same arguments, also where one is used twice.
type Stmt struct {
	Postgres string
	SQLite   string
}

// NewStmt returns q, in the Postgres form, in both forms. q must not hold
// a "$" followed by a digit in a string literal.
func NewStmt(q string) Stmt { return Stmt{Postgres: q, SQLite: numbered(q)} }

// numbered rewrites each placeholder $N of q into ?N.
func numbered(q string) string {
	var b strings.Builder
	b.Grow(len(q))
	for i := 0; i < len(q); i++ {
		if q[i] == '$' && i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9' {
			b.WriteByte('?')
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// Conn is a connection or a transaction of either backend, as the shared
// statement sequences of this package use it.
type Conn interface {
	// Exec runs s with args.
	Exec(ctx context.Context, s Stmt, args ...any) error
	// Changed runs s with args and returns how many rows it changed.
	Changed(ctx context.Context, s Stmt, args ...any) (int64, error)
	// QueryRow runs s with args. Its Scan returns an error wrapping
	// sql.ErrNoRows when there is no row (pgx.ErrNoRows does).
	QueryRow(ctx context.Context, s Stmt, args ...any) Row
	// Query runs s with args; the caller closes its result.
	Query(ctx context.Context, s Stmt, args ...any) (Result, error)
	// Time returns the argument that stores t in a time column.
	Time(t time.Time) any
	// NullTime is Time, but the zero time stores NULL.
	NullTime(t time.Time) any
}

// Result is the result set of [Conn.Query].
type Result interface {
	Rows
	Close()
}
