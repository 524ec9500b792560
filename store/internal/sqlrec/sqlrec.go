// Package sqlrec holds what sqlitestore and pgstore share about their
// tables: the column lists, the scanning of a row into its record type
// (store.User, store.Debate, …), the statements both run (written once in
// the Postgres form, [Stmt]) and the operations both implement alike
// ([Store], which each backend embeds, over the backend's [DB]).
//
// A scanner here takes a [Row], which both pgx.Row and *sql.Row (and their
// Rows) satisfy. Time columns are scanned through [Time], which accepts
// what either driver returns for them: a time.Time (Postgres TIMESTAMPTZ)
// or the fixed-width UTC text SQLite stores ([TimeLayout]); NULL is the zero
// time. Time arguments are written through [Conn.Time] or [Dialect.Time],
// since the drivers take different types.
package sqlrec

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aragora/aragora/store"
)

// Row is a scannable row: pgx.Row, pgx.Rows, *sql.Row or *sql.Rows.
type Row interface {
	Scan(dest ...any) error
}

// Rows is a result set: pgx.Rows or *sql.Rows. Closing it stays with the
// caller (their Close methods differ).
type Rows interface {
	Row
	Next() bool
	Err() error
}

// Collect scans every row of rows with scan. The result is empty but not
// nil when there is no row.
func Collect[T any](rows Rows, scan func(Row) (T, error)) ([]T, error) {
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// TimeLayout is how SQLite stores a time: UTC text of fixed width, so that
// text order is time order.
const TimeLayout = "2006-01-02T15:04:05.000000Z"

// ParseTime parses a time stored by SQLite; "" is the zero time.
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(TimeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// Time returns a scan destination that stores a time column into *dst, in
// UTC; NULL stores the zero time.
func Time(dst *time.Time) sql.Scanner { return timeDest{dst} }

type timeDest struct{ dst *time.Time }

func (d timeDest) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.dst = time.Time{}
	case time.Time:
		*d.dst = v.UTC()
	case string:
		t, err := ParseTime(v)
		if err != nil {
			return err
		}
		*d.dst = t
	case []byte:
		t, err := ParseTime(string(v))
		if err != nil {
			return err
		}
		*d.dst = t
	default:
		return fmt.Errorf("cannot scan %T into a time", src)
	}
	return nil
}

// String returns a scan destination that stores a nullable text column
// into *dst; NULL stores "".
func String(dst *string) sql.Scanner { return stringDest{dst} }

type stringDest struct{ dst *string }

func (d stringDest) Scan(src any) error {
	var s sql.NullString
	if err := s.Scan(src); err != nil {
		return err
	}
	*d.dst = s.String
	return nil
}

// TerminalList is the SQL list of the terminal statuses, for
// "status IN (…)".
var TerminalList = func() string {
	names := make([]string, len(store.TerminalStatuses))
	for i, st := range store.TerminalStatuses {
		names[i] = "'" + string(st) + "'"
	}
	return strings.Join(names, ", ")
}()

// OrNotFound returns store.ErrNotFound for an error wrapping sql.ErrNoRows
// (pgx.ErrNoRows does), and err otherwise.
func OrNotFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}
