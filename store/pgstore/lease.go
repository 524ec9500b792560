package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/internal/sqlrec"
)

// missingOrConflict explains a conditional update that matched no row:
// ErrNotFound for a missing debate, else conflict (ErrConflict or
// ErrLeaseLost) with why.
func (s *Store) missingOrConflict(ctx context.Context, op, id, why string, conflict error) error {
	var one int
	err := s.retry(ctx, func() error {
		return s.pool.QueryRow(ctx, `SELECT 1 FROM debates WHERE id = $1`, id).Scan(&one)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("pgstore: %s: debate %q: %w", op, id, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("pgstore: %s %q: %w", op, id, err)
	}
	return fmt.Errorf("pgstore: %s %q: %s: %w", op, id, why, conflict)
}

// ClaimDebate implements [store.Leaser] with one conditional update.
func (s *Store) ClaimDebate(ctx context.Context, id, owner string, now time.Time, ttl time.Duration) (*store.Debate, error) {
	now = now.UTC()
	d, err := queryOne(ctx, s, sqlrec.ScanDebate, `UPDATE debates SET lease_owner = $2, lease_expires_at = $3, updated_at = $4,
		lease_generation = lease_generation + 1
		WHERE id = $1 AND status NOT IN (`+sqlrec.TerminalList+`)
		AND (lease_owner IS NULL OR lease_owner = $2 OR lease_expires_at IS NULL OR lease_expires_at <= $4)
		RETURNING `+debateColumns, id, owner, now.Add(ttl), now)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, s.missingOrConflict(ctx, "claim", id, "terminal or leased by another owner", store.ErrConflict)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: claim %q: %w", id, err)
	}
	return d, nil
}

// Heartbeat implements [store.Leaser].
func (s *Store) Heartbeat(ctx context.Context, id string, l store.Lease, now time.Time, ttl time.Duration) error {
	now = now.UTC()
	var n int64
	err := s.retry(ctx, func() error {
		tag, err := s.pool.Exec(ctx, sqlrec.Heartbeat.Postgres, id, l.Owner, l.Generation, now, now.Add(ttl))
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("pgstore: heartbeat %q: %w", id, err)
	}
	if n == 0 {
		return s.missingOrConflict(ctx, "heartbeat", id, fmt.Sprintf("lease of %q generation %d", l.Owner, l.Generation), store.ErrLeaseLost)
	}
	return nil
}

// lockLease locks debate id's row in tx and returns ErrLeaseLost unless l
// is its lease and it is not terminal (ErrNotFound for a missing debate).
func lockLease(ctx context.Context, tx pgx.Tx, id string, l store.Lease) error {
	var (
		status store.Status
		owner  *string
		gen    int64
	)
	err := tx.QueryRow(ctx, `SELECT status, lease_owner, lease_generation FROM debates WHERE id = $1 FOR UPDATE`, id).Scan(&status, &owner, &gen)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("debate %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return err
	}
	if store.Terminal(status) || owner == nil || *owner != l.Owner || gen != l.Generation {
		return fmt.Errorf("debate %q: lease of %q generation %d: %w", id, l.Owner, l.Generation, store.ErrLeaseLost)
	}
	return nil
}

// lockStatus locks debate id's row in tx and returns its status.
func lockStatus(ctx context.Context, tx pgx.Tx, id string) (store.Status, error) {
	var cur store.Status
	err := tx.QueryRow(ctx, `SELECT status FROM debates WHERE id = $1 FOR UPDATE`, id).Scan(&cur)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("debate %q: %w", id, store.ErrNotFound)
	}
	return cur, err
}

// ReleaseDebate implements [store.Leaser].
func (s *Store) ReleaseDebate(ctx context.Context, id string, l store.Lease, status store.Status, now time.Time) error {
	now = now.UTC()
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockLease(ctx, tx, id, l); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sqlrec.DropLease.Postgres, id, now); err != nil {
			return err
		}
		if status == "" {
			return nil
		}
		return sqlrec.SetStatus(ctx, pgConn{tx}, id, status, now)
	})
	if err != nil {
		return fmt.Errorf("pgstore: release %q: %w", id, err)
	}
	return nil
}

