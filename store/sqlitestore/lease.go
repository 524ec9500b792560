package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aragora/aragora/store"
	"github.com/aragora/aragora/store/internal/sqlrec"
)

// leaseRow reads the fields the lease methods decide on, inside tx.
func leaseRow(ctx context.Context, tx *sql.Tx, id string) (status store.Status, owner sql.NullString, expires sql.NullString, gen int64, err error) {
	err = tx.QueryRowContext(ctx, `SELECT status, lease_owner, lease_expires_at, lease_generation FROM debates WHERE id = ?`, id).
		Scan(&status, &owner, &expires, &gen)
	if errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("debate %q: %w", id, store.ErrNotFound)
	}
	return status, owner, expires, gen, err
}

// checkLease returns ErrLeaseLost unless l is debate id's lease and the
// debate is not terminal (ErrNotFound for a missing debate), inside tx.
func checkLease(ctx context.Context, tx *sql.Tx, id string, l store.Lease) error {
	status, owner, _, gen, err := leaseRow(ctx, tx, id)
	if err != nil {
		return err
	}
	if store.Terminal(status) || !owner.Valid || owner.String != l.Owner || gen != l.Generation {
		return fmt.Errorf("debate %q: lease of %q generation %d: %w", id, l.Owner, l.Generation, store.ErrLeaseLost)
	}
	return nil
}

