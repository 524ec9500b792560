package memsql

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aragora/aragora/memory"
	"github.com/aragora/aragora/store/internal/sqlrec"
)

var (
	upsertEntry = sqlrec.NewStmt(`INSERT INTO memory_entries (` + Columns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)` + Upsert)
	insertTransition = sqlrec.NewStmt(`INSERT INTO memory_transitions (entry_id, from_tier, to_tier, reason, surprise, at)
		VALUES ($1, $2, $3, $4, $5, $6)`)
	entryByID   = sqlrec.NewStmt(`SELECT ` + Columns + ` FROM memory_entries WHERE id = $1`)
	deleteEntry = sqlrec.NewStmt(`DELETE FROM memory_entries WHERE id = $1`)
	// tierCounts counts each tier's entries and the bytes of their content.
	tierCounts = sqlrec.Stmt{
		Postgres: `SELECT tier, COUNT(*), COALESCE(SUM(octet_length(content)), 0) FROM memory_entries GROUP BY tier`,
		SQLite:   `SELECT tier, COUNT(*), COALESCE(SUM(LENGTH(CAST(content AS BLOB))), 0) FROM memory_entries GROUP BY tier`,
	}
	transitionCounts = sqlrec.Stmt{
		Postgres: TransitionCounts + ` ORDER BY from_tier COLLATE "C", to_tier COLLATE "C"`,
		SQLite:   TransitionCounts + ` ORDER BY from_tier, to_tier`,
	}
)

// Store implements [memory.Store] for both backends, on the backend's
// database of the continuum memory; each backend embeds it.
type Store struct{ db sqlrec.DB }

// NewStore returns the memory operations on db.
func NewStore(db sqlrec.DB) Store { return Store{db: db} }

func (s Store) errorf(format string, args ...any) error {
	return fmt.Errorf(s.db.Name()+": "+format, args...)
}

// PutMemory implements [memory.Store].
func (s Store) PutMemory(ctx context.Context, e *memory.Entry, ts []memory.Transition) error {
	if err := e.Validate(); err != nil {
		return s.errorf("put memory: %w", err)
	}
	tags := e.Tags
	if tags == nil {
		tags = []string{}
	}
	tj, err := json.Marshal(tags)
	if err != nil {
		return err
	}
	err = s.db.RewriteTx(ctx, func(c sqlrec.Conn) error {
		err := c.Exec(ctx, upsertEntry,
			e.ID, string(e.Tier), string(e.Kind), e.Content, e.Domain, string(tj), e.Importance, e.Surprise, e.Consolidation,
			e.Updates, e.Successes, e.Failures, e.Source, c.Time(e.CreatedAt), c.Time(e.UpdatedAt), c.NullTime(e.TierChangedAt),
			c.NullTime(e.ExpiresAt), e.RedLine)
		if err != nil {
			return err
		}
		return insertTransitions(ctx, c, ts)
	})
	if err != nil {
		return s.errorf("put memory %q: %w", e.ID, err)
	}
	return nil
}

func insertTransitions(ctx context.Context, c sqlrec.Conn, ts []memory.Transition) error {
	for _, t := range ts {
		if err := c.Exec(ctx, insertTransition, t.EntryID, string(t.From), string(t.To), t.Reason, t.Surprise, c.Time(t.At)); err != nil {
			return err
		}
	}
	return nil
}

// GetMemory implements [memory.Store].
func (s Store) GetMemory(ctx context.Context, id string) (*memory.Entry, error) {
	es, err := sqlrec.All(ctx, s.db, fmt.Sprintf("get memory %q", id), ScanEntry, entryByID, id)
	if err != nil {
		return nil, err
	}
	if len(es) == 0 {
		return nil, s.errorf("memory %q: %w", id, memory.ErrNotFound)
	}
	return es[0], nil
}

// DeleteMemory implements [memory.Store].
func (s Store) DeleteMemory(ctx context.Context, t memory.Transition) error {
	err := s.db.RewriteTx(ctx, func(c sqlrec.Conn) error {
		n, err := c.Changed(ctx, deleteEntry, t.EntryID)
		if err != nil {
			return err
		}
		if n == 0 {
			return memory.ErrNotFound
		}
		return insertTransitions(ctx, c, []memory.Transition{t})
	})
	if err != nil {
		return s.errorf("delete memory %q: %w", t.EntryID, err)
	}
	return nil
}

// ListMemories implements [memory.Store]: newest update first, all of them
// when f.Limit is not positive.
func (s Store) ListMemories(ctx context.Context, f memory.Filter) ([]*memory.Entry, error) {
	q := sqlrec.NewQuery(s.db.Dialect())
	if f.Tier != "" {
		q.Where(`tier = ` + q.Arg(string(f.Tier)))
	}
	if f.Kind != "" {
		q.Where(`kind = ` + q.Arg(string(f.Kind)))
	}
	if f.Domain != nil {
		q.Where(`domain = ` + q.Arg(*f.Domain))
	}
	stmt := q.Select(`SELECT `+Columns+` FROM memory_entries`, `updated_at DESC, id`, s.db.Dialect().Limit(f.Limit))
	return sqlrec.All(ctx, s.db, "list memories", ScanEntry, stmt, q.Args...)
}

// MemoryStats implements [memory.Store].
func (s Store) MemoryStats(ctx context.Context) (memory.Stats, error) {
	var st memory.Stats
	err := s.db.Read(ctx, func(c sqlrec.Conn) error {
		st = memory.Stats{}
		tiers, err := sqlrec.Fetch(ctx, c, func(row sqlrec.Row) (ts memory.TierStats, err error) {
			err = row.Scan(&ts.Tier, &ts.Count, &ts.Bytes)
			return ts, err
		}, tierCounts)
		if err != nil {
			return err
		}
		counts := map[memory.Tier]memory.TierStats{}
		for _, ts := range tiers {
			counts[ts.Tier] = ts
		}
		for _, t := range memory.Tiers {
			ts := counts[t]
			ts.Tier = t
			st.Tiers = append(st.Tiers, ts)
		}
		trs, err := sqlrec.Fetch(ctx, c, func(row sqlrec.Row) (tc memory.TransitionCount, err error) {
			err = row.Scan(&tc.From, &tc.To, &tc.Count)
			return tc, err
		}, transitionCounts)
		if len(trs) > 0 {
			st.Transitions = trs
		}
		return err
	})
	if err != nil {
		return st, s.errorf("memory stats: %w", err)
	}
	return st, nil
}