// UpdateStatus implements [store.Leaser].
func (s *Store) UpdateStatus(ctx context.Context, id string, from []store.Status, to store.Status, now time.Time) error {
	now = now.UTC()
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		cur, err := lockStatus(ctx, tx, id)
		if err != nil {
			return err
		}
		if len(from) > 0 && !slices.Contains(from, cur) {
			return fmt.Errorf("debate %q: status %s not in %v: %w", id, cur, from, store.ErrConflict)
		}
		return sqlrec.SetStatus(ctx, pgConn{tx}, id, to, now)
	})
	if err != nil {
		return fmt.Errorf("pgstore: update status: %w", err)
	}
	return nil
}

// FinishDebate implements [store.Leaser].
func (s *Store) FinishDebate(ctx context.Context, id string, f *store.Finish, now time.Time) error {
	if f == nil || !store.Terminal(f.Status) {
		return fmt.Errorf("pgstore: finish %q: want a terminal status", id)
	}
	now = now.UTC()
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if f.Lease != nil {
			if err := lockLease(ctx, tx, id, *f.Lease); err != nil {
				return err
			}
		} else {
			cur, err := lockStatus(ctx, tx, id)
			if err != nil {
				return err
			}
			if (len(f.From) > 0 && !slices.Contains(f.From, cur)) || (len(f.From) == 0 && store.Terminal(cur)) {
				return fmt.Errorf("debate %q: status %s: %w", id, cur, store.ErrConflict)
			}
		}
		if f.End != nil {
			if _, err := appendEnd(ctx, tx, id, f.End, false); err != nil {
				return err
			}
		}
		if err := sqlrec.SetStatus(ctx, pgConn{tx}, id, f.Status, now); err != nil {
			return err
		}
		return sqlrec.WriteFinal(ctx, s.shared, pgConn{tx}, id, &f.Final, now)
	})
	if err != nil {
		return fmt.Errorf("pgstore: finish: %w", err)
	}
	return nil
}

// AppendDebateEnd implements [store.Leaser].
func (s *Store) AppendDebateEnd(ctx context.Context, id string, build func(seq int64) (json.RawMessage, error)) (store.Event, error) {
	var e store.Event
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// Lock the record so concurrent sweepers serialise.
		if _, err := lockStatus(ctx, tx, id); err != nil {
			return err
		}
		var err error
		e, err = appendEnd(ctx, tx, id, build, true)
		return err
	})
	if isUnique(err) {
		return store.Event{}, fmt.Errorf("pgstore: append debate end %q: %w", id, store.ErrConflict)
	}
	if err != nil {
		return store.Event{}, fmt.Errorf("pgstore: append debate end: %w", err)
	}
	return e, nil
}

// appendEnd appends the debate_end event build makes for the next seq and
// sets the record's LastSeq, inside tx (the record's row locked). When the
// log already has one it returns ErrConflict if strict, else does nothing.
func appendEnd(ctx context.Context, tx pgx.Tx, id string, build func(seq int64) (json.RawMessage, error), strict bool) (store.Event, error) {
	var last, ends int64
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0), COUNT(*) FILTER (WHERE type = 'debate_end') FROM debate_events WHERE debate_id = $1`,
		id).Scan(&last, &ends); err != nil {
		return store.Event{}, err
	}
	if ends > 0 {
		if strict {
			return store.Event{}, fmt.Errorf("debate %q: second %s: %w", id, store.EventDebateEnd, store.ErrConflict)
		}
		return store.Event{}, nil
	}
	js, err := build(last + 1)
	if err != nil {
		return store.Event{}, fmt.Errorf("build %s of %q: %w", store.EventDebateEnd, id, err)
	}
	e := store.Event{DebateID: id, Seq: last + 1, Type: store.EventDebateEnd, JSON: js}
	if _, err := tx.Exec(ctx, `INSERT INTO debate_events (debate_id, seq, type, data) VALUES ($1, $2, $3, $4)`, id, e.Seq, e.Type, []byte(js)); err != nil {
		return store.Event{}, err
	}
	_, err = tx.Exec(ctx, `UPDATE debates SET last_seq = $2 WHERE id = $1`, id, e.Seq)
	return e, err
}
