package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aragora/aragora/memory"
	"github.com/aragora/aragora/store/internal/memsql"
)

var _ memory.Store = (*Store)(nil)

const memoryColumns = memsql.Columns

// PutMemory implements [memory.Store] in the continuum database.
func (s *Store) PutMemory(ctx context.Context, e *memory.Entry, ts []memory.Transition) error {
	if err := e.Validate(); err != nil {
		return fmt.Errorf("sqlitestore: put memory: %w", err)
	}
	tags, err := json.Marshal(nonNilTags(e.Tags))
	if err != nil {
		return err
	}
	err = tx(ctx, s.cw, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO memory_entries (`+memoryColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`+memsql.Upsert,
			e.ID, string(e.Tier), string(e.Kind), e.Content, e.Domain, string(tags), e.Importance, e.Surprise, e.Consolidation,
			e.Updates, e.Successes, e.Failures, e.Source, fmtTime(e.CreatedAt), fmtTime(e.UpdatedAt), nullTime(e.TierChangedAt),
			nullTime(e.ExpiresAt), e.RedLine)
		if err != nil {
			return err
		}
		return insertTransitions(ctx, tx, ts)
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: put memory %q: %w", e.ID, err)
	}
	return nil
}

func nonNilTags(t []string) []string {
	if t == nil {
		return []string{}
	}
	return t
}

func insertTransitions(ctx context.Context, tx *sql.Tx, ts []memory.Transition) error {
	for _, t := range ts {
		if _, err := tx.ExecContext(ctx, `INSERT INTO memory_transitions (entry_id, from_tier, to_tier, reason, surprise, at)
			VALUES (?, ?, ?, ?, ?, ?)`, t.EntryID, string(t.From), string(t.To), t.Reason, t.Surprise, fmtTime(t.At)); err != nil {
			return err
		}
	}
	return nil
}

// GetMemory implements [memory.Store].
func (s *Store) GetMemory(ctx context.Context, id string) (*memory.Entry, error) {
	rows, err := s.cr.QueryContext(ctx, `SELECT `+memoryColumns+` FROM memory_entries WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: get memory %q: %w", id, err)
	}
	es, err := scanMemories(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: get memory %q: %w", id, err)
	}
	if len(es) == 0 {
		return nil, fmt.Errorf("sqlitestore: memory %q: %w", id, memory.ErrNotFound)
	}
	return es[0], nil
}

// DeleteMemory implements [memory.Store].
func (s *Store) DeleteMemory(ctx context.Context, t memory.Transition) error {
	err := tx(ctx, s.cw, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM memory_entries WHERE id = ?`, t.EntryID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return cmpErr(err, memory.ErrNotFound)
		}
		return insertTransitions(ctx, tx, []memory.Transition{t})
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: delete memory %q: %w", t.EntryID, err)
	}
	return nil
}

// cmpErr returns err, or fallback when err is nil.
func cmpErr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}

// ListMemories implements [memory.Store].
func (s *Store) ListMemories(ctx context.Context, f memory.Filter) ([]*memory.Entry, error) {
	var where []string
	var args []any
	if f.Tier != "" {
		where, args = append(where, "tier = ?"), append(args, string(f.Tier))
	}
	if f.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, string(f.Kind))
	}
	if f.Domain != nil {
		where, args = append(where, "domain = ?"), append(args, *f.Domain)
	}
	q := `SELECT ` + memoryColumns + ` FROM memory_entries`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY updated_at DESC, id"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	rows, err := s.cr.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list memories: %w", err)
	}
	es, err := scanMemories(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list memories: %w", err)
	}
	return es, nil
}

func scanMemories(rows *sql.Rows) ([]*memory.Entry, error) {
	defer rows.Close()
	var out []*memory.Entry
	for rows.Next() {
		e, err := memsql.ScanEntry(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// MemoryStats implements [memory.Store].
func (s *Store) MemoryStats(ctx context.Context) (memory.Stats, error) {
	var st memory.Stats
	counts := map[memory.Tier]memory.TierStats{}
	rows, err := s.cr.QueryContext(ctx, `SELECT tier, COUNT(*), COALESCE(SUM(LENGTH(CAST(content AS BLOB))), 0) FROM memory_entries GROUP BY tier`)
	if err != nil {
		return st, fmt.Errorf("sqlitestore: memory stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ts memory.TierStats
		var tier string
		if err := rows.Scan(&tier, &ts.Count, &ts.Bytes); err != nil {
			return st, fmt.Errorf("sqlitestore: memory stats: %w", err)
		}
		ts.Tier = memory.Tier(tier)
		counts[ts.Tier] = ts
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("sqlitestore: memory stats: %w", err)
	}
	for _, t := range memory.Tiers {
		ts := counts[t]
		ts.Tier = t
		st.Tiers = append(st.Tiers, ts)
	}
	trows, err := s.cr.QueryContext(ctx, memsql.TransitionCounts+` ORDER BY from_tier, to_tier`)
	if err != nil {
		return st, fmt.Errorf("sqlitestore: memory stats: %w", err)
	}
	defer trows.Close()
	for trows.Next() {
		var tc memory.TransitionCount
		var from, to string
		if err := trows.Scan(&from, &to, &tc.Count); err != nil {
			return st, fmt.Errorf("sqlitestore: memory stats: %w", err)
		}
		tc.From, tc.To = memory.Tier(from), memory.Tier(to)
		st.Transitions = append(st.Transitions, tc)
	}
	if err := trows.Err(); err != nil {
		return st, fmt.Errorf("sqlitestore: memory stats: %w", err)
	}
	return st, nil
}
