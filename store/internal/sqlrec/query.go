package sqlrec

import (
	"strconv"
	"strings"
	"time"
)

// Micros returns t in UTC, truncated to the microseconds both dialects
// store.
func Micros(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// FormatTime returns t as SQLite stores it ([TimeLayout]).
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// Time returns the argument that stores t in a time column of dialect d:
// [Micros] for Postgres, [FormatTime] for SQLite.
func (d Dialect) Time(t time.Time) any {
	if d == SQLite {
		return FormatTime(t)
	}
	return Micros(t)
}

// NullTime is Time, but the zero time stores NULL.
func (d Dialect) NullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return d.Time(t)
}

// Query builds a SELECT whose conditions depend on a filter. Conditions
// are written in the Postgres form, with the placeholders [Query.Arg]
// returns.
type Query struct {
	d     Dialect
	where []string
	// Args are the arguments, in placeholder order.
	Args []any
}

// NewQuery returns an empty query in dialect d.
func NewQuery(d Dialect) *Query { return &Query{d: d} }

// Arg adds v to the arguments and returns its placeholder.
func (q *Query) Arg(v any) string {
	q.Args = append(q.Args, v)
	return "$" + strconv.Itoa(len(q.Args))
}

// Where adds a condition; the conditions are joined with AND.
func (q *Query) Where(cond string) { q.where = append(q.where, cond) }

// In adds to q the condition that col is one of vals (Postgres: one array
// argument; SQLite: an argument each).
func In[V any](q *Query, col string, vals []V) {
	if q.d == Postgres {
		q.Where(col + ` = ANY(` + q.Arg(vals) + `)`)
		return
	}
	ps := make([]string, len(vals))
	for i, v := range vals {
		ps[i] = q.Arg(v)
	}
	q.Where(col + ` IN (` + strings.Join(ps, `, `) + `)`)
}

// Cond returns the conditions joined with AND.
func (q *Query) Cond() string { return strings.Join(q.where, ` AND `) }

// Select returns sel with the conditions, ordered by order, and limited by
// the argument limit (store.PageSize's, or Dialect.Limit's).
func (q *Query) Select(sel, order string, limit any) Stmt {
	if len(q.where) > 0 {
		sel += ` WHERE ` + q.Cond()
	}
	return NewStmt(sel + ` ORDER BY ` + order + ` LIMIT ` + q.Arg(limit))
}