// ClaimDebate implements [store.Leaser].
func (s *Store) ClaimDebate(ctx context.Context, id, owner string, now time.Time, ttl time.Duration) (*store.Debate, error) {
	var d *store.Debate
	err := tx(ctx, s.w, func(tx *sql.Tx) error {
		status, lo, le, _, err := leaseRow(ctx, tx, id)
		if err != nil {
			return err
		}
		if store.Terminal(status) {
			return fmt.Errorf("debate %q: status %s: %w", id, status, store.ErrConflict)
		}
		if lo.Valid && lo.String != owner && le.Valid && le.String > fmtTime(now) {
			return fmt.Errorf("debate %q: leased by %q: %w", id, lo.String, store.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE debates SET lease_owner = ?, lease_expires_at = ?, updated_at = ?,
			lease_generation = lease_generation + 1 WHERE id = ?`,
			owner, fmtTime(now.Add(ttl)), fmtTime(now), id); err != nil {
			return err
		}
		d, err = sqlrec.ScanDebate(tx.QueryRowContext(ctx, `SELECT `+debateColumns+` FROM debates WHERE id = ?`, id))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: claim: %w", err)
	}
	return d, nil
}

// Heartbeat implements [store.Leaser].
func (s *Store) Heartbeat(ctx context.Context, id string, l store.Lease, now time.Time, ttl time.Duration) error {
	res, err := s.w.ExecContext(ctx, sqlrec.Heartbeat.SQLite, id, l.Owner, l.Generation, fmtTime(now), fmtTime(now.Add(ttl)))
	if err != nil {
		return fmt.Errorf("sqlitestore: heartbeat %q: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var one int
		err := s.w.QueryRowContext(ctx, `SELECT 1 FROM debates WHERE id = ?`, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlitestore: heartbeat: debate %q: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqlitestore: heartbeat %q: %w", id, err)
		}
		return fmt.Errorf("sqlitestore: heartbeat %q by %q generation %d: %w", id, l.Owner, l.Generation, store.ErrLeaseLost)
	}
	return nil
}

// ReleaseDebate implements [store.Leaser].
func (s *Store) ReleaseDebate(ctx context.Context, id string, l store.Lease, status store.Status, now time.Time) error {
	err := tx(ctx, s.w, func(tx *sql.Tx) error {
		if err := checkLease(ctx, tx, id, l); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, sqlrec.DropLease.SQLite, id, fmtTime(now)); err != nil {
			return err
		}
		if status != "" {
			return sqlrec.SetStatus(ctx, sqliteConn{tx}, id, status, now)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: release: %w", err)
	}
	return nil
}

// UpdateStatus implements [store.Leaser].
func (s *Store) UpdateStatus(ctx context.Context, id string, from []store.Status, to store.Status, now time.Time) error {
	err := tx(ctx, s.w, func(tx *sql.Tx) error {
		cur, _, _, _, err := leaseRow(ctx, tx, id)
		if err != nil {
			return err
		}
		if len(from) > 0 && !slices.Contains(from, cur) {
			return fmt.Errorf("debate %q: status %s not in %v: %w", id, cur, from, store.ErrConflict)
		}
		return sqlrec.SetStatus(ctx, sqliteConn{tx}, id, to, now)
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: update status: %w", err)
	}
	return nil
}

// FinishDebate implements [store.Leaser].
func (s *Store) FinishDebate(ctx context.Context, id string, f *store.Finish, now time.Time) error {
	if f == nil || !store.Terminal(f.Status) {
		return fmt.Errorf("sqlitestore: finish %q: want a terminal status", id)
	}
	err := tx(ctx, s.w, func(tx *sql.Tx) error {
		if f.Lease != nil {
			if err := checkLease(ctx, tx, id, *f.Lease); err != nil {
				return err
			}
		} else {
			cur, _, _, _, err := leaseRow(ctx, tx, id)
			if err != nil {
				return err
			}
			if (len(f.From) > 0 && !slices.Contains(f.From, cur)) || (len(f.From) == 0 && store.Terminal(cur)) {
				return fmt.Errorf("debate %q: status %s: %w", id, cur, store.ErrConflict)
			}
		}
		if f.End != nil {
			if err := appendEnd(ctx, tx, id, f.End, false); err != nil {
				return err
			}
		}
		if err := sqlrec.SetStatus(ctx, sqliteConn{tx}, id, f.Status, now); err != nil {
			return err
		}
		return sqlrec.WriteFinal(ctx, s.shared, sqliteConn{tx}, id, &f.Final, now)
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: finish: %w", err)
	}
	return nil
}

// AppendDebateEnd implements [store.Leaser].
func (s *Store) AppendDebateEnd(ctx context.Context, id string, build func(seq int64) (json.RawMessage, error)) (store.Event, error) {
	var e store.Event
	err := tx(ctx, s.w, func(tx *sql.Tx) error {
		if _, _, _, _, err := leaseRow(ctx, tx, id); err != nil {
			return err
		}
		return appendEnd(ctx, tx, id, func(seq int64) (json.RawMessage, error) {
			js, err := build(seq)
			e = store.Event{DebateID: id, Seq: seq, Type: store.EventDebateEnd, JSON: js}
			return js, err
		}, true)
	})
	if err != nil {
		return store.Event{}, fmt.Errorf("sqlitestore: append debate end: %w", err)
	}
	return e, nil
}

// appendEnd appends the debate_end event build makes for the next seq and
// sets the record's LastSeq, inside tx. When the log already has one it
// returns ErrConflict if strict, else does nothing.
func appendEnd(ctx context.Context, tx *sql.Tx, id string, build func(seq int64) (json.RawMessage, error), strict bool) error {
	var last int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM debate_events WHERE debate_id = ?`, id).Scan(&last); err != nil {
		return err
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM debate_events WHERE debate_id = ? AND type = 'debate_end'`, id).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		if strict {
			return fmt.Errorf("debate %q: second %s: %w", id, store.EventDebateEnd, store.ErrConflict)
		}
		return nil
	}
	js, err := build(last + 1)
	if err != nil {
		return fmt.Errorf("build %s of %q: %w", store.EventDebateEnd, id, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO debate_events (debate_id, seq, type, data) VALUES (?, ?, ?, ?)`,
		id, last+1, store.EventDebateEnd, []byte(js)); err != nil {
		if isConstraint(err) {
			return fmt.Errorf("debate %q: %w", id, store.ErrConflict)
		}
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE debates SET last_seq = ? WHERE id = ?`, last+1, id)
	return err
}
