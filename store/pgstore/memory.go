package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/aragora/aragora/memory"
	"github.com/aragora/aragora/store/internal/memsql"
)

var _ memory.Store = (*Store)(nil)

const memoryColumns = memsql.Columns

// PutMemory implements [memory.Store].
func (s *Store) PutMemory(ctx context.Context, e *memory.Entry, ts []memory.Transition) error {
	if err := e.Validate(); err != nil {
		return fmt.Errorf("pgstore: put memory: %w", err)
	}
	tags := e.Tags
	if tags == nil {
		tags = []string{}
	}
	tj, err := json.Marshal(tags)
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO memory_entries (`+memoryColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`+memsql.Upsert,
			e.ID, string(e.Tier), string(e.Kind), e.Content, e.Domain, string(tj), e.Importance, e.Surprise, e.Consolidation,
			e.Updates, e.Successes, e.Failures, e.Source, e.CreatedAt.UTC(), e.UpdatedAt.UTC(), nullTime(e.TierChangedAt),
			nullTime(e.ExpiresAt), e.RedLine)
		if err != nil {
			return err
		}
		return insertTransitions(ctx, tx, ts)
	})
	if err != nil {
		return fmt.Errorf("pgstore: put memory %q: %w", e.ID, err)
	}
	return nil
}

func insertTransitions(ctx context.Context, tx pgx.Tx, ts []memory.Transition) error {
	for _, t := range ts {
		if _, err := tx.Exec(ctx, `INSERT INTO memory_transitions (entry_id, from_tier, to_tier, reason, surprise, at)
			VALUES ($1, $2, $3, $4, $5, $6)`, t.EntryID, string(t.From), string(t.To), t.Reason, t.Surprise, t.At.UTC()); err != nil {
			return err
		}
	}
	return nil
}

// GetMemory implements [memory.Store].
func (s *Store) GetMemory(ctx context.Context, id string) (*memory.Entry, error) {
	es, err := s.queryMemories(ctx, `SELECT `+memoryColumns+` FROM memory_entries WHERE id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("pgstore: get memory %q: %w", id, err)
	}
	if len(es) == 0 {
		return nil, fmt.Errorf("pgstore: memory %q: %w", id, memory.ErrNotFound)
	}
	return es[0], nil
}

// DeleteMemory implements [memory.Store].
func (s *Store) DeleteMemory(ctx context.Context, t memory.Transition) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM memory_entries WHERE id = $1`, t.EntryID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return memory.ErrNotFound
		}
		return insertTransitions(ctx, tx, []memory.Transition{t})
	})
	if err != nil {
		return fmt.Errorf("pgstore: delete memory %q: %w", t.EntryID, err)
	}
	return nil
}

// ListMemories implements [memory.Store].
func (s *Store) ListMemories(ctx context.Context, f memory.Filter) ([]*memory.Entry, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, cond+" = $"+strconv.Itoa(len(args)))
	}
	if f.Tier != "" {
		add("tier", string(f.Tier))
	}
	if f.Kind != "" {
		add("kind", string(f.Kind))
	}
	if f.Domain != nil {
		add("domain", *f.Domain)
	}
	q := `SELECT ` + memoryColumns + ` FROM memory_entries`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY updated_at DESC, id"
	if f.Limit > 0 {
		args = append(args, f.Limit)
		q += " LIMIT $" + strconv.Itoa(len(args))
	}
	es, err := s.queryMemories(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list memories: %w", err)
	}
	return es, nil
}

func (s *Store) queryMemories(ctx context.Context, q string, args ...any) ([]*memory.Entry, error) {
	var out []*memory.Entry
	err := s.retry(ctx, func() error {
		out = nil
		rows, err := s.pool.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e, err := memsql.ScanEntry(rows)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}

// MemoryStats implements [memory.Store].
func (s *Store) MemoryStats(ctx context.Context) (memory.Stats, error) {
	var st memory.Stats
	err := s.retry(ctx, func() error {
		st = memory.Stats{}
		counts := map[memory.Tier]memory.TierStats{}
		rows, err := s.pool.Query(ctx, `SELECT tier, COUNT(*), COALESCE(SUM(octet_length(content)), 0) FROM memory_entries GROUP BY tier`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var ts memory.TierStats
			var tier string
			if err := rows.Scan(&tier, &ts.Count, &ts.Bytes); err != nil {
				rows.Close()
				return err
			}
			ts.Tier = memory.Tier(tier)
			counts[ts.Tier] = ts
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, t := range memory.Tiers {
			ts := counts[t]
			ts.Tier = t
			st.Tiers = append(st.Tiers, ts)
		}
		rows, err = s.pool.Query(ctx, memsql.TransitionCounts+` ORDER BY from_tier COLLATE "C", to_tier COLLATE "C"`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var tc memory.TransitionCount
			var from, to string
			if err := rows.Scan(&from, &to, &tc.Count); err != nil {
				return err
			}
			tc.From, tc.To = memory.Tier(from), memory.Tier(to)
			st.Transitions = append(st.Transitions, tc)
		}
		return rows.Err()
	})
	if err != nil {
		return st, fmt.Errorf("pgstore: memory stats: %w", err)
	}
	return st, nil
}
